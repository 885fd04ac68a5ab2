/**
 * JSON may carry lone UTF-16 surrogates ("\ud800") that no UTF-8 encoding can hold: stored, they
 * would come back as U+FFFD. Such input is refused rather than silently altered.
 */
export const hasIllFormedString = (value: unknown, depth = 0): boolean => {
  if (typeof value === 'string') return !value.isWellFormed();
  if (depth > 32 || typeof value !== 'object' || value === null) return false;
  for (const item of Array.isArray(value) ? value : Object.values(value)) {
    if (hasIllFormedString(item, depth + 1)) return true;
  }
  return false;
};

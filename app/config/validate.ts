import { isIP } from 'node:net';

/**
 * A setting that cannot be used. Its message names the variable and what it takes, in one line,
 * and the commands print it as `natter <command>: <message>` with no stack trace: a typo in a
 * setting is the operator's to fix, not a bug.
 */
export class ConfigError extends Error {}

export type Env = NodeJS.ProcessEnv;

/** Names that still work for one release (each warns once per process); the new name wins when both are set. */
export const deprecatedNames: Readonly<Record<string, string>> = {
  NATTER_PORT: 'PORT',
  NATTER_HOST: 'HOST',
  NATTER_EVENTSTORE_URL: 'EVENTSTORE_URL',
};

const warned = new Set<string>();

const warnDeprecated = (old: string, current: string) => {
  if (warned.has(old)) return;
  warned.add(old);
  process.stderr.write(`natter: ${old} is deprecated; use ${current}\n`);
};

/** The raw value and the name it came from (an old name when only that one is set); blank counts as unset. */
const lookup = (env: Env, name: string): { value: string; from: string } | undefined => {
  const value = env[name];
  if (value !== undefined && value.trim() !== '') return { value, from: name };
  const old = deprecatedNames[name];
  const oldValue = old === undefined ? undefined : env[old];
  if (old === undefined || oldValue === undefined || oldValue.trim() === '') return undefined;
  warnDeprecated(old, name);
  return { value: oldValue, from: old };
};

/** A copy of `env` with old names moved to the new ones (warning once), for processes started with it. */
export const renameDeprecated = (env: Env): Env => {
  const renamed: Env = { ...env };
  for (const [current, old] of Object.entries(deprecatedNames)) {
    const found = lookup(env, current);
    if (found) renamed[current] = found.value;
    delete renamed[old];
  }
  return renamed;
};

const invalid = (name: string, wants: string, value: string) => new ConfigError(`${name} must be ${wants}, got ${JSON.stringify(value)}`);

export const text = (env: Env, name: string, fallback: string): string => lookup(env, name)?.value ?? fallback;

export const optionalText = (env: Env, name: string): string | undefined => lookup(env, name)?.value;

/** An integer in [min, max]; undefined when not set, for settings whose default depends on others. */
export const optionalInt = (env: Env, name: string, { min = 0, max = Number.MAX_SAFE_INTEGER } = {}): number | undefined => {
  const found = lookup(env, name);
  if (!found) return undefined;
  const n = Number(found.value.trim());
  if (!/^-?\d+$/.test(found.value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw invalid(found.from, max === Number.MAX_SAFE_INTEGER ? `an integer of at least ${min}` : `an integer from ${min} to ${max}`, found.value);
  }
  return n;
};

export const int = (env: Env, name: string, fallback: number, range: { min?: number; max?: number } = {}): number => optionalInt(env, name, range) ?? fallback;

/** true/false (also 1/0, yes/no, on/off); undefined when not set, for settings whose default depends on others. */
export const optionalBool = (env: Env, name: string): boolean | undefined => {
  const found = lookup(env, name);
  if (!found) return undefined;
  const value = found.value.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(value)) return true;
  if (['0', 'false', 'no', 'off'].includes(value)) return false;
  throw invalid(found.from, 'true or false', found.value);
};

export const bool = (env: Env, name: string, fallback: boolean): boolean => optionalBool(env, name) ?? fallback;

export const oneOf = <T extends string>(env: Env, name: string, choices: readonly T[], fallback: T): T => {
  const found = lookup(env, name);
  if (!found) return fallback;
  if (!(choices as readonly string[]).includes(found.value.trim())) throw invalid(found.from, `one of ${choices.join(', ')}`, found.value);
  return found.value.trim() as T;
};

/** Comma-separated; each item must match `item` (described by `wants`) when given. */
export const list = (env: Env, name: string, fallback: string[], item?: { pattern: RegExp; wants: string }): string[] => {
  const found = lookup(env, name);
  if (!found) return fallback;
  const items = found.value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = item ? items.find((i) => !item.pattern.test(i)) : undefined;
  if (bad !== undefined || items.length === 0) throw invalid(found.from, `a comma-separated list of ${item?.wants ?? 'values'}`, found.value);
  return items;
};

/** Hides the password of a URL in messages: settings end up in terminals and CI logs. */
export const masked = (url: string) => url.replace(/:[^:@/]*@/, ':***@');

/** A URL whose scheme is one of `protocols` (without '://'). */
export const url = (env: Env, name: string, fallback: string, protocols: readonly string[]): string => {
  const found = lookup(env, name);
  if (!found) return fallback;
  const value = found.value.trim();
  let parsed: URL | undefined;
  try {
    parsed = new URL(value);
  } catch {
    /* reported below */
  }
  if (!parsed || !protocols.includes(parsed.protocol.slice(0, -1))) {
    throw invalid(found.from, `a URL starting with ${protocols.map((p) => `${p}://`).join(' or ')}`, masked(value));
  }
  return value;
};

/** A value that must match `pattern` (a host, an identifier…), described by `wants` in the error. */
export const matching = (env: Env, name: string, fallback: string, pattern: RegExp, wants: string): string => {
  const found = lookup(env, name);
  if (!found) return fallback;
  if (!pattern.test(found.value.trim())) throw invalid(found.from, wants, found.value);
  return found.value.trim();
};

/** 127.0.0.0/8, ::1 (bracketed or not), ::ffff:127.x.y.z and localhost: addresses only this machine reaches. */
export const isLoopback = (host: string): boolean => {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (bare === 'localhost' || bare.endsWith('.localhost')) return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  if (isIP(bare) === 6) return bare === '::1' || /^(0+:){7}0*1$/.test(bare) || /^::ffff:127\./.test(bare);
  return false;
};

export type BackoffOptions = { baseMs: number; capMs: number };

/**
 * "Full jitter": a uniformly random delay up to the capped exponential. Devices that lost the same
 * server at the same moment spread their reconnects instead of arriving together.
 */
export const fullJitter = (attempt: number, { baseMs, capMs }: BackoffOptions, random: () => number = Math.random): number =>
  Math.floor(random() * Math.min(capMs, baseMs * 2 ** attempt));

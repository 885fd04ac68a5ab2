import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Polls `probe` until `settled` holds or the time is up, and returns the last value either way, so
 * the caller's assertion shows what was seen. Reads follow the log (in the cluster, through Kafka),
 * so a test that reads what it just wrote waits for the read models instead of assuming them.
 */
export const eventually = async <T>(
  probe: () => Promise<T>,
  settled: (value: T) => boolean,
  options: { timeoutMs?: number; everyMs?: number } = {},
): Promise<T> => {
  const deadline = Date.now() + (options.timeoutMs ?? 5_000);
  let value = await probe();
  while (!settled(value) && Date.now() < deadline) {
    await sleep(options.everyMs ?? 25);
    value = await probe();
  }
  return value;
};

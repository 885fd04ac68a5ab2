import type { Redis } from 'ioredis';
import { isWatermark, type Reactor } from '../../ports/projector.ts';
import { namespace } from './keys.ts';

/*
 * The cluster's "applied through" position. Partitions are applied independently, so no single
 * event position says that everything before it is in the read models. The relay ends each batch
 * with a `$watermark` record on every partition; a projector worker that has applied a partition up
 * to that record stores its position here. The low watermark, the minimum over all partitions, is a
 * position through which every read model is complete: sync reads up to it, cursors never pass it,
 * and REST read-your-writes waits for it.
 *   wm:partitions  HASH  partition → position (only ever raised)
 */
const RAISE = `
local current = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if tonumber(ARGV[2]) > current then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return 0`;

export const createRedisWatermarks = (options: { redis: Redis; prefix: string; partitions: number }) => {
  const { redis, partitions } = options;
  const key = `${namespace(options.prefix)}wm:partitions`;
  redis.defineCommand('natterWatermarkRaise', { numberOfKeys: 1, lua: RAISE });
  const raise = (redis as unknown as { natterWatermarkRaise(key: string, partition: number, position: number): Promise<number> }).natterWatermarkRaise.bind(
    redis,
  );

  const low = async (): Promise<number> => {
    const values = await redis.hmget(key, ...Array.from({ length: partitions }, (_, i) => String(i)));
    return Math.min(...values.map((v) => Number(v ?? 0)));
  };

  /** Runs after the projectors of a batch: the batch's watermarks are now true of the read models. */
  const reactor: Reactor = {
    name: 'watermarks',
    react: async (events) => {
      for (const event of events) {
        if (!isWatermark(event)) continue;
        const { through, partition } = event.data as unknown as { through: number; partition: number };
        await raise(key, partition, through);
      }
    },
  };

  /**
   * A cached low watermark refreshed every `intervalMs`, for the synchronous `appliedPosition()`
   * the gateway needs, and `caughtUp(position)` for read-your-writes after a REST change.
   */
  const follow = (intervalMs = 20) => {
    let current = 0;
    const waiters: Array<{ target: number; resolve(): void }> = [];
    const poll = async () => {
      current = Math.max(current, await low());
      for (let i = waiters.length - 1; i >= 0; i--) if (waiters[i]!.target <= current) waiters.splice(i, 1)[0]!.resolve();
    };
    // One poll at a time: while Redis is down a poll waits in ioredis' offline queue, and a new one
    // every 20 ms would pile up hundreds of reads to run at once when it is back.
    let polling = false;
    const timer = setInterval(() => {
      if (polling) return;
      polling = true;
      poll()
        .catch(() => {})
        .finally(() => {
          polling = false;
        });
    }, intervalMs);
    timer.unref();
    return {
      ready: poll(),
      position: () => current,
      caughtUp: (target: number, timeoutMs = 5_000) =>
        target <= current
          ? Promise.resolve()
          : new Promise<void>((resolve) => {
              const waiter = { target, resolve };
              waiters.push(waiter);
              // A stalled pipeline must not hang a request: answer anyway; the reader may see older data.
              setTimeout(() => {
                const i = waiters.indexOf(waiter);
                if (i >= 0) {
                  waiters.splice(i, 1);
                  resolve();
                }
              }, timeoutMs).unref();
            }),
      stop: () => clearInterval(timer),
    };
  };

  return { reactor, low, follow };
};

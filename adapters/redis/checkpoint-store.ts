import type { CheckpointStore } from '../../ports/read-models.ts';
import type { RedisStoreOptions } from './client.ts';
import { storeBase } from './keys.ts';

/** `<ns>ckpt:positions`: one HASH, projector name → log position (a decimal string). */
export const createRedisCheckpointStore = ({ redis, prefix }: RedisStoreOptions): CheckpointStore => {
  const key = `${storeBase(prefix, 'ckpt')}positions`;
  return {
    async get(projector) {
      const value = await redis.hget(key, projector);
      return value === null ? 0 : Number(value);
    },
    async set(projector, position) {
      await redis.hset(key, projector, String(position));
    },
  };
};

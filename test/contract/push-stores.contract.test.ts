import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { openDatabase } from '../../adapters/sqlite/database.ts';
import { createSqlitePushRegistry } from '../../adapters/sqlite/push-registry.ts';
import { createRedisPushRegistry } from '../../adapters/redis/push-registry.ts';
import { createMemoryPushWindows } from '../../adapters/memory/push-windows.ts';
import { createRedisPushWindows } from '../../adapters/redis/push-windows.ts';
import { deleteUnder } from '../../adapters/redis/client.ts';
import { requireEngines } from '../support/engines.ts';
import { pushRegistryContract } from './push-registry.contract.ts';
import { pushWindowsContract } from './push-windows.contract.ts';

const { NATTER_REDIS_URL } = await requireEngines('redis');

/** A fresh namespace on the shared Redis, deleted at the end; each handle has its own connection, as each process does. */
const redisNamespace = () => {
  const prefix = `t-${randomUUID()}`;
  const connections: Redis[] = [];
  const connect = () => {
    const redis = new Redis(NATTER_REDIS_URL);
    connections.push(redis);
    return redis;
  };
  return {
    prefix,
    connect,
    close: async () => {
      await deleteUnder(connections[0]!, `${prefix}:`);
      for (const r of connections) r.disconnect();
    },
  };
};

pushRegistryContract('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'natter-push-'));
  const db = openDatabase(join(dir, 'devices.db'), 'FULL');
  return {
    registry: createSqlitePushRegistry(db),
    close: async () => {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
pushRegistryContract('redis', async () => {
  const ns = redisNamespace();
  return { registry: createRedisPushRegistry({ redis: ns.connect(), prefix: ns.prefix }), close: ns.close };
});

pushWindowsContract('memory', async () => {
  const windows = createMemoryPushWindows();
  return { windows: [windows, windows], close: async () => {} };
});
pushWindowsContract('redis', async () => {
  const ns = redisNamespace();
  return {
    windows: [createRedisPushWindows({ redis: ns.connect(), prefix: ns.prefix }), createRedisPushWindows({ redis: ns.connect(), prefix: ns.prefix })],
    close: ns.close,
  };
});

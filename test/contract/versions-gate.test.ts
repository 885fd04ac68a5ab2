import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Recorded } from '../../ports/projector.ts';
import { requireEngines } from '../support/engines.ts';
import { createRedisReadModelVersions } from '../../adapters/redis/read-model-versions.ts';
import { versionedProjectors } from '../../app/cluster/projector-versions.ts';

/*
 * A projector worker's gate (app/cluster/projector-versions.ts) holds a batch while `natter replay`
 * fences its projections. A batch of the relay's watermarks alone writes no version, so it passes
 * without reading the record (at a trickle, many batches are a watermark round's).
 */
const env = await requireEngines('redis');
const redis = new Redis(env.NATTER_REDIS_URL);
after(() => redis.disconnect());

const watermark = (partition: number, through: number) =>
  ({ position: through, stream: '$watermark', revision: 0, type: '$watermark', data: { through, partition }, recordedAt: 0 }) as unknown as Recorded;
const created = { position: 7, stream: 'conversation-g_1', revision: 0, type: 'ConversationCreated', data: {}, recordedAt: 0 } as unknown as Recorded;

describe('read-model versions gate', () => {
  it('holds a batch with an event while its projection is fenced, and lets a batch of watermarks through', async () => {
    const versions = createRedisReadModelVersions({ redis, prefix: `natter-test:${randomUUID()}` });
    // The gate reads the record only; no projection is applied in this test, so no stores.
    const { gate } = await versionedProjectors({ versions, stores: {} as never, names: ['directory'], maxWaitMs: 300 });
    const token = randomUUID();
    await versions.fence(['directory'], token, 10_000);
    try {
      await gate.handle([watermark(0, 5), watermark(0, 9)]);
      await assert.rejects(gate.handle([watermark(1, 5), created]), /switching directory/);
    } finally {
      await versions.unfence(['directory'], token);
    }
    await gate.handle([created]);
  });
});

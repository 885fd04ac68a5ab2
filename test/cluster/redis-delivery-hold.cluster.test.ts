import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { createRedisDelivery, subscribeGateway } from '../../adapters/redis/delivery.ts';
import { createRedisSessions, sessionUserKey } from '../../adapters/redis/sessions.ts';
import { requireEngines } from '../support/engines.ts';
import { eventually } from '../support/eventually.ts';

/*
 * After a Redis restart, a gateway's subscription comes back on its own schedule, and a frame the
 * projector publishes before it does reaches nobody while the gateway's devices stay connected (see
 * adapters/redis/delivery.ts). engine-restarts.cluster.test.ts meets that race only sometimes; this
 * file makes it happen every time.
 */
describe('cluster delivery over Redis pub/sub', () => {
  let redis: Redis;
  const prefix = `t${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  before(async () => {
    redis = new Redis((await requireEngines('redis')).NATTER_REDIS_URL);
  });
  after(() => {
    redis.disconnect();
  });

  it('given users on several gateways, then each gateway gets each frame once with exactly its users, and lapsed sessions count for nothing', async () => {
    const now = Date.now();
    const sessions = (gatewayId: string) => createRedisSessions({ redis, prefix, gatewayId });
    await sessions('g1').connect('ann', 'phone', 60_000, now);
    await sessions('g1').connect('ann', 'laptop', 60_000, now);
    await sessions('g2').connect('ann', 'tablet', 60_000, now);
    await sessions('g2').connect('bob', 'phone', 60_000, now);
    // Lapsed a minute ago, its key still there (connect keeps it for twice the TTL): only the score says it is gone.
    await sessions('g3').connect('cid', 'phone', 60_000, now - 120_000);
    const got = new Map<string, Array<{ users: readonly string[]; seq: number }>>();
    const subscriptions = await Promise.all(
      ['g1', 'g2', 'g3'].map((gatewayId) =>
        subscribeGateway({
          redis,
          prefix,
          gatewayId,
          onError: (e) => assert.fail(String(e)),
          local: { deliver: (users, f) => got.set(gatewayId, [...(got.get(gatewayId) ?? []), { users, seq: JSON.parse(f.json).seq }]) },
        }),
      ),
    );
    let published = 0;
    const delivery = createRedisDelivery({ redis, prefix, onError: (e) => assert.fail(String(e)), onPublished: (n) => (published += n) });
    const frame = (seq: number) => ({
      kind: 'message' as const,
      json: JSON.stringify({ type: 'new_message', seq, text: 'quote " and \\ and ü' }),
      position: seq,
    });
    delivery.deliver(['ann', 'bob', 'cid', 'nobody'], frame(1));
    // Not a session set: counts as no live device, and the frame still reaches bob once.
    await redis.set(sessionUserKey(prefix, 'odd'), 'not a sorted set');
    delivery.deliver(['odd', 'bob'], frame(2));
    delivery.deliver(['cid', 'nobody'], frame(3));
    await eventually(
      async () => (got.get('g1')?.length ?? 0) + (got.get('g2')?.length ?? 0),
      (n) => n >= 3,
      { timeoutMs: 5_000 },
    );
    await sleep(200);
    assert.deepEqual(got.get('g1'), [{ users: ['ann'], seq: 1 }]);
    assert.deepEqual(got.get('g2'), [
      { users: ['ann', 'bob'], seq: 1 },
      { users: ['bob'], seq: 2 },
    ]);
    assert.equal(got.get('g3'), undefined, 'a lapsed session is not a live device');
    assert.equal(published, 3, 'gateways published to, over all frames');
    await Promise.all(subscriptions.map((s) => s.close()));
  });

  it('given a gateway not subscribed yet, when frames are published for it, then they are held and reach it in order once it subscribes; a gateway that never does is given up after the hold', async () => {
    const errors: string[] = [];
    const now = Date.now();
    await createRedisSessions({ redis, prefix, gatewayId: 'late' }).connect('u1', 's1', 60_000, now);
    await createRedisSessions({ redis, prefix, gatewayId: 'dead' }).connect('u2', 's1', 60_000, now);
    const delivery = createRedisDelivery({
      redis,
      prefix,
      onError: (e) => errors.push(String(e)),
      holdMs: 1_500,
    });
    const frame = (seq: number) => ({ kind: 'message' as const, json: JSON.stringify({ type: 'new_message', seq }), position: seq });

    for (let seq = 1; seq <= 50; seq++) delivery.deliver(['u1', 'u2'], frame(seq));
    await sleep(500);
    const received: number[] = [];
    const subscription = await subscribeGateway({
      redis,
      prefix,
      gatewayId: 'late',
      onError: (e) => errors.push(String(e)),
      local: {
        deliver: (users, f) => {
          if (users.includes('u1')) received.push(JSON.parse(f.json).seq);
        },
      },
    });
    for (let seq = 51; seq <= 100; seq++) delivery.deliver(['u1', 'u2'], frame(seq));

    const seen = await eventually(
      async () => received,
      (r) => r.length >= 100,
      { timeoutMs: 5_000 },
    );
    assert.deepEqual(
      seen,
      Array.from({ length: 100 }, (_, i) => i + 1),
      'every frame once, in order, the held ones first',
    );
    const givenUp = await eventually(
      async () => errors.filter((e) => e.includes('gateway dead')),
      (e) => e.length > 0,
      { timeoutMs: 5_000 },
    );
    assert.equal(givenUp.length, 1, `the silent gateway is given up once: ${errors.join('; ')}`);
    await subscription.close();
  });
});

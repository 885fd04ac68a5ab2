import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { PresenceStore } from '../../ports/presence.ts';
import type { RateLimiter } from '../../ports/rate-limiter.ts';

/** The presence-store contract: the embedded memory store and the cluster's Redis sessions run it unchanged. */
export const presenceContract = (name: string, open: () => Promise<{ store: PresenceStore; close(): Promise<void> }>) => {
  describe(`presence store contract: ${name}`, () => {
    let store: PresenceStore;
    let close: () => Promise<void>;
    before(async () => {
      ({ store, close } = await open());
    });
    after(async () => {
      await close();
    });
    const user = () => `u-${randomUUID()}`;
    const T = 1_800_000_000_000;

    it('goes online with the first session only, and offline with last_seen when the last one ends', async () => {
      const u = user();
      assert.deepEqual(await store.get(u, T), { user_id: u, status: 'offline' });
      assert.equal(await store.connect(u, 's1', 60_000, T), true);
      assert.equal(await store.connect(u, 's2', 60_000, T + 1), false);
      assert.equal((await store.get(u, T + 2)).status, 'online');
      assert.equal(await store.disconnect(u, 's1', T + 3), false);
      assert.equal(await store.disconnect(u, 's2', T + 4), true);
      assert.deepEqual(await store.get(u, T + 5), { user_id: u, status: 'offline', last_seen: T + 4 });
      assert.equal(await store.disconnect(u, 's2', T + 6), false, 'ending an ended session changes nothing');
    });

    it('announces a change at once, then coalesces every change inside the window into one decision at its end', async () => {
      const u = user();
      const W = 1_000;
      assert.equal(await store.claimAnnouncement(u, 'online', T, W), 0, 'the first change goes out at once');
      assert.equal(await store.claimAnnouncement(u, 'offline', T + 100, W), 900, 'inside the window: wait for its end');
      assert.equal(await store.claimAnnouncement(u, 'online', T + 400, W), 600, 'every gateway gets the same end');
      assert.equal(await store.claimAnnouncement(u, 'online', T + W, W), -1, 'back to what contacts saw: nothing to send');
      assert.equal(await store.claimAnnouncement(u, 'offline', T + W + 1, W), 0, 'a real change after the window goes out');
      assert.equal(await store.claimAnnouncement(u, 'offline', T + 3 * W, W), -1);
    });

    it('lets a session lapse after its TTL unless a heartbeat refreshes it', async () => {
      const [a, b] = [user(), user()];
      await store.connect(a, 'sa', 1_000, T);
      await store.connect(b, 'sb', 1_000, T);
      await store.refresh([{ userId: b, sessionId: 'sb' }], 1_000, T + 900);
      const gone = await store.expire(T + 1_500);
      assert.ok(gone.includes(a), 'the silent session lapsed');
      assert.ok(!gone.includes(b), 'the refreshed one did not');
      assert.equal((await store.get(a, T + 1_500)).status, 'offline');
      assert.equal((await store.get(b, T + 1_500)).status, 'online');
      assert.deepEqual(
        (await store.expire(T + 1_600)).filter((u) => u === a || u === b),
        [],
        'a lapse is reported once',
      );
      assert.ok((await store.expire(T + 3_000)).includes(b));
    });

    it('does not bring a lapsed session back with a late heartbeat', async () => {
      const u = user();
      await store.connect(u, 's', 1_000, T);
      await store.expire(T + 2_000);
      await store.refresh([{ userId: u, sessionId: 's' }], 1_000, T + 2_100);
      assert.equal((await store.get(u, T + 2_200)).status, 'offline');
    });
  });
};

/** The rate-limiter contract: a token bucket, the same in memory and in Redis. */
export const rateLimiterContract = (name: string, open: (clock: () => number) => Promise<{ limiter: RateLimiter; close(): Promise<void> }>) => {
  describe(`rate limiter contract: ${name}`, () => {
    let now = 1_800_000_000_000;
    let limiter: RateLimiter;
    let close: () => Promise<void>;
    before(async () => {
      ({ limiter, close } = await open(() => now));
    });
    after(async () => {
      await close();
    });

    it('allows a burst of `capacity`, refuses the next with the wait until a token, then refills over time', async () => {
      const key = `k-${randomUUID()}`;
      const limit = { capacity: 5, perSecond: 1 };
      for (let i = 0; i < 5; i++) assert.deepEqual(await limiter.take(key, limit), { ok: true });
      const refused = await limiter.take(key, limit);
      assert.equal(refused.ok, false);
      assert.ok(!refused.ok && refused.retryAfterMs > 0 && refused.retryAfterMs <= 1_000);
      now += 1_000;
      assert.deepEqual(await limiter.take(key, limit), { ok: true });
      assert.equal((await limiter.take(key, limit)).ok, false);
      now += 10_000;
      for (let i = 0; i < 5; i++) assert.deepEqual(await limiter.take(key, limit), { ok: true }, 'refills up to capacity, not beyond');
      assert.equal((await limiter.take(key, limit)).ok, false);
    });

    it('keeps separate budgets per key', async () => {
      const limit = { capacity: 1, perSecond: 0.1 };
      const [a, b] = [`a-${randomUUID()}`, `b-${randomUUID()}`];
      assert.equal((await limiter.take(a, limit)).ok, true);
      assert.equal((await limiter.take(b, limit)).ok, true);
      assert.equal((await limiter.take(a, limit)).ok, false);
    });

    it('takes several buckets all or none: when one is short, none is taken, and the answer names it', async () => {
      const [user, room] = [`u-${randomUUID()}`, `r-${randomUUID()}`];
      const userLimit = { capacity: 3, perSecond: 1 };
      const roomLimit = { capacity: 1, perSecond: 0.5 };
      const both = [
        { key: user, limit: userLimit },
        { key: room, limit: roomLimit },
      ];
      assert.deepEqual(await limiter.takeAll(both), { ok: true });
      const refused = await limiter.takeAll(both);
      assert.ok(!refused.ok, 'the room bucket is empty');
      assert.equal(refused.failed, 1);
      assert.ok(refused.retryAfterMs > 0 && refused.retryAfterMs <= 2_000, `wait ${refused.retryAfterMs}`);
      // The refused call took nothing from the user's bucket: 2 tokens are left, not 1.
      assert.deepEqual(await limiter.take(user, userLimit), { ok: true });
      assert.deepEqual(await limiter.take(user, userLimit), { ok: true });
      const empty = await limiter.takeAll(both);
      assert.ok(!empty.ok);
      assert.equal(empty.failed, 0, 'the first short bucket is named');
    });

    it('takes `cost` tokens from a bucket of a takeAll', async () => {
      const key = `c-${randomUUID()}`;
      const limit = { capacity: 10, perSecond: 1 };
      assert.deepEqual(await limiter.takeAll([{ key, limit, cost: 8 }]), { ok: true });
      const refused = await limiter.takeAll([{ key, limit, cost: 3 }]);
      assert.ok(!refused.ok && refused.failed === 0 && refused.retryAfterMs === 1_000, JSON.stringify(refused));
      assert.deepEqual(await limiter.takeAll([{ key, limit, cost: 2 }]), { ok: true });
    });
  });
};

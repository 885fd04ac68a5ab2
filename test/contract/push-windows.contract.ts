import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { PushWindows } from '../../ports/push.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The push-windows contract: the embedded memory windows and the cluster's Redis windows run it
 * unchanged, on the real clock (Redis expires keys on its own). `open` may give two handles on the
 * same windows, as two push workers sharing one Redis have.
 */
export const pushWindowsContract = (name: string, open: () => Promise<{ windows: [PushWindows, PushWindows]; close(): Promise<void> }>) => {
  describe(`push windows contract: ${name}`, () => {
    let one: PushWindows;
    let two: PushWindows;
    let close: () => Promise<void>;
    before(async () => {
      ({
        windows: [one, two],
        close,
      } = await open());
    });
    after(async () => {
      await close();
    });
    const ids = () => ({ userId: `u-${randomUUID()}`, conversationId: `c-${randomUUID()}` });
    const WINDOW = 300;
    const REMEMBER = 60_000;

    it('given no window, then the first claim pushes and opens one; a claim inside it waits for its end; after it, the next claim pushes', async () => {
      const who = ids();
      assert.deepEqual(await one.claim({ ...who, seq: 1, windowMs: WINDOW, rememberMs: REMEMBER }), { kind: 'push', coveredSeq: 0 });
      const wait = await two.claim({ ...who, seq: 3, windowMs: WINDOW, rememberMs: REMEMBER });
      assert.equal(wait.kind, 'wait', 'another handle sees the window');
      if (wait.kind === 'wait') assert.ok(wait.ms > 0 && wait.ms <= WINDOW, `${wait.ms} ms left`);
      await sleep(WINDOW + 50);
      assert.deepEqual(await two.claim({ ...who, seq: 3, windowMs: WINDOW, rememberMs: REMEMBER }), { kind: 'push', coveredSeq: 1 });
    });

    it('given messages pushed already, then claiming them again is covered, inside a window or after it', async () => {
      const who = ids();
      await one.claim({ ...who, seq: 4, windowMs: WINDOW, rememberMs: REMEMBER });
      assert.deepEqual(await two.claim({ ...who, seq: 4, windowMs: WINDOW, rememberMs: REMEMBER }), { kind: 'covered' });
      assert.deepEqual(await one.claim({ ...who, seq: 2, windowMs: WINDOW, rememberMs: REMEMBER }), { kind: 'covered' });
      await sleep(WINDOW + 50);
      assert.deepEqual(
        await two.claim({ ...who, seq: 4, windowMs: WINDOW, rememberMs: REMEMBER }),
        { kind: 'covered' },
        'a redelivery after the window pushes nothing',
      );
      assert.deepEqual(await two.claim({ ...who, seq: 5, windowMs: WINDOW, rememberMs: REMEMBER }), { kind: 'push', coveredSeq: 4 });
    });

    it('given many claims at once for one user, then exactly one pushes', async () => {
      const who = ids();
      const claims = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 ? one : two).claim({ ...who, seq: 1 + i, windowMs: WINDOW, rememberMs: REMEMBER })),
      );
      assert.equal(claims.filter((c) => c.kind === 'push').length, 1);
    });

    it('given windows of different users and conversations, then they are independent', async () => {
      const who = ids();
      await one.claim({ ...who, seq: 1, windowMs: WINDOW, rememberMs: REMEMBER });
      assert.equal((await one.claim({ ...who, userId: `u-${randomUUID()}`, seq: 1, windowMs: WINDOW, rememberMs: REMEMBER })).kind, 'push');
      assert.equal((await one.claim({ ...who, conversationId: `c-${randomUUID()}`, seq: 1, windowMs: WINDOW, rememberMs: REMEMBER })).kind, 'push');
    });

    it('given a window of 0 (no collapsing), then every new message pushes at once, and none twice', async () => {
      const who = ids();
      assert.equal((await one.claim({ ...who, seq: 1, windowMs: 0, rememberMs: REMEMBER })).kind, 'push');
      assert.deepEqual(await two.claim({ ...who, seq: 2, windowMs: 0, rememberMs: REMEMBER }), { kind: 'push', coveredSeq: 1 });
      assert.deepEqual(await two.claim({ ...who, seq: 2, windowMs: 0, rememberMs: REMEMBER }), { kind: 'covered' });
    });

    const waiting = (conversationId: string, seq: number) => ({
      conversation_id: conversationId,
      seq,
      sender_id: 'ann',
      content_type: 'text' as const,
      timestamp: 1_700_000_000_000 + seq,
    });

    it('given messages parked for a window, then another handle finds the window once it is due and takes them once, in seq order', async () => {
      const who = ids();
      const dueAt = Date.now() + 200;
      await one.park({ ...who, messages: [waiting(who.conversationId, 3), waiting(who.conversationId, 2)], dueAt });
      await one.park({ ...who, messages: [waiting(who.conversationId, 3), waiting(who.conversationId, 4)], dueAt });
      const mine = (found: Array<{ userId: string; conversationId: string }>) => found.filter((w) => w.userId === who.userId);
      assert.deepEqual(mine(await two.due(dueAt - 1, 1_000)), [], 'not due yet');
      assert.deepEqual(mine(await two.due(dueAt, 1_000)), [who]);
      const [taken, again] = await Promise.all([two.take(who.userId, who.conversationId), one.take(who.userId, who.conversationId)]);
      const both = [...taken, ...again];
      assert.deepEqual(
        both.map((m) => m.seq),
        [2, 3, 4],
        'each parked message once, whoever takes first',
      );
      assert.ok(taken.length === 0 || again.length === 0, 'taken whole by one of them');
      assert.deepEqual(both[0], waiting(who.conversationId, 2));
      assert.deepEqual(mine(await two.due(dueAt + 60_000, 1_000)), [], 'a taken window is no longer due');
    });

    it('given nothing parked, then taking gives nothing', async () => {
      const who = ids();
      assert.deepEqual(await one.take(who.userId, who.conversationId), []);
    });

    it('given what was pushed is remembered only for rememberMs, then a claim after that pushes again', async () => {
      const who = ids();
      await one.claim({ ...who, seq: 7, windowMs: 50, rememberMs: 200 });
      await sleep(300);
      assert.deepEqual(await two.claim({ ...who, seq: 7, windowMs: 50, rememberMs: 200 }), { kind: 'push', coveredSeq: 0 });
    });
  });
};

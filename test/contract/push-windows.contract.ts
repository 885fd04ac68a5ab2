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
    before(async () => { ({ windows: [one, two], close } = await open()); });
    after(async () => { await close(); });
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
      assert.deepEqual(await two.claim({ ...who, seq: 4, windowMs: WINDOW, rememberMs: REMEMBER }), { kind: 'covered' }, 'a redelivery after the window pushes nothing');
      assert.deepEqual(await two.claim({ ...who, seq: 5, windowMs: WINDOW, rememberMs: REMEMBER }), { kind: 'push', coveredSeq: 4 });
    });

    it('given many claims at once for one user, then exactly one pushes', async () => {
      const who = ids();
      const claims = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? one : two).claim({ ...who, seq: 1 + i, windowMs: WINDOW, rememberMs: REMEMBER })));
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

    it('given what was pushed is remembered only for rememberMs, then a claim after that pushes again', async () => {
      const who = ids();
      await one.claim({ ...who, seq: 7, windowMs: 50, rememberMs: 200 });
      await sleep(300);
      assert.deepEqual(await two.claim({ ...who, seq: 7, windowMs: 50, rememberMs: 200 }), { kind: 'push', coveredSeq: 0 });
    });
  });
};

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { allMessages } from '../support/natter.ts';
import { useNatter } from '../support/fixture.ts';
import { eventually } from '../support/eventually.ts';

/*
 * A new socket holds its live messages until its first frame (NATTER_CONNECT_HOLD_MS, on in the
 * cluster by default): a reconnecting client's first frame is its sync, and what arrives live
 * meanwhile belongs after the synced messages. Clients send their sync and their outbox in one write
 * (the SDK does), so the frames after the sync must not release what the sync holds.
 */
describe('a new socket holds live messages for its first frame, a sync', () => {
  const { connect, as } = useNatter({ NATTER_CONNECT_HOLD_MS: '5000' });

  it('given a message held for a new socket, when its sync and a ping arrive in one write, then the message comes once, not ahead of the sync', async () => {
    const ann = await as('hold-ann');
    const { body: conversation } = await ann.post('/v1/conversations', { type: 'direct', peer_id: 'hold-ben' });
    const annPhone = await connect('hold-ann');
    const benPhone = await connect('hold-ben');
    const sent = await annPhone.sendMessage(conversation.conversation_id, 'held for ben');
    // History has it, so the sync's page holds it too.
    const ben = await as('hold-ben');
    await eventually(
      () => allMessages(ben, conversation.conversation_id),
      (items) => items.length === 1,
      { timeoutMs: 10_000, everyMs: 50 },
    );
    assert.deepEqual(benPhone.of('new_message'), [], 'nothing live before the first frame');

    const raw = (benPhone.socket as unknown as { _socket: Socket })._socket;
    raw.cork();
    benPhone.send({ type: 'sync', cursor: '0' });
    benPhone.send({ type: 'ping' });
    raw.uncork();
    await benPhone.waitFor('sync_done', () => true, 1, 15_000);
    await new Promise((resolve) => setTimeout(resolve, 300));

    // Once: in the sync's page, or (in the cluster, when the page stops at a low watermark that is
    // behind history) released after sync_done. Released by the ping, it came live and then again
    // in the page.
    const copies = benPhone.frames.filter((f) => f.type === 'new_message' && f.message_id === sent.message_id);
    assert.equal(copies.length, 1, `the message once, not before the sync: ${JSON.stringify(benPhone.frames.map((f) => f.type))}`);
    await Promise.all([annPhone.close(), benPhone.close()]);
  });
});

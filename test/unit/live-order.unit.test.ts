import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Outbound } from '../../ports/delivery.ts';
import { LiveOrder, type LiveOut } from '../../gateway/live-order.ts';

// A connection's live frames come from two paths in the cluster (the fast path and the projectors'
// fan-out), in either order: the device must see each once, and each conversation in seq order.

const C = 'g_1';
const message = (seq: number, position = seq * 10, conversation = C): Outbound => ({
  kind: 'message',
  json: `new ${conversation} ${seq}`,
  position,
  conversation,
  seq,
  isNew: true,
});
const edit = (seq: number, position: number): Outbound => ({ kind: 'message', json: `edit ${seq} @${position}`, position, conversation: C, seq });
const receipt = (position: number): Outbound => ({ kind: 'status', json: `status @${position}`, position, conversation: C });
const state = (position: number): Outbound => ({ kind: 'conversation', json: `state @${position}`, position, conversation: C });
const typing: Outbound = { kind: 'ephemeral', json: 'typing', position: 0 };

const given = (options: { gapWaitMs?: number; fill?: LiveOut['fill'] } = {}) => {
  const sent: string[] = [];
  let resyncs = 0;
  const order = new LiveOrder(
    {
      send: (json) => sent.push(json),
      resync: () => {
        resyncs++;
      },
      ...(options.fill ? { fill: options.fill } : {}),
    },
    { gapWaitMs: options.gapWaitMs ?? 50 },
  );
  const when = (...frames: Outbound[]) => {
    for (const frame of frames) order.accept(frame);
    return { sent, resyncs: () => resyncs };
  };
  return { order, when, sent, resyncs: () => resyncs };
};

describe('live order: each frame once, each conversation in seq order', () => {
  it('given messages 1-3 delivered by the fast path, when the projectors deliver them again, then the device sees each once', () => {
    const { when } = given();
    const { sent } = when(message(1), message(2), message(3), message(1), message(2), message(3));
    assert.deepEqual(sent, ['new g_1 1', 'new g_1 2', 'new g_1 3']);
  });

  it('given a connection that has seen nothing of a conversation, when its first frame is seq 7, then it is delivered and 8 follows it', () => {
    const { when } = given();
    assert.deepEqual(when(message(7), message(8), message(7)).sent, ['new g_1 7', 'new g_1 8']);
  });

  it('given seq 1, when 3 arrives before 2, then 3 waits for 2 and both follow in order', () => {
    const { when, resyncs } = given();
    assert.deepEqual(when(message(1), message(3)).sent, ['new g_1 1']);
    assert.deepEqual(when(message(2)).sent, ['new g_1 1', 'new g_1 2', 'new g_1 3']);
    assert.equal(resyncs(), 0);
  });

  it('given seq 1 and 3 waiting for 2, when 2 never comes and history does not hold it, then the client is told to resync', async () => {
    const asked: Array<[number, number]> = [];
    const { when, resyncs } = given({
      fill: async (_c, after, before) => {
        asked.push([after, before]);
        return [];
      },
    });
    when(message(1), message(3), message(4));
    await sleep(120);
    assert.deepEqual(asked, [[1, 3]]);
    assert.equal(resyncs(), 1);
  });

  it('given seq 1 and 3 waiting for 2, when 2 does not come live but history holds it, then it is delivered from there, then 3', async () => {
    const { when, sent, resyncs } = given({ fill: async () => [message(2)] });
    when(message(1), message(3));
    await sleep(120);
    assert.deepEqual(sent, ['new g_1 1', 'new g_1 2', 'new g_1 3']);
    assert.equal(resyncs(), 0);
  });

  it('given a gap, when the missing seq comes within the wait, then nothing is resynced', async () => {
    const { when, resyncs } = given({ gapWaitMs: 100 });
    when(message(1), message(3));
    await sleep(20);
    when(message(2));
    await sleep(150);
    assert.equal(resyncs(), 0);
  });

  it('given an edit and a reaction delivered, when the same events come again, then they are dropped; another event on the same message is not', () => {
    const { when } = given();
    const { sent } = when(message(1), edit(1, 20), edit(1, 30), edit(1, 20), edit(1, 30), edit(1, 40));
    assert.deepEqual(sent, ['new g_1 1', 'edit 1 @20', 'edit 1 @30', 'edit 1 @40']);
  });

  it('given message 2 is missing, when an edit of message 2 arrives, then it waits for message 2', () => {
    const { when } = given();
    when(message(1), edit(2, 35));
    assert.deepEqual(when(message(2)).sent, ['new g_1 1', 'new g_1 2', 'edit 2 @35']);
  });

  it('given a receipt delivered, when it comes again, then it is dropped', () => {
    const { when } = given();
    assert.deepEqual(when(receipt(50), receipt(50), receipt(60)).sent, ['status @50', 'status @60']);
  });

  it('given a conversation_updated at 90, when the one at 80 arrives after it, then the older state is dropped', () => {
    const { when } = given();
    assert.deepEqual(when(state(90), state(80), state(90), state(100)).sent, ['state @90', 'state @100']);
  });

  it('given frames of two conversations, then each is ordered on its own, and ephemeral frames pass', () => {
    const { when } = given();
    const { sent } = when(message(1), message(5, 5, 'g_2'), message(3), typing, message(6, 6, 'g_2'), message(2));
    assert.deepEqual(sent, ['new g_1 1', 'new g_2 5', 'typing', 'new g_2 6', 'new g_1 2', 'new g_1 3']);
  });

  it('given a sync delivered messages up to 4, when live frames for 3 and 4 arrive, then they are dropped and 5 goes on', () => {
    const { order, when } = given();
    order.synced(C, 4);
    assert.deepEqual(when(message(3), message(4), message(5)).sent, ['new g_1 5']);
  });
});

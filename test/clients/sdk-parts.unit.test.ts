import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fullJitter } from '../../clients/sdk/backoff.ts';
import { Outbox } from '../../clients/sdk/outbox.ts';
import { newerCursor, socketUrl } from '../../clients/sdk/urls.ts';
import { REACTORS_SHOWN, applyReaction, applyUpdate } from '../../clients/sdk/changes.ts';
import { releaseHeld, type Held } from '../../clients/sdk/held.ts';
import type { Message, ReactionFrame } from '../../clients/sdk/wire.ts';
import { REACTION_USER_IDS_SHOWN } from '../../contracts/reactions.ts';

const message = (seq: number, fields: Partial<Message> = {}): Message => ({
  message_id: `m${seq}`,
  conversation_id: 'c',
  seq,
  sender_id: 'ann',
  content: `text ${seq}`,
  content_type: 'text',
  client_msg_id: `k${seq}`,
  timestamp: 1,
  edited_at: null,
  deleted: false,
  erased: false,
  reply_to_seq: null,
  reply_count: 0,
  mentions: [],
  reactions: [],
  cursor: String(seq * 10),
  ...fields,
});
const reaction = (user_id: string, emoji: string, op: 'add' | 'remove'): ReactionFrame => ({
  type: 'reaction',
  conversation_id: 'c',
  seq: 1,
  emoji,
  user_id,
  op,
  cursor: '1',
});

describe('SDK parts', () => {
  it('full jitter stays below the capped exponential and can be zero', () => {
    const options = { baseMs: 100, capMs: 1_000 };
    assert.equal(
      fullJitter(0, options, () => 0),
      0,
    );
    assert.equal(
      fullJitter(2, options, () => 0.999),
      399,
    );
    assert.equal(
      fullJitter(30, options, () => 0.999),
      999,
    );
  });

  it('the outbox offers only the oldest unacked send of each conversation', () => {
    const outbox = new Outbox([
      { client_msg_id: 'a1', conversation_id: 'a', content: '1' },
      { client_msg_id: 'b1', conversation_id: 'b', content: '1' },
      { client_msg_id: 'a2', conversation_id: 'a', content: '2' },
    ]);
    assert.deepEqual(
      outbox.heads().map((e) => e.client_msg_id),
      ['a1', 'b1'],
    );
    assert.equal(outbox.take('a1')?.content, '1');
    assert.equal(outbox.take('a1'), undefined, 'a second ack of the same send settles nothing');
    assert.deepEqual(
      outbox.heads().map((e) => e.client_msg_id),
      ['b1', 'a2'],
    );
  });

  it('cursors compare as decimal numbers of any length', () => {
    assert.ok(newerCursor('10', '9'));
    assert.ok(!newerCursor('9', '10'));
    assert.ok(!newerCursor('12', '12'));
    assert.ok(newerCursor('1', undefined));
    assert.ok(newerCursor('90071992547409930', '90071992547409929'));
  });

  it('derives the socket URL from an http or ws base', () => {
    assert.equal(socketUrl('https://chat.example/', 'a b', 'pc'), 'wss://chat.example/v1/ws?token=a%20b&device_id=pc');
    assert.equal(socketUrl('ws://127.0.0.1:3000', 't', 'pc'), 'ws://127.0.0.1:3000/v1/ws?token=t&device_id=pc');
  });

  it('applies reactions as sets: a repeated add or remove changes nothing, an emoji leaves with its last reactor', () => {
    let m = message(1);
    for (const r of [reaction('ann', '👍', 'add'), reaction('ann', '👍', 'add'), reaction('ben', '👍', 'add'), reaction('ben', '🎉', 'add')])
      m = applyReaction(m, r);
    assert.deepEqual(m.reactions, [
      { emoji: '👍', count: 2, user_ids: ['ann', 'ben'] },
      { emoji: '🎉', count: 1, user_ids: ['ben'] },
    ]);
    for (const r of [reaction('ann', '👍', 'remove'), reaction('ann', '👍', 'remove'), reaction('ben', '🎉', 'remove')]) m = applyReaction(m, r);
    assert.deepEqual(m.reactions, [{ emoji: '👍', count: 1, user_ids: ['ben'] }]);
    assert.equal(REACTORS_SHOWN, REACTION_USER_IDS_SHOWN, 'the SDK lists as many reactors as the server');
  });

  it('applies updates: a delete empties the text, mentions and reactions and keeps the last edit time', () => {
    const edited = applyUpdate(message(1, { mentions: ['ben'], reactions: [{ emoji: '👍', count: 1, user_ids: ['ben'] }] }), {
      type: 'message_updated',
      conversation_id: 'c',
      seq: 1,
      content: 'new',
      edited_at: 5,
      deleted: false,
      cursor: '20',
    });
    assert.deepEqual([edited.content, edited.edited_at, edited.reactions.length], ['new', 5, 1]);
    const deleted = applyUpdate(edited, { type: 'message_updated', conversation_id: 'c', seq: 1, content: '', edited_at: null, deleted: true, cursor: '30' });
    assert.deepEqual([deleted.content, deleted.edited_at, deleted.deleted, deleted.mentions, deleted.reactions], ['', 5, true, [], []]);
  });

  it('releases held frames in log order, with synced reply counts as of their place in the log', () => {
    const held: Held[] = [
      { kind: 'message', value: message(4, { reply_to_seq: 3, cursor: '40' }) },
      {
        kind: 'updated',
        value: {
          type: 'message_updated',
          conversation_id: 'c',
          seq: 3,
          content: 'x',
          edited_at: null,
          deleted: false,
          reactions: [],
          reply_count: 3,
          cursor: '35',
        },
      },
      { kind: 'message', value: message(2, { reply_to_seq: 3, cursor: '20' }) },
      { kind: 'message', value: message(5, { reply_to_seq: 3, cursor: '50' }) },
    ];
    const { ready, rest } = releaseHeld(held, '45', false, () => false);
    assert.deepEqual(
      ready.map((h) => h.value.cursor),
      ['20', '35', '40'],
    );
    assert.deepEqual(
      rest.map((h) => h.value.cursor),
      ['50'],
    );
    // The snapshot counts all three replies: seq 2 came before it, seq 4 and the held seq 5 come after it and add one each.
    assert.equal(ready[1]!.kind === 'updated' && ready[1]!.value.reply_count, 1);
    const again = releaseHeld(held, '45', true, (id) => id === 'm4');
    assert.equal(again.ready[1]!.kind === 'updated' && again.ready[1]!.value.reply_count, 2, 'a reply seen before is not delivered again, so not taken off');
  });
});

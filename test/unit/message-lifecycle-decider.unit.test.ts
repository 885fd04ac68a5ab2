import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ConversationEvent, ReactionEvent } from '../../contracts/events.ts';
import type { DeleteMessage, EditMessage, React, SendMessage } from '../../contracts/commands.ts';
import type { ContentType } from '../../contracts/primitives.ts';
import { MAX_DISTINCT_REACTIONS, MAX_REACTIONS_PER_USER } from '../../contracts/reactions.ts';
import { decide, evolve, initialState } from '../../command-side/conversations/decider.ts';
import { given, givenReactions } from './given.ts';

const ID = 'c-1';
const T0 = 1_700_000_000_000;
const WINDOW = 60_000;

const groupCreated = (members: string[], by = 'alice'): ConversationEvent => ({
  type: 'ConversationCreated',
  data: { conversation_id: ID, kind: 'group', title: 'Team', created_by: by, member_ids: [by, ...members], timestamp: T0 },
});
const sent = (seq: number, sender: string, contentType: ContentType = 'text', ts = T0 + seq): ConversationEvent => ({
  type: 'MessageSent',
  data: {
    conversation_id: ID,
    message_id: `m-${seq}`,
    seq,
    sender_id: sender,
    sender_device_id: 'phone',
    client_msg_id: `k-${seq}`,
    content: contentType === 'media' ? '{"media_id":"x"}' : `hello ${seq}`,
    content_type: contentType,
    timestamp: ts,
  },
});
const deleted = (seq: number, by: string): ConversationEvent => ({
  type: 'MessageDeleted',
  data: { conversation_id: ID, seq, deleted_by: by, timestamp: T0 + 500 },
});
const removed = (userId: string): ConversationEvent => ({
  type: 'MemberRemoved',
  data: { conversation_id: ID, user_id: userId, removed_by: userId, timestamp: T0 + 50 },
});

const edit = (by: string, seq: number, ts = T0 + 1_000): EditMessage => ({
  type: 'EditMessage',
  conversation_id: ID,
  seq,
  by,
  content: 'fixed',
  edit_window_ms: WINDOW,
  timestamp: ts,
});
const del = (by: string, seq: number): DeleteMessage => ({ type: 'DeleteMessage', conversation_id: ID, seq, by, timestamp: T0 + 2_000 });
const send = (sender: string, extra: Partial<SendMessage> = {}): SendMessage => ({
  type: 'SendMessage',
  conversation_id: ID,
  message_id: 'new',
  sender_id: sender,
  sender_device_id: 'phone',
  client_msg_id: `k-new-${sender}`,
  content: 'hi',
  content_type: 'text',
  timestamp: T0 + 3_000,
  ...extra,
});
const react = (user: string, seq: number, emoji = '👍', op: 'add' | 'remove' = 'add'): React => ({
  type: 'React',
  conversation_id: ID,
  seq,
  user_id: user,
  emoji,
  op,
  timestamp: T0 + 4_000,
});
const reacted = (user: string, seq: number, emoji = '👍', type: ReactionEvent['type'] = 'ReactionAdded'): ReactionEvent =>
  ({ type, data: { conversation_id: ID, seq, user_id: user, emoji, timestamp: T0 + 3_500 } }) as ReactionEvent;

const group = [groupCreated(['bob', 'carol']), sent(1, 'bob'), sent(2, 'carol'), sent(3, 'bob', 'media'), sent(4, 'bob', 'ciphertext')];

describe('edits', () => {
  it("given bob's message, when bob edits it within the window, then MessageEdited with the new text and its content type", () =>
    given(group)
      .when(edit('bob', 1))
      .then([
        { type: 'MessageEdited', data: { conversation_id: ID, seq: 1, edited_by: 'bob', content: 'fixed', content_type: 'text', timestamp: T0 + 1_000 } },
      ]));
  it('given a ciphertext message, when its author edits it, then the edit says ciphertext (readers never show it as text)', () =>
    assert.equal((given(group).when(edit('bob', 4)).events()[0]!.data as { content_type: string }).content_type, 'ciphertext'));
  it("given carol's message, when bob edits it, then forbidden: only the author edits", () => given(group).when(edit('bob', 2)).thenThrows('forbidden'));
  it('given a message older than the window, when its author edits it, then edit_window_closed', () =>
    given(group)
      .when(edit('bob', 1, T0 + 1 + WINDOW + 1))
      .thenThrows('edit_window_closed'));
  it('given a message exactly at the end of the window, then the edit is accepted', () =>
    assert.equal(
      given(group)
        .when(edit('bob', 1, T0 + 1 + WINDOW))
        .events().length,
      1,
    ));
  it('given a deleted message, when its author edits it, then message_deleted (410)', () =>
    given([...group, deleted(1, 'bob')])
      .when(edit('bob', 1))
      .thenThrows('message_deleted'));
  it('given an unknown seq, then message_not_found; seq 0 and negative ones too', () => {
    given(group).when(edit('bob', 99)).thenThrows('message_not_found');
    given(group).when(edit('bob', 0)).thenThrows('message_not_found');
    given(group).when(edit('bob', -1)).thenThrows('message_not_found');
  });
  it('given a media message, when its author edits it, then invalid_request', () => given(group).when(edit('bob', 3)).thenThrows('invalid_request'));
  it('given a stranger, then conversation_not_found; a former member, not_a_member', () => {
    given(group).when(edit('dan', 1)).thenThrows('conversation_not_found');
    given([...group, removed('bob')])
      .when(edit('bob', 1))
      .thenThrows('not_a_member');
  });
});

describe('deletes', () => {
  it("given bob's message, when bob deletes it, then MessageDeleted", () =>
    given(group)
      .when(del('bob', 1))
      .then([{ type: 'MessageDeleted', data: { conversation_id: ID, seq: 1, deleted_by: 'bob', timestamp: T0 + 2_000 } }]));
  it('given a deleted message, when it is deleted again, then nothing (idempotent)', () =>
    given([...group, deleted(1, 'bob')])
      .when(del('bob', 1))
      .thenNothing());
  it("given carol's message, when bob (not an admin) deletes it, then forbidden", () => given(group).when(del('bob', 2)).thenThrows('forbidden'));
  it("given carol's message, when alice (the group's admin) deletes it, then it is deleted", () =>
    assert.equal(given(group).when(del('alice', 2)).events()[0]!.type, 'MessageDeleted'));
  it('given an unknown seq, then message_not_found', () => given(group).when(del('bob', 42)).thenThrows('message_not_found'));
  it('given a removed admin, then the power goes with the membership', () =>
    given([...group, removed('alice')])
      .when(del('alice', 2))
      .thenThrows('not_a_member'));
});

describe('replies and mentions', () => {
  it('given a message, when a reply names it, then MessageSent carries reply_to_seq', () =>
    assert.equal(
      (
        given(group)
          .when(send('carol', { reply_to_seq: 1 }))
          .events()[0]!.data as { reply_to_seq?: number }
      ).reply_to_seq,
      1,
    ));
  it('given no such seq, when a reply names it, then message_not_found and nothing is appended', () =>
    given(group)
      .when(send('carol', { reply_to_seq: 9 }))
      .thenThrows('message_not_found'));
  it('given a deleted message, a reply to it is still accepted (the thread stays)', () =>
    assert.equal(
      given([...group, deleted(1, 'bob')])
        .when(send('carol', { reply_to_seq: 1 }))
        .events().length,
      1,
    ));
  it('given members, when a message mentions some of them (twice over), then the mentions are kept once each', () =>
    assert.deepEqual(
      (
        given(group)
          .when(send('carol', { mentions: ['bob', 'alice', 'bob'] }))
          .events()[0]!.data as { mentions?: string[] }
      ).mentions,
      ['bob', 'alice'],
    ));
  it('given a mention of a non-member, then invalid_request', () =>
    given(group)
      .when(send('carol', { mentions: ['bob', 'mallory'] }))
      .thenThrows('invalid_request'));
  it('given no mentions and no reply, then MessageSent has neither field (old readers see the same event)', () => {
    const data = given(group).when(send('carol')).events()[0]!.data;
    assert.ok(!('mentions' in data) && !('reply_to_seq' in data));
  });
});

describe('reactions (their own stream, ruled against the conversation)', () => {
  it('given a message, when carol adds 👍, then ReactionAdded', () =>
    givenReactions(group)
      .when(react('carol', 1))
      .then([{ type: 'ReactionAdded', data: { conversation_id: ID, seq: 1, user_id: 'carol', emoji: '👍', timestamp: T0 + 4_000 } }]));
  it("given carol's 👍, when she adds it again, then nothing; when she removes it, then ReactionRemoved; removing twice, nothing", () => {
    givenReactions(group, [reacted('carol', 1)])
      .when(react('carol', 1))
      .thenNothing();
    assert.equal(
      givenReactions(group, [reacted('carol', 1)])
        .when(react('carol', 1, '👍', 'remove'))
        .events()[0]!.type,
      'ReactionRemoved',
    );
    givenReactions(group, [reacted('carol', 1), reacted('carol', 1, '👍', 'ReactionRemoved')])
      .when(react('carol', 1, '👍', 'remove'))
      .thenNothing();
  });
  it('given an unknown seq, then message_not_found; a deleted message, then message_deleted', () => {
    givenReactions(group).when(react('carol', 77)).thenThrows('message_not_found');
    givenReactions([...group, deleted(2, 'carol')])
      .when(react('bob', 2))
      .thenThrows('message_deleted');
  });
  it('given a stranger, then conversation_not_found', () => givenReactions(group).when(react('dan', 1)).thenThrows('conversation_not_found'));
  it('given text that is not one emoji, then invalid_request', () => {
    for (const emoji of ['a', '👍👍', 'ok👍', ''])
      givenReactions(group)
        .when(react('carol', 1, emoji))
        .thenThrows('invalid_request');
  });
  it(`given ${MAX_DISTINCT_REACTIONS} different emojis on a message, a new one is refused, an existing one is accepted`, () => {
    const emojis = [...'😀😁😂🤣😃😄😅😆😉😊😋😎😍😘🥰😗😙🥲😚🙂'];
    assert.equal(emojis.length, MAX_DISTINCT_REACTIONS);
    const full = emojis.map((emoji, i) => reacted(`u${i}`, 1, emoji));
    givenReactions(group, full)
      .when(react('carol', 1, '🦄'))
      .thenThrows('too_many_reactions');
    assert.equal(
      givenReactions(group, full)
        .when(react('carol', 1, '😀'))
        .events().length,
      1,
    );
  });
  it(`given carol's ${MAX_REACTIONS_PER_USER} reactions on a message, her next one is refused, another user's accepted`, () => {
    const mine = [...'😀😁😂🤣😃😄😅😆😉😊'].map((emoji) => reacted('carol', 1, emoji));
    givenReactions(group, mine)
      .when(react('carol', 1, '🦄'))
      .thenThrows('too_many_reactions');
    assert.equal(
      givenReactions(group, mine)
        .when(react('bob', 1, '🦄'))
        .events().length,
      1,
    );
  });
});

describe('rolling deploys: events this version does not know', () => {
  it('given an event type from a newer version, evolve keeps the state it knows and decides as before', () => {
    const future = { type: 'MessagePinned', data: { conversation_id: ID, seq: 1 } } as unknown as ConversationEvent;
    const state = [...group, future].reduce(evolve, initialState());
    assert.equal(state.last_seq, 4);
    assert.equal(decide(edit('bob', 1), state).length, 1);
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ConversationEvent, UserEvent } from '../../contracts/events.ts';
import type { ExpireMessages, SetRetention } from '../../contracts/commands.ts';
import { given, givenUser } from './given.ts';

const ID = 'c-1';
const DAY = 86_400_000;
const T0 = 1_700_000_000_000;

const group: ConversationEvent = {
  type: 'ConversationCreated',
  data: { conversation_id: ID, kind: 'group', title: 'Team', created_by: 'alice', member_ids: ['alice', 'bob'], timestamp: T0 },
};
const direct: ConversationEvent = {
  type: 'ConversationCreated',
  data: { conversation_id: ID, kind: 'direct', title: null, created_by: 'alice', member_ids: ['alice', 'bob'], timestamp: T0 },
};
const sent = (seq: number, at: number): ConversationEvent => ({
  type: 'MessageSent',
  data: {
    conversation_id: ID,
    message_id: `m-${seq}`,
    seq,
    sender_id: 'alice',
    sender_device_id: 'phone',
    client_msg_id: `k-${seq}`,
    content: `hello ${seq}`,
    content_type: 'text',
    timestamp: at,
  },
});
const retention = (days: number | null): ConversationEvent => ({
  type: 'RetentionChanged',
  data: { conversation_id: ID, retention_days: days, changed_by: 'alice', timestamp: T0 },
});
const expired = (upTo: number, horizon: number): ConversationEvent => ({
  type: 'MessagesExpired',
  data: { conversation_id: ID, up_to_seq: upTo, horizon, timestamp: horizon + DAY },
});

const set = (by: string, days: number | null): SetRetention => ({ type: 'SetRetention', conversation_id: ID, retention_days: days, by, timestamp: T0 + 1 });
const expire = (now: number, defaultDays: number | null = null): ExpireMessages => ({
  type: 'ExpireMessages',
  conversation_id: ID,
  default_days: defaultDays,
  day_ms: DAY,
  timestamp: now,
});

describe('retention is set by those who govern the conversation', () => {
  it('given a group, its admin sets it; a member who is no admin gets forbidden; a stranger conversation_not_found', () => {
    given([group])
      .when(set('alice', 30))
      .then([{ type: 'RetentionChanged', data: { conversation_id: ID, retention_days: 30, changed_by: 'alice', timestamp: T0 + 1 } }]);
    given([group]).when(set('bob', 30)).thenThrows('forbidden');
    given([group]).when(set('mallory', 30)).thenThrows('conversation_not_found');
  });
  it('given a direct conversation, either member sets it', () => assert.equal(given([direct]).when(set('bob', 7)).events()[0]!.type, 'RetentionChanged'));
  it('given the same retention, setting it again changes nothing; null goes back to the default', () => {
    given([group, retention(30)])
      .when(set('alice', 30))
      .thenNothing();
    assert.equal(
      (
        given([group, retention(30)])
          .when(set('alice', null))
          .events()[0]!.data as { retention_days: null }
      ).retention_days,
      null,
    );
  });
});

describe('expiry is an event: the messages sent before the horizon, a prefix of the seqs', () => {
  const history = [group, retention(2), sent(1, T0), sent(2, T0 + DAY), sent(3, T0 + 3 * DAY)];
  it('given messages on days 0, 1 and 3 and a 2-day retention, on day 3.5 the first two expire', () =>
    given(history)
      .when(expire(T0 + 3.5 * DAY))
      .then([{ type: 'MessagesExpired', data: { conversation_id: ID, up_to_seq: 2, horizon: T0 + 1.5 * DAY, timestamp: T0 + 3.5 * DAY } }]));
  it('given nothing has passed the horizon, nothing is appended', () =>
    given(history)
      .when(expire(T0 + DAY))
      .thenNothing());
  it('given they already expired, deciding again changes nothing (the sweep is idempotent)', () =>
    given([...history, expired(2, T0 + 1.5 * DAY)])
      .when(expire(T0 + 3.6 * DAY))
      .thenNothing());
  it('given no retention of its own, the server default rules; with none at all, nothing expires', () => {
    const plain = [group, sent(1, T0), sent(2, T0 + 5 * DAY)];
    assert.equal(
      (
        given(plain)
          .when(expire(T0 + 5 * DAY, 1))
          .events()[0]!.data as { up_to_seq: number }
      ).up_to_seq,
      1,
    );
    given(plain)
      .when(expire(T0 + 100 * DAY, null))
      .thenNothing();
  });
  it('given its own retention, it wins over the server default', () =>
    given([group, retention(30), sent(1, T0)])
      .when(expire(T0 + 2 * DAY, 1))
      .thenNothing());
  it('given a conversation that does not exist, nothing', () => given([]).when(expire(T0)).thenNothing());
  it('given an expired message, it is not found by an edit, a delete or a reply', () => {
    const gone = [...history, expired(2, T0 + 1.5 * DAY)];
    given(gone)
      .when({ type: 'EditMessage', conversation_id: ID, seq: 1, by: 'alice', content: 'x', edit_window_ms: 100 * DAY, timestamp: T0 + 4 * DAY })
      .thenThrows('message_not_found');
    given(gone)
      .when({ type: 'DeleteMessage', conversation_id: ID, seq: 2, by: 'alice', timestamp: T0 + 4 * DAY })
      .thenThrows('message_not_found');
    given(gone)
      .when({
        type: 'SendMessage',
        conversation_id: ID,
        message_id: 'r',
        sender_id: 'bob',
        sender_device_id: 'p',
        client_msg_id: 'r',
        content: 'reply',
        content_type: 'text',
        reply_to_seq: 1,
        timestamp: T0 + 4 * DAY,
      })
      .thenThrows('message_not_found');
  });
  it('given seqs keep counting after expiry, the next message takes the next seq', () => {
    const next = given([...history, expired(3, T0 + 4 * DAY)])
      .when({
        type: 'SendMessage',
        conversation_id: ID,
        message_id: 'n',
        sender_id: 'bob',
        sender_device_id: 'p',
        client_msg_id: 'n',
        content: 'new',
        content_type: 'text',
        timestamp: T0 + 5 * DAY,
      })
      .events();
    assert.equal((next[0]!.data as { seq: number }).seq, 4);
  });
});

describe('erasure is an event on the user stream, once', () => {
  const erased: UserEvent = { type: 'UserErased', data: { user_id: 'eve', by: 'user', timestamp: T0 } };
  it('given a user, EraseUser appends UserErased with who asked', () =>
    givenUser()
      .when({ type: 'EraseUser', user_id: 'eve', by: 'operator', timestamp: T0 })
      .then([{ type: 'UserErased', data: { user_id: 'eve', by: 'operator', timestamp: T0 } }]));
  it('given the user was erased, erasing again appends nothing (the keys are destroyed again by the caller)', () =>
    givenUser([erased])
      .when({ type: 'EraseUser', user_id: 'eve', by: 'user', timestamp: T0 + 1 })
      .thenNothing());
});

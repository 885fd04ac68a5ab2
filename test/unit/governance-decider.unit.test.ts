import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ConversationEvent, UserEvent } from '../../contracts/events.ts';
import type { CreateConversation, GrantAdmin, RemoveMember, RenameConversation, RevokeAdmin, SendMessage, UserCommand } from '../../contracts/commands.ts';
import { given, givenUser } from './given.ts';

const ID = 'g-1';
const T0 = 1_700_000_000_000;
const created = (by = 'alice', members = ['bob', 'carol']): ConversationEvent => ({
  type: 'ConversationCreated',
  data: { conversation_id: ID, kind: 'group', title: 'Team', created_by: by, member_ids: [by, ...members], timestamp: T0 },
});
const direct: ConversationEvent = {
  type: 'ConversationCreated',
  data: { conversation_id: 'd_1', kind: 'direct', title: null, created_by: 'alice', member_ids: ['alice', 'bob'], timestamp: T0 },
};
const granted = (user: string, by = 'alice'): ConversationEvent => ({
  type: 'AdminGranted',
  data: { conversation_id: ID, user_id: user, granted_by: by, reason: 'granted', timestamp: T0 + 1 },
});
const removed = (user: string, by = user): ConversationEvent => ({
  type: 'MemberRemoved',
  data: { conversation_id: ID, user_id: user, removed_by: by, timestamp: T0 + 2 },
});
const added = (users: string[]): ConversationEvent => ({
  type: 'MembersAdded',
  data: { conversation_id: ID, user_ids: users, added_by: 'alice', timestamp: T0 + 3 },
});

const grant = (by: string, user: string): GrantAdmin => ({ type: 'GrantAdmin', conversation_id: ID, user_id: user, by, timestamp: T0 + 10 });
const revoke = (by: string, user: string): RevokeAdmin => ({ type: 'RevokeAdmin', conversation_id: ID, user_id: user, by, timestamp: T0 + 10 });
const rename = (by: string, title = 'Renamed', id = ID): RenameConversation => ({
  type: 'RenameConversation',
  conversation_id: id,
  title,
  by,
  timestamp: T0 + 10,
});
const remove = (by: string, user: string): RemoveMember => ({ type: 'RemoveMember', conversation_id: ID, user_id: user, by, timestamp: T0 + 10 });

describe('admins', () => {
  it('given a group, its creator is its admin and may make a member admin', () =>
    given([created()])
      .when(grant('alice', 'bob'))
      .then([{ type: 'AdminGranted', data: { conversation_id: ID, user_id: 'bob', granted_by: 'alice', reason: 'granted', timestamp: T0 + 10 } }]));
  it('given bob is no admin, when bob grants, then forbidden', () => given([created()]).when(grant('bob', 'carol')).thenThrows('forbidden'));
  it('given a non-member target, then invalid_request', () => given([created()]).when(grant('alice', 'mallory')).thenThrows('invalid_request'));
  it('given bob already admin, granting again changes nothing', () =>
    given([created(), granted('bob')])
      .when(grant('alice', 'bob'))
      .thenNothing());
  it('given two admins, one may revoke the other', () =>
    assert.equal(
      given([created(), granted('bob')])
        .when(revoke('bob', 'alice'))
        .events()[0]!.type,
      'AdminRevoked',
    ));
  it('given alice the only admin, when she revokes herself, then last_admin', () => given([created()]).when(revoke('alice', 'alice')).thenThrows('last_admin'));
  it('given carol is no admin, revoking her changes nothing', () => given([created()]).when(revoke('alice', 'carol')).thenNothing());
  it('given a direct conversation, then admins are invalid_request', () =>
    given([direct]).when({ type: 'GrantAdmin', conversation_id: 'd_1', user_id: 'bob', by: 'alice', timestamp: T0 }).thenThrows('invalid_request'));
  it('given bob made admin, he may remove carol; once removed himself, he may not', () => {
    assert.equal(
      given([created(), granted('bob')])
        .when(remove('bob', 'carol'))
        .events()[0]!.type,
      'MemberRemoved',
    );
    given([created(), granted('bob'), removed('bob', 'alice'), added(['bob'])])
      .when(remove('bob', 'carol'))
      .thenThrows('forbidden');
  });
  it('given alice the last admin leaves, then the longest-standing member succeeds her in the same decision', () =>
    given([created('alice', ['bob', 'carol'])])
      .when(remove('alice', 'alice'))
      .then([
        { type: 'MemberRemoved', data: { conversation_id: ID, user_id: 'alice', removed_by: 'alice', timestamp: T0 + 10 } },
        { type: 'AdminGranted', data: { conversation_id: ID, user_id: 'bob', granted_by: 'alice', reason: 'succession', timestamp: T0 + 10 } },
      ]));
  it('given bob left and came back, carol is longer-standing and succeeds', () =>
    assert.deepEqual(
      given([created(), removed('bob'), added(['bob'])])
        .when(remove('alice', 'alice'))
        .events()
        .map((e) => (e.data as { user_id: string }).user_id),
      ['alice', 'carol'],
    ));
  it('given another admin remains, the last one leaving appoints nobody', () =>
    assert.equal(
      given([created(), granted('carol')])
        .when(remove('alice', 'alice'))
        .events().length,
      1,
    ));
  it('given the last member leaves, nobody is appointed', () =>
    assert.equal(
      given([created('alice', [])])
        .when(remove('alice', 'alice'))
        .events().length,
      1,
    ));
});

describe('rename', () => {
  it('given an admin, then ConversationRenamed', () =>
    given([created()])
      .when(rename('alice'))
      .then([{ type: 'ConversationRenamed', data: { conversation_id: ID, title: 'Renamed', renamed_by: 'alice', timestamp: T0 + 10 } }]));
  it('given a member who is no admin, then forbidden; a stranger, conversation_not_found; the same title, nothing', () => {
    given([created()]).when(rename('bob')).thenThrows('forbidden');
    given([created()]).when(rename('mallory')).thenThrows('conversation_not_found');
    given([created()]).when(rename('alice', 'Team')).thenNothing();
  });
  it('given a direct conversation, then invalid_request', () =>
    given([direct])
      .when(rename('alice', 'x', 'd_1'))
      .thenThrows('invalid_request'));
});

describe('blocks in direct conversations (decided with the command: has the other blocked the sender?)', () => {
  const send = (blocked: boolean): SendMessage => ({
    type: 'SendMessage',
    conversation_id: 'd_1',
    message_id: 'm',
    sender_id: 'bob',
    sender_device_id: 'p',
    client_msg_id: 'k',
    content: 'hi',
    content_type: 'text',
    timestamp: T0 + 5,
    blocked,
  });
  const create = (blocked: boolean): CreateConversation => ({
    type: 'CreateConversation',
    conversation_id: 'd_1',
    kind: 'direct',
    title: null,
    created_by: 'bob',
    member_ids: ['alice'],
    max_members: 2,
    timestamp: T0,
    blocked,
  });
  it("given alice blocked bob, bob's send is refused with blocked, and nothing is appended", () => given([direct]).when(send(true)).thenThrows('blocked'));
  it('given no block, bob sends', () => assert.equal(given([direct]).when(send(false)).events().length, 1));
  it('given alice blocked bob, bob cannot open the direct conversation', () => given([]).when(create(true)).thenThrows('blocked'));
});

describe('user settings: mute, block, privacy', () => {
  const mute = (until: number | null, conversation = ID): UserCommand => ({
    type: 'MuteConversation',
    user_id: 'bob',
    conversation_id: conversation,
    until,
    timestamp: T0 + 100,
  });
  const muted = (until: number | null): UserEvent => ({ type: 'ConversationMuted', data: { user_id: 'bob', conversation_id: ID, until, timestamp: T0 + 50 } });
  it('given a member, muting until a future time or until unmuted appends ConversationMuted', () => {
    givenUser([], [created()])
      .when(mute(T0 + 5_000))
      .then([{ type: 'ConversationMuted', data: { user_id: 'bob', conversation_id: ID, until: T0 + 5_000, timestamp: T0 + 100 } }]);
    assert.equal(givenUser([], [created()]).when(mute(null)).events().length, 1);
  });
  it('given a time in the past (or now, or past ten years), then invalid_request', () => {
    for (const until of [T0, T0 + 100, T0 + 11 * 365 * 24 * 3600 * 1000]) givenUser([], [created()]).when(mute(until)).thenThrows('invalid_request');
  });
  it('given a non-member, muting is conversation_not_found', () =>
    givenUser([], [created('alice', ['carol'])])
      .when(mute(null))
      .thenThrows('conversation_not_found'));
  it('given the same mute, nothing; unmuting a mute that ran out, nothing; unmuting a live one, ConversationUnmuted', () => {
    givenUser([muted(null)], [created()])
      .when(mute(null))
      .thenNothing();
    givenUser([muted(T0 + 60)], [])
      .when({ type: 'UnmuteConversation', user_id: 'bob', conversation_id: ID, timestamp: T0 + 100 })
      .thenNothing();
    assert.equal(
      givenUser([muted(null)], [])
        .when({ type: 'UnmuteConversation', user_id: 'bob', conversation_id: ID, timestamp: T0 + 100 })
        .events()[0]!.type,
      'ConversationUnmuted',
    );
  });
  it('blocks and unblocks idempotently, never oneself', () => {
    const block: UserCommand = { type: 'BlockUser', user_id: 'bob', blocked_user_id: 'mallory', timestamp: T0 };
    assert.equal(givenUser().when(block).events()[0]!.type, 'UserBlocked');
    givenUser([{ type: 'UserBlocked', data: { user_id: 'bob', blocked_user_id: 'mallory', timestamp: T0 } }])
      .when(block)
      .thenNothing();
    givenUser().when({ type: 'UnblockUser', user_id: 'bob', blocked_user_id: 'mallory', timestamp: T0 }).thenNothing();
    givenUser().when({ type: 'BlockUser', user_id: 'bob', blocked_user_id: 'bob', timestamp: T0 }).thenThrows('invalid_request');
  });
  it('sets last-seen privacy, and setting it again changes nothing', () => {
    assert.equal(givenUser().when({ type: 'SetPrivacy', user_id: 'bob', last_seen: 'nobody', timestamp: T0 }).events()[0]!.type, 'PrivacyChanged');
    givenUser().when({ type: 'SetPrivacy', user_id: 'bob', last_seen: 'everyone', timestamp: T0 }).thenNothing();
  });
});

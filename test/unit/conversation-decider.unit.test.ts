import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ConversationEvent, MessageSent } from '../../contracts/events.ts';
import type { AddMembers, CreateConversation, RemoveMember, SendMessage } from '../../contracts/commands.ts';
import { DEDUP_MAX_ENTRIES, DEDUP_WINDOW_MS } from '../../command-side/conversations/decider.ts';
import { given } from './given.ts';

const ID = 'c-1';
const T0 = 1_700_000_000_000;
const MAX = 5;

// ---- events ---------------------------------------------------------------------------------

const groupCreated = (members: string[], by = 'alice', ts = T0): ConversationEvent => ({
  type: 'ConversationCreated',
  data: { conversation_id: ID, kind: 'group', title: 'Team', created_by: by, member_ids: [by, ...members.filter((m) => m !== by)], timestamp: ts },
});
const directCreated = (a: string, b: string, ts = T0): ConversationEvent => ({
  type: 'ConversationCreated',
  data: { conversation_id: ID, kind: 'direct', title: null, created_by: a, member_ids: [a, b], timestamp: ts },
});
const membersAdded = (userIds: string[], by = 'alice', ts = T0): ConversationEvent => ({
  type: 'MembersAdded',
  data: { conversation_id: ID, user_ids: userIds, added_by: by, timestamp: ts },
});
const memberRemoved = (userId: string, by = userId, ts = T0): ConversationEvent => ({
  type: 'MemberRemoved',
  data: { conversation_id: ID, user_id: userId, removed_by: by, timestamp: ts },
});
const messageSent = (seq: number, sender: string, clientMsgId: string, ts = T0 + seq): ConversationEvent => ({
  type: 'MessageSent',
  data: {
    conversation_id: ID,
    message_id: `m-${seq}`,
    seq,
    sender_id: sender,
    sender_device_id: `${sender}-phone`,
    client_msg_id: clientMsgId,
    content: `hello ${seq}`,
    content_type: 'text',
    timestamp: ts,
  },
});

// ---- commands -------------------------------------------------------------------------------

const createGroup = (by: string, members: string[], max = MAX, title: string | null = 'Team'): CreateConversation => ({
  type: 'CreateConversation',
  conversation_id: ID,
  kind: 'group',
  title,
  created_by: by,
  member_ids: members,
  max_members: max,
  timestamp: T0,
});
const createDirect = (by: string, peer: string, title: string | null = null): CreateConversation => ({
  type: 'CreateConversation',
  conversation_id: ID,
  kind: 'direct',
  title,
  created_by: by,
  member_ids: [peer],
  max_members: MAX,
  timestamp: T0,
});
const add = (by: string, userIds: string[], max = MAX): AddMembers => ({
  type: 'AddMembers',
  conversation_id: ID,
  user_ids: userIds,
  by,
  max_members: max,
  timestamp: T0 + 100,
});
const remove = (by: string, userId: string): RemoveMember => ({
  type: 'RemoveMember',
  conversation_id: ID,
  user_id: userId,
  by,
  timestamp: T0 + 100,
});
const send = (sender: string, clientMsgId: string, ts = T0 + 1_000, messageId = `new-${sender}-${clientMsgId}`): SendMessage => ({
  type: 'SendMessage',
  conversation_id: ID,
  message_id: messageId,
  sender_id: sender,
  sender_device_id: `${sender}-laptop`,
  client_msg_id: clientMsgId,
  content: 'héllo ✓ wörld',
  content_type: 'text',
  timestamp: ts,
});

/** The MessageSent that `send(...)` must produce at `seq`: every field copied from the command. */
const expectedSent = (command: SendMessage, seq: number): ConversationEvent => {
  const { type: _, ...fields } = command;
  const data: MessageSent = { ...fields, seq };
  return { type: 'MessageSent', data };
};

const group = groupCreated(['bob', 'carol']);

describe('conversation decider: create a direct conversation', () => {
  it('given nothing, when alice creates a direct with bob, then a direct with exactly alice and bob is created', () => {
    given([])
      .when(createDirect('alice', 'bob'))
      .then([
        {
          type: 'ConversationCreated',
          data: { conversation_id: ID, kind: 'direct', title: null, created_by: 'alice', member_ids: ['alice', 'bob'], timestamp: T0 },
        },
      ]);
  });

  it('given nothing, when alice creates a direct with a title, then the title is dropped', () => {
    const [event] = given([])
      .when(createDirect('alice', 'bob', 'ignored'))
      .events();
    assert.equal(event?.type, 'ConversationCreated');
    assert.equal(event.type === 'ConversationCreated' ? event.data.title : undefined, null);
  });

  it('given nothing, when alice creates a direct with herself, then it fails with invalid_request', () => {
    given([]).when(createDirect('alice', 'alice')).thenThrows('invalid_request');
  });

  it('given nothing, when alice creates a direct listing herself and bob, then the members are alice and bob', () => {
    const command: CreateConversation = { ...createDirect('alice', 'bob'), member_ids: ['alice', 'bob', 'bob'] };
    const [event] = given([]).when(command).events();
    assert.deepEqual(event?.type === 'ConversationCreated' ? event.data.member_ids : null, ['alice', 'bob']);
  });

  it('given nothing, when alice creates a direct with bob and carol, then it fails with invalid_request', () => {
    given([])
      .when({ ...createDirect('alice', 'bob'), member_ids: ['bob', 'carol'] })
      .thenThrows('invalid_request');
  });

  it('given nothing, when alice creates a direct with no peer, then it fails with invalid_request', () => {
    given([])
      .when({ ...createDirect('alice', 'bob'), member_ids: [] })
      .thenThrows('invalid_request');
  });

  it('given a direct between alice and bob, when alice creates it again, then nothing happens', () => {
    given([directCreated('alice', 'bob')])
      .when(createDirect('alice', 'bob'))
      .thenNothing();
  });

  it('given a direct between alice and bob, when bob creates it from his side, then nothing happens', () => {
    given([directCreated('alice', 'bob')])
      .when(createDirect('bob', 'alice'))
      .thenNothing();
  });

  it('given a direct, when a group is created with the same id, then it fails with version_conflict', () => {
    given([directCreated('alice', 'bob')])
      .when(createGroup('alice', ['bob']))
      .thenThrows('version_conflict');
  });
});

describe('conversation decider: create a group', () => {
  it('given nothing, when alice creates a group with bob and carol, then alice is added as a member', () => {
    given([])
      .when(createGroup('alice', ['bob', 'carol']))
      .then([
        {
          type: 'ConversationCreated',
          data: { conversation_id: ID, kind: 'group', title: 'Team', created_by: 'alice', member_ids: ['alice', 'bob', 'carol'], timestamp: T0 },
        },
      ]);
  });

  it('given nothing, when alice creates a group listing members twice and herself, then duplicates are removed', () => {
    const [event] = given([])
      .when(createGroup('alice', ['bob', 'alice', 'carol', 'bob']))
      .events();
    assert.deepEqual(event?.type === 'ConversationCreated' ? event.data.member_ids : null, ['alice', 'bob', 'carol']);
  });

  it('given nothing, when alice creates a group with no one else, then a group of one is created', () => {
    const [event] = given([]).when(createGroup('alice', [])).events();
    assert.deepEqual(event?.type === 'ConversationCreated' ? event.data.member_ids : null, ['alice']);
  });

  it('given nothing, when alice creates a group one over max_members, then it fails with group_too_large', () => {
    given([])
      .when(createGroup('alice', ['b', 'c', 'd', 'e', 'f'], 5))
      .thenThrows('group_too_large');
  });

  it('given nothing, when alice creates a group of exactly max_members, then it is created', () => {
    const [event] = given([])
      .when(createGroup('alice', ['b', 'c', 'd', 'e'], 5))
      .events();
    assert.equal(event?.type === 'ConversationCreated' ? event.data.member_ids.length : 0, 5);
  });

  it('given nothing, when alice creates a group whose duplicates collapse to max_members, then it is created', () => {
    const [event] = given([])
      .when(createGroup('alice', ['alice', 'b', 'c', 'b', 'd', 'e', 'e'], 5))
      .events();
    assert.equal(event?.type === 'ConversationCreated' ? event.data.member_ids.length : 0, 5);
  });

  it('given a group, when a group with the same id is created again, then it fails with version_conflict', () => {
    given([group])
      .when(createGroup('alice', ['bob', 'carol']))
      .thenThrows('version_conflict');
  });

  it('given a group, when a direct with the same id is created, then it fails with version_conflict', () => {
    given([group]).when(createDirect('alice', 'bob')).thenThrows('version_conflict');
  });
});

describe('conversation decider: add members', () => {
  it('given a group of alice, bob and carol, when bob adds dave, then dave is added by bob', () => {
    given([group])
      .when(add('bob', ['dave']))
      .then([
        {
          type: 'MembersAdded',
          data: { conversation_id: ID, user_ids: ['dave'], added_by: 'bob', timestamp: T0 + 100 },
        },
      ]);
  });

  it('given a group, when a member adds existing members and new ones, then only the new ones are added, once', () => {
    given([group])
      .when(add('alice', ['bob', 'dave', 'erin', 'dave']))
      .then([
        {
          type: 'MembersAdded',
          data: { conversation_id: ID, user_ids: ['dave', 'erin'], added_by: 'alice', timestamp: T0 + 100 },
        },
      ]);
  });

  it('given a group, when a member adds only people who are already members, then nothing happens', () => {
    given([group])
      .when(add('alice', ['bob', 'carol', 'alice']))
      .thenNothing();
  });

  it('given a group without dave, when dave adds erin, then it fails with conversation_not_found', () => {
    given([group])
      .when(add('dave', ['erin']))
      .thenThrows('conversation_not_found');
  });

  it('given no conversation, when alice adds bob, then it fails with conversation_not_found', () => {
    given([])
      .when(add('alice', ['bob']))
      .thenThrows('conversation_not_found');
  });

  it('given a group carol left, when carol adds dave, then it fails with not_a_member', () => {
    given([group, memberRemoved('carol')])
      .when(add('carol', ['dave']))
      .thenThrows('not_a_member');
  });

  it('given a group carol left, when alice adds carol back, then carol is added', () => {
    given([group, memberRemoved('carol')])
      .when(add('alice', ['carol']))
      .then([
        {
          type: 'MembersAdded',
          data: { conversation_id: ID, user_ids: ['carol'], added_by: 'alice', timestamp: T0 + 100 },
        },
      ]);
  });

  it('given a group of 3 with max 5, when 3 new members are added, then it fails with group_too_large', () => {
    given([group])
      .when(add('alice', ['d', 'e', 'f'], 5))
      .thenThrows('group_too_large');
  });

  it('given a group of 3 with max 5, when 2 new members are added, then the group reaches exactly max_members', () => {
    given([group])
      .when(add('alice', ['d', 'e'], 5))
      .then([
        {
          type: 'MembersAdded',
          data: { conversation_id: ID, user_ids: ['d', 'e'], added_by: 'alice', timestamp: T0 + 100 },
        },
      ]);
  });

  it('given a group of 3 with max 5, when 2 new members and existing ones are added, then existing ones do not count', () => {
    given([group])
      .when(add('alice', ['bob', 'carol', 'd', 'e'], 5))
      .then([
        {
          type: 'MembersAdded',
          data: { conversation_id: ID, user_ids: ['d', 'e'], added_by: 'alice', timestamp: T0 + 100 },
        },
      ]);
  });

  it('given a direct between alice and bob, when alice adds carol, then it fails with invalid_request', () => {
    given([directCreated('alice', 'bob')])
      .when(add('alice', ['carol']))
      .thenThrows('invalid_request');
  });
});

describe('conversation decider: remove a member', () => {
  it('given a group, when bob removes himself, then bob leaves', () => {
    given([group])
      .when(remove('bob', 'bob'))
      .then([
        {
          type: 'MemberRemoved',
          data: { conversation_id: ID, user_id: 'bob', removed_by: 'bob', timestamp: T0 + 100 },
        },
      ]);
  });

  it('given a group created by alice, when alice removes bob, then bob is removed by alice', () => {
    given([group])
      .when(remove('alice', 'bob'))
      .then([
        {
          type: 'MemberRemoved',
          data: { conversation_id: ID, user_id: 'bob', removed_by: 'alice', timestamp: T0 + 100 },
        },
      ]);
  });

  it('given a group created by alice, when alice (its only admin) leaves, then alice is removed and the longest-standing member becomes admin', () => {
    given([group])
      .when(remove('alice', 'alice'))
      .then([
        { type: 'MemberRemoved', data: { conversation_id: ID, user_id: 'alice', removed_by: 'alice', timestamp: T0 + 100 } },
        { type: 'AdminGranted', data: { conversation_id: ID, user_id: 'bob', granted_by: 'alice', reason: 'succession', timestamp: T0 + 100 } },
      ]);
  });

  it('given a group created by alice, when bob removes carol, then it fails with forbidden', () => {
    given([group]).when(remove('bob', 'carol')).thenThrows('forbidden');
  });

  it('given a group created by alice, when bob removes alice, then it fails with forbidden', () => {
    given([group]).when(remove('bob', 'alice')).thenThrows('forbidden');
  });

  it('given a group without dave, when alice removes dave, then nothing happens', () => {
    given([group]).when(remove('alice', 'dave')).thenNothing();
  });

  it('given a group bob already left, when bob leaves again, then it fails with not_a_member', () => {
    given([group, memberRemoved('bob')])
      .when(remove('bob', 'bob'))
      .thenThrows('not_a_member');
  });

  it('given a group bob already left, when alice removes bob again, then nothing happens', () => {
    given([group, memberRemoved('bob')])
      .when(remove('alice', 'bob'))
      .thenNothing();
  });

  it('given a group without dave, when dave removes bob, then it fails with conversation_not_found', () => {
    given([group]).when(remove('dave', 'bob')).thenThrows('conversation_not_found');
  });

  it('given a direct between alice and bob, when alice leaves, then it fails with invalid_request', () => {
    given([directCreated('alice', 'bob')])
      .when(remove('alice', 'alice'))
      .thenThrows('invalid_request');
  });
});

describe('conversation decider: send a message', () => {
  it('given a new group, when alice sends, then the message gets seq 1 and every field of the command', () => {
    const command = send('alice', 'k1');
    given([group])
      .when(command)
      .then([expectedSent(command, 1)]);
  });

  it('given a group with 3 messages, when bob sends, then the message gets seq 4', () => {
    const history = [group, messageSent(1, 'alice', 'a1'), messageSent(2, 'bob', 'b1'), messageSent(3, 'carol', 'c1')];
    const command = send('bob', 'b2');
    given(history)
      .when(command)
      .then([expectedSent(command, 4)]);
  });

  it('given a group, when members send several messages in turn, then seqs are gapless 1..n', () => {
    const history: ConversationEvent[] = [group];
    const senders = ['alice', 'bob', 'carol', 'alice', 'alice', 'bob'];
    senders.forEach((sender, i) => {
      const events = given(history)
        .when(send(sender, `k${i}`))
        .events();
      assert.equal(events.length, 1);
      const event = events[0]!;
      assert.equal(event.type === 'MessageSent' ? event.data.seq : 0, i + 1);
      history.push(event);
    });
  });

  it('given a group where membership changed between messages, when alice sends, then seq still follows the last message', () => {
    const history = [group, messageSent(1, 'alice', 'a1'), membersAdded(['dave']), memberRemoved('carol'), messageSent(2, 'dave', 'd1')];
    const command = send('alice', 'a2');
    given(history)
      .when(command)
      .then([expectedSent(command, 3)]);
  });

  it('given a direct between alice and bob, when bob sends, then the message gets seq 1', () => {
    const command = send('bob', 'k1');
    given([directCreated('alice', 'bob')])
      .when(command)
      .then([expectedSent(command, 1)]);
  });

  it('given a group without carol, when carol sends, then it fails with conversation_not_found', () => {
    given([groupCreated(['bob'])])
      .when(send('carol', 'k1'))
      .thenThrows('conversation_not_found');
  });

  it('given no conversation, when alice sends, then it fails with conversation_not_found', () => {
    given([]).when(send('alice', 'k1')).thenThrows('conversation_not_found');
  });

  it('given a group carol was removed from, when carol sends, then it fails with not_a_member', () => {
    given([group, memberRemoved('carol', 'alice')])
      .when(send('carol', 'k1'))
      .thenThrows('not_a_member');
  });

  it('given a group carol left and was added back to, when carol sends, then the message is appended', () => {
    const history = [group, messageSent(1, 'carol', 'c1'), memberRemoved('carol'), membersAdded(['carol'])];
    const command = send('carol', 'c2');
    given(history)
      .when(command)
      .then([expectedSent(command, 2)]);
  });
});

describe('conversation decider: retries (dedup by sender and client_msg_id)', () => {
  it('given alice sent k1, when alice sends k1 again, then nothing happens', () => {
    given([group, messageSent(1, 'alice', 'k1')])
      .when(send('alice', 'k1'))
      .thenNothing();
  });

  it('given alice sent k1 and others sent since, when alice retries k1, then nothing happens', () => {
    const history = [group, messageSent(1, 'alice', 'k1'), messageSent(2, 'bob', 'b1'), messageSent(3, 'alice', 'k2')];
    given(history).when(send('alice', 'k1')).thenNothing();
  });

  it('given alice sent k1, when bob sends with the same client_msg_id, then a new message is appended', () => {
    const command = send('bob', 'k1');
    given([group, messageSent(1, 'alice', 'k1')])
      .when(command)
      .then([expectedSent(command, 2)]);
  });

  it('given alice sent k1 then left and came back, when alice retries k1, then nothing happens', () => {
    const history = [group, messageSent(1, 'alice', 'k1'), memberRemoved('alice'), membersAdded(['alice'], 'bob')];
    given(history).when(send('alice', 'k1')).thenNothing();
  });

  // The chosen window: DEDUP_WINDOW_MS (24 h). An entry exactly DEDUP_WINDOW_MS older than the
  // newest message is still answered; one millisecond older is evicted, and a retry after that
  // appends a new message.
  it('documents the chosen dedup window as 24 hours', () => {
    assert.equal(DEDUP_WINDOW_MS, 24 * 60 * 60 * 1000);
  });

  it('given alice sent k1 and bob sent exactly DEDUP_WINDOW_MS later, when alice retries k1, then nothing happens', () => {
    const history = [group, messageSent(1, 'alice', 'k1', T0), messageSent(2, 'bob', 'b1', T0 + DEDUP_WINDOW_MS)];
    given(history)
      .when(send('alice', 'k1', T0 + DEDUP_WINDOW_MS))
      .thenNothing();
  });

  it('given alice sent k1 and bob sent more than DEDUP_WINDOW_MS later, when alice retries k1 very late, then a new message is appended', () => {
    const history = [group, messageSent(1, 'alice', 'k1', T0), messageSent(2, 'bob', 'b1', T0 + DEDUP_WINDOW_MS + 1)];
    const command = send('alice', 'k1', T0 + DEDUP_WINDOW_MS + 2);
    given(history)
      .when(command)
      .then([expectedSent(command, 3)]);
  });

  it('given alice sent k1 and nothing was sent since, when alice retries k1 more than DEDUP_WINDOW_MS later, then a new message is appended', () => {
    // The window is measured from the retry's own time: whether a very late retry is deduplicated
    // must not depend on whether someone else happened to write in the conversation meanwhile.
    const command = send('alice', 'k1', T0 + DEDUP_WINDOW_MS + 1);
    given([group, messageSent(1, 'alice', 'k1', T0)])
      .when(command)
      .then([expectedSent(command, 2)]);
  });

  it('given alice sent k1 and nothing was sent since, when alice retries k1 within DEDUP_WINDOW_MS, then nothing happens', () => {
    given([group, messageSent(1, 'alice', 'k1', T0)])
      .when(send('alice', 'k1', T0 + DEDUP_WINDOW_MS))
      .thenNothing();
  });

  it('given DEDUP_MAX_ENTRIES + 1 messages within the window, when the oldest is retried, then it is appended, and the next oldest is not', () => {
    const history: ConversationEvent[] = [group];
    for (let seq = 1; seq <= DEDUP_MAX_ENTRIES + 1; seq++) history.push(messageSent(seq, 'alice', `k${seq}`, T0));
    const oldest = send('alice', 'k1', T0);
    given(history)
      .when(oldest)
      .then([expectedSent(oldest, DEDUP_MAX_ENTRIES + 2)]);
    given(history)
      .when(send('alice', 'k2', T0))
      .thenNothing();
  });
});

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { NatterEvent } from '../../contracts/events.ts';
import type { Delivery, Outbound } from '../../ports/delivery.ts';
import type { DirectoryStore } from '../../ports/read-models.ts';
import type { Recorded } from '../../ports/projector.ts';
import { directoryProjector } from '../../projections/directory/projector.ts';
import { fanoutReactor, type FanoutOptions } from '../../projections/fanout/reactor.ts';
import { requireEngines } from '../support/engines.ts';
import type { Backend, Opened } from '../support/projection-spec.ts';
import { redisReadModels, sqliteReadModels, storeOf } from '../support/read-model-backends.ts';
import { added, created, deleted, delivered, edited, reacted, read, recorder, removed, sent, unreacted, uid } from '../support/events.ts';

const env = await requireEngines('redis');

// The embedded process fans out from the SQLite directory, the cluster's projector workers from Redis.
const backends: Backend<DirectoryStore>[] = [
  { name: 'sqlite', open: () => sqliteReadModels().then(storeOf('directory')) },
  { name: 'redis', open: () => redisReadModels(env).then(storeOf('directory')) },
];

type Reached = { to: string[]; kind: Outbound['kind']; frame: Record<string, any>; position: number };

/**
 * Given these events (applied to the directory, then to the fan-out reactor, as the runtime does),
 * when these, then these frames reached these users: a recording Delivery keeps what `when` sent.
 */
const fanoutSpec = (open: () => Promise<Opened<DirectoryStore>>, options: FanoutOptions = {}) => {
  let opened: Opened<DirectoryStore> | undefined;
  before(async () => {
    opened = await open();
  });
  after(async () => {
    await opened?.close();
  });
  return (given: NatterEvent[]) => ({
    when: (events: NatterEvent[]) => ({
      then: async (check: (reached: Reached[], log: Recorded[]) => void) => {
        const directory = opened!.store;
        const reached: Reached[] = [];
        const delivery: Delivery = {
          deliver: (to, frame) => {
            reached.push({ to: [...to].sort(), kind: frame.kind, frame: JSON.parse(frame.json), position: frame.position });
          },
        };
        const reactor = fanoutReactor(directory, delivery, options);
        const apply = async (batch: Recorded[]) => {
          await directoryProjector(directory).handle(batch);
          await reactor.react(batch);
        };
        const record = recorder();
        const past = record(given);
        await apply(past);
        reached.length = 0;
        const now = record(events);
        await apply(now);
        check(reached, [...past, ...now]);
      },
    }),
  });
};

/** Per user, a short line for each frame that reached them, in order. */
const linesPerUser = (reached: Reached[]) => {
  const lines: Record<string, string[]> = {};
  for (const { to, frame } of reached) {
    const line =
      frame.type === 'new_message'
        ? `new_message ${frame.seq}`
        : frame.type === 'message_status'
          ? `${frame.status} ${frame.user_id} ${frame.up_to_seq}`
          : frame.type === 'message_updated'
            ? `message_updated ${frame.seq}${frame.deleted ? ' deleted' : ` "${frame.content}"`}`
            : frame.type === 'reaction'
              ? `reaction ${frame.op} ${frame.emoji} ${frame.seq}`
              : `conversation_updated${frame.removed ? ' removed' : ''} [${frame.members.length}]`;
    for (const user of to) (lines[user] ??= []).push(line);
  }
  return lines;
};

for (const backend of backends) {
  describe(`fan-out reactor specs: ${backend.name}`, () => {
    const given = fanoutSpec(backend.open, { statusFanoutMaxMembers: 3 });
    const people = () => ({ g: uid('g'), a: uid('alice'), b: uid('bob'), c: uid('carol'), d: uid('dave') });

    it('given a group, when alice sends, then one frame reaches every member, alice included (for her other devices), with the message and its cursor', async () => {
      const { g, a, b, c } = people();
      await given([created(g, [a, b, c])])
        .when([sent(g, 1, a, { device: 'laptop' })])
        .then((reached, log) => {
          assert.equal(reached.length, 1, 'serialized and delivered once for all members');
          assert.deepEqual(reached[0], {
            to: [a, b, c].sort(),
            kind: 'message',
            position: log[1]!.position,
            frame: {
              type: 'new_message',
              message_id: `m-1-${g}`,
              conversation_id: g,
              seq: 1,
              sender_id: a,
              content: 'message 1',
              content_type: 'text',
              client_msg_id: 'k-1',
              timestamp: log[1]!.data.timestamp,
              cursor: String(log[1]!.position),
              edited_at: null,
              deleted: false,
              erased: false,
              reply_to_seq: null,
              reply_count: 0,
              mentions: [],
              reactions: [],
            },
          });
        });
    });

    it('given a group, when messages, receipts and a new member follow, then each frame reaches the members of that moment, in log order', async () => {
      const { g, a, b, c, d } = people();
      await given([created(g, [a, b, c])])
        .when([sent(g, 1, a), delivered(g, b, 1), read(g, c, 1), added(g, [d], { by: a }), sent(g, 2, b)])
        .then((reached) => {
          const all = ['new_message 1', `delivered ${b} 1`, `read ${c} 1`];
          assert.deepEqual(linesPerUser(reached), {
            [a]: [...all, 'conversation_updated [4]', 'new_message 2'],
            [b]: [...all, 'conversation_updated [4]', 'new_message 2'],
            [c]: [...all, 'conversation_updated [4]', 'new_message 2'],
            [d]: ['conversation_updated [4]', 'new_message 2'],
          });
        });
    });

    it('given a group above statusFanoutMaxMembers, when bob reads, then his receipt goes to bob alone, while messages still reach everyone', async () => {
      const { g, a, b, c, d } = people();
      await given([created(g, [a, b, c, d])])
        .when([sent(g, 1, a), delivered(g, b, 1), read(g, b, 1)])
        .then((reached) => {
          assert.deepEqual(linesPerUser(reached), {
            [a]: ['new_message 1'],
            [c]: ['new_message 1'],
            [d]: ['new_message 1'],
            [b]: ['new_message 1', `delivered ${b} 1`, `read ${b} 1`],
          });
          assert.deepEqual(
            reached.filter((r) => r.kind === 'status').map((r) => r.to),
            [[b], [b]],
          );
        });
    });

    it('given a group at statusFanoutMaxMembers, when bob reads, then his receipt reaches every member', async () => {
      const { g, a, b, c } = people();
      await given([created(g, [a, b, c]), sent(g, 1, a)])
        .when([read(g, b, 1)])
        .then((reached) => {
          assert.deepEqual(
            reached.map((r) => [r.kind, r.to]),
            [['status', [a, b, c].sort()]],
          );
        });
    });

    it('given a group, when carol is removed, then she gets the removed frame and nothing after it; the others get the new member list', async () => {
      const { g, a, b, c } = people();
      await given([created(g, [a, b, c]), sent(g, 1, a)])
        .when([removed(g, c, { by: a }), sent(g, 2, a), read(g, b, 2)])
        .then((reached) => {
          const lines = linesPerUser(reached);
          assert.deepEqual(lines[c], ['conversation_updated removed [0]']);
          assert.deepEqual(lines[a], ['conversation_updated [2]', 'new_message 2', `read ${b} 2`]);
          const removal = reached.find((r) => r.frame.removed);
          assert.deepEqual(removal?.frame, {
            type: 'conversation_updated',
            conversation_id: g,
            kind: 'group',
            title: 'Team',
            members: [],
            admins: [],
            removed: true,
            cursor: removal?.frame.cursor,
          });
          const update = reached.find((r) => r.kind === 'conversation' && !r.frame.removed);
          assert.deepEqual(update?.frame.members.sort(), [a, b].sort());
        });
    });

    it('given carol removed, when she is added back, then she gets the update and the messages after it again', async () => {
      const { g, a, b, c } = people();
      await given([created(g, [a, b, c]), removed(g, c)])
        .when([sent(g, 1, a), added(g, [c], { by: a }), sent(g, 2, b)])
        .then((reached) => {
          assert.deepEqual(linesPerUser(reached)[c], ['conversation_updated [3]', 'new_message 2']);
        });
    });

    it('given a group, when a message is edited, reacted to and deleted, then every member gets each change in order, the sender included', async () => {
      const { g, a, b, c } = people();
      await given([created(g, [a, b, c]), sent(g, 1, a)])
        .when([edited(g, 1, a, 'fixed', { at: 123 }), reacted(g, 1, b, '👍'), unreacted(g, 1, b, '👍'), deleted(g, 1, a)])
        .then((reached, log) => {
          const changes = ['message_updated 1 "fixed"', 'reaction add 👍 1', 'reaction remove 👍 1', 'message_updated 1 deleted'];
          assert.deepEqual(linesPerUser(reached), { [a]: changes, [b]: changes, [c]: changes });
          assert.deepEqual(
            reached.map((r) => r.kind),
            ['message', 'message', 'message', 'message'],
            'ordered with messages against sync',
          );
          assert.deepEqual(reached[0]!.frame, {
            type: 'message_updated',
            conversation_id: g,
            seq: 1,
            content: 'fixed',
            edited_at: 123,
            deleted: false,
            cursor: String(log[2]!.position),
          });
          assert.deepEqual(reached[3]!.frame, {
            type: 'message_updated',
            conversation_id: g,
            seq: 1,
            content: '',
            edited_at: null,
            deleted: true,
            cursor: String(log[5]!.position),
          });
        });
    });

    it('given carol removed, when a message she saw is edited or reacted to, then the change does not reach her', async () => {
      const { g, a, b, c } = people();
      await given([created(g, [a, b, c]), sent(g, 1, a), removed(g, c)])
        .when([edited(g, 1, a, 'fixed'), reacted(g, 1, b, '🎉')])
        .then((reached) => {
          assert.equal(linesPerUser(reached)[c], undefined);
          assert.deepEqual(
            reached.map((r) => r.to),
            [[a, b].sort(), [a, b].sort()],
          );
        });
    });

    it('given a conversation the directory does not know, when a message for it comes, then it reaches nobody', async () => {
      const { g, a } = people();
      await given([])
        .when([sent(g, 1, a)])
        .then((reached) => {
          assert.deepEqual(
            reached.flatMap((r) => r.to),
            [],
          );
        });
    });
  });
}

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { createSqliteReadModels } from '../../adapters/sqlite/read-models.ts';
import { readModelProjectors } from '../../projections/projectors.ts';
import type { Recorded } from '../../ports/projector.ts';
import type { NatterEvent } from '../../contracts/events.ts';
import type { ReadModels } from '../../ports/read-models.ts';

// The projectors keep, within a batch, only the writes that can change anything (the last message
// of a conversation, the highest watermark of a member), with membership events as barriers. So a
// log applied in big batches (live under load, a rebuild) must give the same read models as the
// same log applied one event at a time.

const USERS = ['ann', 'ben', 'cat', 'dan'];
const CONVERSATIONS = ['g1', 'g2'];

type Step =
  | { kind: 'send'; conversation: number; sender: number }
  | { kind: 'read' | 'delivered'; conversation: number; user: number; back: number }
  | { kind: 'add' | 'remove'; conversation: number; user: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('send' as const), conversation: fc.nat(1), sender: fc.nat(3) }) },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constantFrom('read' as const, 'delivered' as const), conversation: fc.nat(1), user: fc.nat(3), back: fc.nat(3) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constantFrom('add' as const, 'remove' as const), conversation: fc.nat(1), user: fc.nat(3) }) },
);

/** A log a decider could have written: members send, read and get added or removed. */
const toLog = (steps: Step[]): Recorded[] => {
  const log: Recorded[] = [];
  const seqs = [0, 0];
  const members = CONVERSATIONS.map(() => new Set(['ann', 'ben']));
  const push = (stream: string, event: NatterEvent) =>
    log.push({ ...event, stream, revision: log.length, position: log.length + 1, recordedAt: 0 } as Recorded);
  CONVERSATIONS.forEach((id) =>
    push(`conversation-${id}`, {
      type: 'ConversationCreated',
      data: { conversation_id: id, kind: 'group', title: id, created_by: 'ann', member_ids: ['ann', 'ben'], timestamp: 1 },
    }),
  );
  for (const s of steps) {
    const id = CONVERSATIONS[s.conversation]!;
    const inside = members[s.conversation]!;
    const timestamp = 1_000 + log.length;
    if (s.kind === 'send') {
      const sender = USERS[s.sender]!;
      if (!inside.has(sender)) continue;
      const seq = ++seqs[s.conversation]!;
      push(`conversation-${id}`, {
        type: 'MessageSent',
        data: {
          conversation_id: id,
          message_id: `m-${id}-${seq}`,
          seq,
          sender_id: sender,
          sender_device_id: 'd',
          client_msg_id: `k-${seq}`,
          content: `message ${seq}`,
          content_type: 'text',
          timestamp,
        },
      });
    } else if (s.kind === 'read' || s.kind === 'delivered') {
      const user = USERS[s.user]!;
      const upTo = Math.max(0, seqs[s.conversation]! - s.back);
      if (!inside.has(user) || upTo === 0) continue;
      push(`receipts-${id}`, {
        type: s.kind === 'read' ? 'MessageRead' : 'MessageDelivered',
        data: { conversation_id: id, user_id: user, up_to_seq: upTo, timestamp },
      });
    } else if (s.kind === 'add') {
      const user = USERS[s.user]!;
      if (inside.has(user)) continue;
      inside.add(user);
      push(`conversation-${id}`, { type: 'MembersAdded', data: { conversation_id: id, user_ids: [user], added_by: 'ann', timestamp } });
    } else {
      const user = USERS[s.user]!;
      if (!inside.has(user) || inside.size === 1) continue;
      inside.delete(user);
      push(`conversation-${id}`, { type: 'MemberRemoved', data: { conversation_id: id, user_id: user, removed_by: 'ann', timestamp } });
    }
  }
  return log;
};

const apply = async (rm: ReadModels, batches: Recorded[][]) => {
  const projectors = readModelProjectors(rm);
  for (const batch of batches)
    await rm.unitOfWork(async () => {
      for (const p of projectors) await p.handle(batch);
    });
};

const snapshot = async (rm: ReadModels) => ({
  inboxes: await Promise.all(USERS.map(async (u) => (await rm.inbox.list(u, { limit: 100 })).items)),
  receipts: await Promise.all(CONVERSATIONS.map((id) => rm.receipts.list(id))),
  members: await Promise.all(CONVERSATIONS.map(async (id) => [...(await rm.directory.members(id))].sort())),
  history: await Promise.all(CONVERSATIONS.map((id) => rm.history.page(id, { limit: 1000 }))),
});

const dirs: string[] = [];
const fresh = () => {
  const dir = mkdtempSync(join(tmpdir(), 'natter-batches-'));
  dirs.push(dir);
  return createSqliteReadModels(join(dir, 'readmodels.db'));
};

describe('projection batches', () => {
  after(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('give the same read models in one batch, in random batches, and one event at a time', async () => {
    const steps = fc.array(step, { minLength: 1, maxLength: 80, size: 'large' });
    const cuts = fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 1 });
    // A read below one already made, in the same batch: the highest must win.
    const lowerRead: [Step[], number[]] = [
      [
        { kind: 'send', conversation: 0, sender: 0 },
        { kind: 'send', conversation: 0, sender: 0 },
        { kind: 'read', conversation: 0, user: 0, back: 1 },
      ],
      [1],
    ];
    await fc.assert(
      fc.asyncProperty(steps, cuts, async (steps, cuts) => {
        const log = toLog(steps);
        const chunked: Recorded[][] = [];
        for (let i = 0, c = 0; i < log.length; c++) {
          const size = cuts[c % cuts.length]!;
          chunked.push(log.slice(i, i + size));
          i += size;
        }
        const [single, whole, random] = [fresh(), fresh(), fresh()];
        try {
          await apply(
            single,
            log.map((event) => [event]),
          );
          await apply(whole, [log]);
          await apply(random, chunked);
          const expected = await snapshot(single);
          assert.deepEqual(await snapshot(whole), expected);
          assert.deepEqual(await snapshot(random), expected);
        } finally {
          await Promise.all([single.close(), whole.close(), random.close()]);
        }
      }),
      { numRuns: 50, examples: [lowerRead] },
    );
  });
});

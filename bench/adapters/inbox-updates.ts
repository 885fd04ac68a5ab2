// Inbox updates/s, SQLite vs Redis, on one synthetic stream of projector ops.
//
//   node --import tsx bench/adapters/inbox-updates.ts [--messages 100000] [--conversations 1000]
//        [--members 5] [--batch 500] [--lists 2000] [--runs 3]
//
// Setup (not timed): `conversations` groups of `members` users each, drawn from conversations *
// members / 5 users (each user in ~5 groups). Timed: `messages` MessageSent events turned into what
// the inbox projector emits (a `message` op and the sender's `read` op, so 2 ops per message), sent
// round-robin over the conversations and applied with write() in batches of `batch` ops, one after
// the other like the projections runtime. Then `lists` first pages (limit 20) for random users.
// Adapters: SQLite (a temp file, synchronous=NORMAL, as the embedded read models), Redis with the
// default inbox fan-out (per-user sorted sets for groups up to 64 members) and Redis in pull mode
// (inboxFanoutMaxMembers 0: no fan-out, order computed at read time). One line per adapter, then a
// JSON object on the last line. The machine is shared and noisy: the adapters take turns `runs`
// times, each on a fresh store, and the figures are the medians. Redis: NATTER_REDIS_URL, else
// scripts/engines.sh starts it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import type { InboxStore, InboxWrite } from '../../ports/read-models.ts';
import { createSqliteReadModels } from '../../adapters/sqlite/read-models.ts';
import { createRedisReadModels } from '../../adapters/redis/read-models.ts';
import { requireEngines } from '../../scripts/engines.ts';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '100000' },
    conversations: { type: 'string', default: '1000' },
    members: { type: 'string', default: '5' },
    batch: { type: 'string', default: '500' },
    lists: { type: 'string', default: '2000' },
    runs: { type: 'string', default: '3' },
  },
});
const [messages, conversations, members, batch, lists, runs] = [
  values.messages,
  values.conversations,
  values.members,
  values.batch,
  values.lists,
  values.runs,
].map(Number) as [number, number, number, number, number, number];

// A deterministic generator, so that every adapter gets the very same ops.
let seed = 42;
const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;

const T0 = 1_700_000_000_000;
const userCount = Math.max(members, Math.round((conversations * members) / 5));
const users = Array.from({ length: userCount }, (_, i) => `u${i}`);
const groups = Array.from({ length: conversations }, (_, i) => {
  const set = new Set<string>();
  while (set.size < members) set.add(users[Math.floor(random() * userCount)]!);
  return { id: `c${i}`, members: [...set] };
});
let position = 0;
const setup: InboxWrite[] = groups.flatMap((g): InboxWrite[] => {
  position += 1;
  const at = position;
  return [
    { op: 'conversation', conversation_id: g.id, kind: 'group', title: `group ${g.id}`, timestamp: T0 },
    ...g.members.map((user_id): InboxWrite => ({ op: 'join', user_id, conversation_id: g.id, timestamp: T0, position: at })),
  ];
});
const seqs = new Map<string, number>();
const updates: InboxWrite[] = [];
for (let i = 0; i < messages; i++) {
  const g = groups[i % conversations]!;
  const seq = (seqs.get(g.id) ?? 0) + 1;
  seqs.set(g.id, seq);
  const sender = g.members[Math.floor(random() * members)]!;
  position += 1;
  updates.push(
    {
      op: 'message',
      conversation_id: g.id,
      position,
      last_message: { message_id: `m${i}`, seq, sender_id: sender, preview: `message ${i} ✓`.padEnd(60, '.'), timestamp: T0 + position },
    },
    { op: 'read', user_id: sender, conversation_id: g.id, read_seq: seq },
  );
}
const chunks = <T>(xs: T[], n: number) => Array.from({ length: Math.ceil(xs.length / n) }, (_, i) => xs.slice(i * n, (i + 1) * n));
const readers = Array.from({ length: lists }, () => users[Math.floor(random() * userCount)]!);

type Result = { seconds: number; ops_per_s: number; messages_per_s: number; list_per_s: number; list_items: number };

const measure = async (inbox: InboxStore): Promise<Result> => {
  for (const ops of chunks(setup, batch)) await inbox.write(ops);
  const batches = chunks(updates, batch);
  const t0 = performance.now();
  for (const ops of batches) await inbox.write(ops);
  const seconds = (performance.now() - t0) / 1000;
  let items = 0;
  const l0 = performance.now();
  for (const user of readers) items += (await inbox.list(user, { limit: 20 })).items.length;
  const listSeconds = (performance.now() - l0) / 1000;
  return {
    seconds: Number(seconds.toFixed(3)),
    ops_per_s: Math.round(updates.length / seconds),
    messages_per_s: Math.round(messages / seconds),
    list_per_s: Math.round(readers.length / listSeconds),
    list_items: items,
  };
};

const url = process.env.NATTER_REDIS_URL ?? (await requireEngines('redis')).NATTER_REDIS_URL;
const adapters: Record<string, () => Promise<Result>> = {
  sqlite: async () => {
    const dir = mkdtempSync(join(tmpdir(), 'natter-bench-inbox-'));
    const sqlite = createSqliteReadModels(join(dir, 'read-models.db'));
    try {
      return await measure(sqlite.inbox);
    } finally {
      await sqlite.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
  ...Object.fromEntries(
    (
      [
        ['redis', undefined],
        ['redis-pull', 0],
      ] as const
    ).map(([name, inboxFanoutMaxMembers]) => [
      name,
      async () => {
        const redis = createRedisReadModels({
          url,
          prefix: `natter-bench:${randomUUID()}`,
          ...(inboxFanoutMaxMembers === undefined ? {} : { inboxFanoutMaxMembers }),
        });
        try {
          return await measure(redis.inbox);
        } finally {
          await redis.inbox.reset();
          await redis.close();
        }
      },
    ]),
  ),
};
const samples = new Map<string, Result[]>();
for (let run = 0; run < runs; run++) {
  for (const [name, measureOnce] of Object.entries(adapters)) samples.set(name, [...(samples.get(name) ?? []), await measureOnce()]);
}
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
const results = [...samples].map(([adapter, rs]) => {
  const result = {
    adapter,
    ops: updates.length,
    messages,
    seconds: median(rs.map((r) => r.seconds)),
    ops_per_s: median(rs.map((r) => r.ops_per_s)),
    messages_per_s: median(rs.map((r) => r.messages_per_s)),
    list_per_s: median(rs.map((r) => r.list_per_s)),
    list_items: rs[0]!.list_items,
    runs: rs.map((r) => r.ops_per_s),
  };
  console.log(
    `${adapter.padEnd(11)} ${String(result.ops_per_s).padStart(7)} inbox ops/s  ${String(result.messages_per_s).padStart(7)} messages/s  ` +
      `(${result.ops} ops in ${result.seconds} s, batches of ${batch}, median of ${rs.length}: ${result.runs.join(' / ')} ops/s)  list(limit 20): ${result.list_per_s}/s`,
  );
  return result;
});
console.log(JSON.stringify({ bench: 'inbox-updates', messages, conversations, members, users: userCount, batch_ops: batch, results }));

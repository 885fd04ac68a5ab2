import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import type { EventStore, NewEvent, RecordedEvent } from '../../ports/event-store.ts';
import type { Projector, ProjectionLog, Recorded } from '../../ports/projector.ts';
import { createSqliteEventStore } from '../../adapters/sqlite/event-store.ts';
import { createSqliteCheckpointStore } from '../../adapters/sqlite/checkpoint-store.ts';
import { openDatabase } from '../../adapters/sqlite/database.ts';
import { conversationKey, startRelay } from '../../adapters/kafka/relay.ts';
import { startKafkaProjections, type KafkaProjections } from '../../adapters/kafka/projector-runtime.ts';
import { ensureTopic } from '../../adapters/kafka/topics.ts';

/*
 * The relay and the consumer-group runtime against a real broker: events of many conversations go
 * from a SQLite log through the relay into an 8-partition topic and into a recording projector.
 * The relay is killed with SIGKILL mid-way (it runs in a child process: this same file with
 * NATTER_RELAY_CHILD set), restarted, stopped gracefully and restarted again while events keep
 * being appended, and a second consumer joins the group half-way. Every event must arrive at least
 * once and each conversation's events in log order.
 */

type ChildConfig = { brokers: string[]; topic: string; dir: string; batchSize: number; delayMs: number };

const quiet: ProjectionLog = { warn: () => {}, error: (obj, msg) => console.error(msg, obj) };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** `promise`, or a rejection after `ms`; the timer never outlives the race. */
const within = async <T>(promise: Promise<T>, ms: number, what: string): Promise<T> => {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
};
const kafkaFor = (brokers: string[], clientId: string) => new Kafka({ clientId, brokers, logLevel: logLevel.NOTHING });
const paths = (dir: string) => ({ events: join(dir, 'events.db'), checkpoints: join(dir, 'checkpoints.db') });
const RELAY = 'relay-test';

/** Slows every batch of the feed down, so that the child can be killed in the middle of the log. */
const throttled = (store: EventStore, delayMs: number): EventStore =>
  Object.assign(Object.create(store) as EventStore, {
    subscribeToAll: (options: Parameters<EventStore['subscribeToAll']>[0]) =>
      store.subscribeToAll({
        ...options,
        onEvents: async (events: RecordedEvent[]) => {
          await sleep(delayMs);
          await options.onEvents(events);
        },
      }),
  });

const childConfig = process.env.NATTER_RELAY_CHILD;
if (childConfig) {
  const config = JSON.parse(childConfig) as ChildConfig;
  const eventStore = createSqliteEventStore({ path: paths(config.dir).events });
  const checkpoints = createSqliteCheckpointStore(openDatabase(paths(config.dir).checkpoints, 'NORMAL'));
  await startRelay({
    eventStore: throttled(eventStore, config.delayMs),
    kafka: kafkaFor(config.brokers, 'relay-child'),
    topic: config.topic,
    checkpoints,
    name: RELAY,
    batchSize: config.batchSize,
    log: quiet,
  });
  setInterval(() => {}, 60_000); // runs until the parent kills it
} else {
  const env = await requireEnginesLazily();
  const brokers = env.NATTER_KAFKA_BROKERS.split(',');

  test('relay → Kafka → consumer group: at least once, per-conversation order, through a kill -9, a restart and a rebalance', {
    timeout: 180_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'natter-relay-'));
    const run = randomUUID().slice(0, 8);
    const topic = `natter-relay-test-${run}`;
    const groupId = `natter-relay-test-${run}`;
    const kafka = kafkaFor(brokers, 'relay-test');
    const eventStore = createSqliteEventStore({ path: paths(dir).events });
    const checkpointDb = openDatabase(paths(dir).checkpoints, 'NORMAL');
    const checkpoints = createSqliteCheckpointStore(checkpointDb);
    const members: KafkaProjections[] = [];
    let relay: Awaited<ReturnType<typeof startRelay>> | null = null;
    let child: ReturnType<typeof spawn> | null = null;

    const waitFor = async (what: string, ms: number, done: () => boolean | Promise<boolean>) => {
      const deadline = Date.now() + ms;
      while (!(await done())) {
        if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
        await sleep(25);
      }
    };

    // Many conversations, appended round-robin so their events interleave in the log.
    const conversations = Array.from({ length: 40 }, (_, i) => `c${i}-${run}`);
    const seqs = new Map<string, number>();
    const appendRound = async (rounds: number) => {
      for (let r = 0; r < rounds; r++) {
        await Promise.all(
          conversations.map((id, i) => {
            const seq = (seqs.get(id) ?? 0) + 1;
            seqs.set(id, seq);
            const timestamp = 1_700_000_000_000 + seq;
            if (seq === 1) {
              return eventStore.appendToStream(`conversation-${id}`, [
                {
                  type: 'ConversationCreated',
                  data: {
                    conversation_id: id,
                    kind: 'group',
                    title: 't',
                    created_by: 'a',
                    member_ids: ['a', 'b'],
                    timestamp,
                  },
                },
              ]);
            }
            const message: NewEvent = {
              type: 'MessageSent',
              data: {
                conversation_id: id,
                message_id: `m-${id}-${seq}`,
                seq: seq - 1,
                sender_id: 'a',
                sender_device_id: 'd',
                client_msg_id: `k-${seq}`,
                content: `message ${seq}`,
                content_type: 'text',
                timestamp,
              },
            };
            return (seq + i) % 4 === 0
              ? Promise.all([
                  eventStore.appendToStream(`conversation-${id}`, [message]),
                  eventStore.appendToStream(`receipts-${id}`, [
                    { type: 'MessageRead', data: { conversation_id: id, user_id: 'b', up_to_seq: seq - 1, timestamp } },
                  ]),
                ])
              : eventStore.appendToStream(`conversation-${id}`, [message]);
          }),
        );
      }
    };

    // What the group's members applied, in the order they applied it (one process, so one timeline).
    const received: Array<{ member: number; key: string; position: number }> = [];
    const recorder = (member: number): Projector => ({
      name: `recorder-${member}`,
      handle: async (events: Recorded[]) => {
        for (const e of events) received.push({ member, key: conversationKey(e), position: e.position });
      },
      reset: async () => {},
    });
    const joinGroup = async (member: number) => {
      const m = await startKafkaProjections({
        kafka: kafkaFor(brokers, `projector-${member}`),
        topic,
        groupId,
        projectors: [recorder(member)],
        log: quiet,
        sessionTimeout: 10_000,
        heartbeatInterval: 500,
      });
      members.push(m);
      await within(m.joined, 30_000, `member ${member} joining the group`);
    };
    const receivedPositions = () => new Set(received.map((r) => r.position));

    try {
      assert.deepEqual(await ensureTopic(kafka, { topic, partitions: 8 }), { created: true, partitions: 8 });
      assert.deepEqual(await ensureTopic(kafka, { topic, partitions: 8 }), { created: false, partitions: 8 }, 'idempotent');
      // NATTER_KAFKA_REPLICATION_FACTOR reaches the broker: one broker cannot hold two replicas.
      await assert.rejects(ensureTopic(kafka, { topic: `${topic}-rf2`, partitions: 1, replicationFactor: 2 }), (error: Error & { errors?: unknown }) =>
        /INVALID_REPLICATION_FACTOR|replication factor/i.test(`${error.message} ${JSON.stringify(error.errors ?? '')}`),
      );
      await joinGroup(1);

      // 1. A relay in a child process, killed with SIGKILL in the middle of the log.
      await appendRound(30);
      const head1 = await eventStore.headPosition();
      child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
        env: {
          ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_TEST_CONTEXT')),
          NATTER_RELAY_CHILD: JSON.stringify({ brokers, topic, dir, batchSize: 20, delayMs: 15 } satisfies ChildConfig),
        },
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      await waitFor('the child relay to pass a third of the log', 60_000, async () => (await checkpoints.get(RELAY)) >= head1 / 3);
      child.kill('SIGKILL');
      await within(new Promise((resolve) => child!.once('exit', resolve)), 10_000, 'the killed child exiting');
      child = null;
      const killedAt = await checkpoints.get(RELAY);
      assert.ok(killedAt < head1, `killed mid-way (checkpoint ${killedAt} of ${head1})`);

      // 2. Restarted in this process, while events keep coming; a second member joins the group.
      relay = await startRelay({ eventStore, kafka, topic, checkpoints, name: RELAY, batchSize: 50, log: quiet });
      const appending = appendRound(20);
      await joinGroup(2);
      await appending;

      // 3. A graceful stop half-way through more appends, and a restart.
      const more = appendRound(20);
      await sleep(100);
      await relay.stop();
      relay = null;
      await more;
      relay = await startRelay({ eventStore, kafka, topic, checkpoints, name: RELAY, batchSize: 50, log: quiet });
      await appendRound(10);

      const head = await eventStore.headPosition();
      await within(relay.caughtUp(head), 60_000, 'the relay catching up');
      await waitFor('every event at the consumers', 60_000, () => receivedPositions().size === head);

      // At least once: every position of the log arrived.
      const log = await eventStore.readAll({ after: 0, maxCount: head + 1 });
      assert.equal(log.length, head);
      const got = receivedPositions();
      assert.deepEqual(
        log.filter((e) => !got.has(e.position)).map((e) => e.position),
        [],
        'nothing lost',
      );

      // Order per conversation: whenever an event arrives (again), its predecessor in the log arrived before it.
      const previous = new Map<number, number>();
      const lastOfKey = new Map<string, number>();
      for (const e of log) {
        const key = conversationKey(e);
        const p = lastOfKey.get(key);
        if (p !== undefined) previous.set(e.position, p);
        lastOfKey.set(key, e.position);
      }
      const seen = new Set<number>();
      const outOfOrder = received.filter((r) => {
        const p = previous.get(r.position);
        seen.add(r.position);
        return p !== undefined && !seen.has(p);
      });
      assert.deepEqual(outOfOrder.slice(0, 5), [], 'per-conversation order');
      assert.equal(lastOfKey.size, conversations.length);

      const duplicates = received.length - got.size;
      const byMember = [1, 2].map((m) => received.filter((r) => r.member === m).length);
      assert.ok(byMember[1]! > 0, 'the second member got partitions after the rebalance');
      console.log(
        `relay test: ${head} events, ${received.length} deliveries (${duplicates} re-sent or replayed), by member ${byMember.join('/')}, killed at ${killedAt}/${head1}`,
      );
    } finally {
      child?.kill('SIGKILL');
      await relay?.stop().catch(() => {});
      await Promise.all(members.map((m) => m.stop().catch(() => {})));
      const admin = kafka.admin();
      await admin
        .connect()
        .then(() => admin.deleteTopics({ topics: [topic] }))
        .catch(() => {});
      await admin.deleteGroups([groupId]).catch(() => {});
      await admin.disconnect().catch(() => {});
      await eventStore.close();
      checkpointDb.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

async function requireEnginesLazily() {
  const { requireEngines } = await import('../support/engines.ts');
  return requireEngines('kafka');
}

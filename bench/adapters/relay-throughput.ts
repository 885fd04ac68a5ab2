// Relay throughput: events/s from a SQLite event log into an 8-partition Kafka topic through
// adapters/kafka/relay.ts (idempotent producer, acks=-1, checkpoint after each acknowledged send).
// Each case relays the same pre-filled log into a fresh topic from position 0 and times it until the
// relay's checkpoint reaches the head. Usage: tsx bench/adapters/relay-throughput.ts [--events 20000]
// Prints one line per case, then a JSON object on the last line. Needs Kafka (started if missing).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { requireEngines } from '../../scripts/engines.ts';
import { createSqliteEventStore } from '../../adapters/sqlite/event-store.ts';
import { startRelay } from '../../adapters/kafka/relay.ts';
import { ensureTopic } from '../../adapters/kafka/topics.ts';
import type { CheckpointStore } from '../../ports/read-models.ts';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const events = arg('events', 20_000);
const conversations = arg('conversations', 200);
const contentBytes = arg('content', 200);

const env = await requireEngines('kafka');
const kafka = new Kafka({ clientId: 'natter-bench-relay', brokers: env.NATTER_KAFKA_BROKERS.split(','), logLevel: logLevel.NOTHING });
const dir = mkdtempSync(join(tmpdir(), 'natter-bench-relay-'));
const store = createSqliteEventStore({ path: join(dir, 'events.db') });
const quiet = { warn: () => {}, error: (obj: object, msg: string) => console.error(msg, obj) };

const results: Array<Record<string, number | string>> = [];
try {
  const content = 'x'.repeat(contentBytes);
  for (let n = 0; n < events; ) {
    const chunk = Math.min(1_000, events - n);
    await Promise.all(
      Array.from({ length: chunk }, (_, j) => {
        const i = n + j;
        const id = `c${i % conversations}`;
        const seq = Math.floor(i / conversations) + 1;
        return store.appendToStream(`conversation-${id}`, [
          {
            type: 'MessageSent',
            data: {
              conversation_id: id,
              message_id: `m-${i}`,
              seq,
              sender_id: 'alice',
              sender_device_id: 'd',
              client_msg_id: `k-${i}`,
              content,
              content_type: 'text',
              timestamp: Date.now(),
            },
          },
        ]);
      }),
    );
    n += chunk;
  }
  const head = await store.headPosition();

  for (const batchSize of [100, 1_000]) {
    const topic = `natter-bench-relay-${randomUUID().slice(0, 8)}`;
    await ensureTopic(kafka, { topic, partitions: 8 });
    const saved = new Map<string, number>();
    const checkpoints: CheckpointStore = {
      get: async (p) => saved.get(p) ?? 0,
      set: async (p, v) => {
        saved.set(p, v);
      },
    };
    const t0 = performance.now();
    const relay = await startRelay({ eventStore: store, kafka, topic, checkpoints, name: 'bench', batchSize, log: quiet });
    await relay.caughtUp(head);
    const seconds = (performance.now() - t0) / 1000;
    await relay.stop();
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    await admin.disconnect();
    const rate = Math.round(head / seconds);
    console.log(
      `relay batch=${batchSize}: ${head} events (${contentBytes} B content, ${conversations} conversations) in ${seconds.toFixed(2)} s = ${rate} events/s`,
    );
    results.push({ case: `batch-${batchSize}`, events: head, seconds: Number(seconds.toFixed(3)), events_per_s: rate });
  }
} finally {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
console.log(JSON.stringify({ bench: 'relay-throughput', partitions: 8, acks: -1, idempotent: true, results }));

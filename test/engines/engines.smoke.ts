// Smoke probe of the engines started by `scripts/engines.sh up`, with the app's own npm clients.
// It needs the engines up and fails otherwise. Run: eval "$(scripts/engines.sh env --export)"; npm run test:engines
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import cassandra from 'cassandra-driver';
import { Redis } from 'ioredis';
import pg from 'pg';
import { Client as OpenSearch } from '@opensearch-project/opensearch';

const env = {
  redis: process.env.NATTER_REDIS_URL ?? 'redis://127.0.0.1:6390',
  pg: process.env.NATTER_PG_URL ?? 'postgres://natter:natter@127.0.0.1:5442/natter',
  kafka: (process.env.NATTER_KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
  cassandra: (process.env.NATTER_CASSANDRA_CONTACT_POINTS ?? '127.0.0.1:9042').split(','),
  dc: process.env.NATTER_CASSANDRA_DC ?? 'datacenter1',
  opensearch: process.env.NATTER_OPENSEARCH_URL ?? 'http://127.0.0.1:9201',
};

test('redis: set/get', async () => {
  const redis = new Redis(env.redis, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    const key = `natter:smoke:${randomUUID()}`;
    await redis.set(key, 'hello', 'EX', 30);
    assert.equal(await redis.get(key), 'hello');
  } finally {
    redis.disconnect();
  }
});

test('postgres: select 1', async () => {
  const client = new pg.Client({ connectionString: env.pg });
  await client.connect();
  try {
    const r = await client.query<{ one: number; db: string }>('select 1 as one, current_database() as db');
    assert.deepEqual(r.rows[0], { one: 1, db: 'natter' });
    const max = await client.query<{ max_connections: string }>('show max_connections');
    assert.ok(Number(max.rows[0]?.max_connections) >= 100);
  } finally {
    await client.end();
  }
});

test('kafka: idempotent produce, consumer group, commit', async () => {
  const kafka = new Kafka({ clientId: 'natter-smoke', brokers: env.kafka, logLevel: logLevel.NOTHING });
  const topic = `natter-smoke-${randomUUID()}`;
  const groupId = `${topic}-g`;
  const n = 100;
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: 8, replicationFactor: 1 }], waitForLeaders: true });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    await producer.send({
      topic,
      acks: -1,
      messages: Array.from({ length: n }, (_, i) => ({ key: `room-${i % 13}`, value: `m${i}` })),
    });
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1_000 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    let seen = 0;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out after ${seen}/${n} messages`)), 30_000);
      void consumer.run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          await consumer.commitOffsets([{ topic, partition, offset: (BigInt(message.offset) + 1n).toString() }]);
          if (++seen === n) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
    await consumer.disconnect();

    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
    const committed = (offsets?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
    assert.equal(committed, n);
  } finally {
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    await admin.disconnect();
  }
});

test('cassandra: keyspace, insert, select', async () => {
  const client = new cassandra.Client({ contactPoints: env.cassandra, localDataCenter: env.dc });
  await client.connect();
  try {
    await client.execute("CREATE KEYSPACE IF NOT EXISTS natter_smoke WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
    await client.execute('CREATE TABLE IF NOT EXISTS natter_smoke.kv (k text PRIMARY KEY, v int)');
    const k = randomUUID();
    await client.execute('INSERT INTO natter_smoke.kv (k, v) VALUES (?, ?)', [k, 42], { prepare: true });
    const r = await client.execute('SELECT v FROM natter_smoke.kv WHERE k = ?', [k], { prepare: true });
    assert.equal(r.first()?.get('v'), 42);
  } finally {
    await client.shutdown();
  }
});

test('opensearch: index with the whitespace analyzer, search', async () => {
  const client = new OpenSearch({ node: env.opensearch });
  const index = `natter-smoke-${randomUUID()}`;
  try {
    await client.indices.create({ index, body: { mappings: { properties: { words: { type: 'text', analyzer: 'whitespace' } } } } as never });
    await client.index({ index, id: '1', body: { words: 'cafe au lait' }, refresh: true });
    const r = await client.search({ index, body: { query: { term: { words: 'lait' } } } as never });
    assert.deepEqual(
      r.body.hits.hits.map((h) => h._id),
      ['1'],
    );
  } finally {
    await client.indices.delete({ index }).catch(() => {});
    await client.close();
  }
});

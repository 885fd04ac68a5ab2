import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import { createSigner } from 'fast-jwt';
import { clusterNamespace, type ClusterNamespace } from '../support/cluster.ts';
import { spawnRole, type Role } from '../support/cluster-processes.ts';
import { rest } from '../support/natter.ts';
import { Device } from '../support/ws-client.ts';
import { eventually } from '../support/eventually.ts';
import type { ReadModels } from '../../ports/read-models.ts';
import type { EventStore } from '../../ports/event-store.ts';
import type { Recorded } from '../../ports/projector.ts';
import { rebuild } from '../../projections/runtime.ts';
import { readModelProjectors } from '../../projections/projectors.ts';
import { createSqliteReadModels } from '../../adapters/sqlite/read-models.ts';
import { createPostgresEventStore } from '../../adapters/postgres/event-store.ts';
import type cassandraDriver from 'cassandra-driver';
import { connectCassandra } from '../../adapters/cassandra/client.ts';
import { createRedisWatermarks } from '../../adapters/redis/watermarks.ts';
import { createRedisReadModelVersions } from '../../adapters/redis/read-model-versions.ts';
import { loadClusterConfig } from '../../app/cluster/config.ts';
import { loadConfig } from '../../app/config.ts';
import { clusterContent } from '../../app/cluster/content.ts';
import { openPostgresFeatures, type PostgresFeatures } from '../../adapters/postgres/features.ts';
import { openingEventStore } from '../../adapters/crypto/sealed-events.ts';
import { clusterStores } from '../../app/cluster/read-models.ts';
import type { Client as OpenSearchClient } from '@opensearch-project/opensearch';
import { connectOpenSearch, searchAlias, searchIndexName } from '../../adapters/opensearch/client.ts';
import { parseQuery } from '../../projections/search/text.ts';
import { testLimits } from '../support/limits.ts';

const limits = { ...testLimits, NATTER_KAFKA_SESSION_TIMEOUT_MS: '6000' };
const users = ['ann', 'ben', 'cat', 'dan', 'eve', 'fay'];

/** `natter replay … --cluster` as a child process; each output line is kept with the time it came. */
const runReplay = (env: Record<string, string>, args: string[]) =>
  new Promise<{ code: number | null; lines: Array<{ at: number; text: string }>; output: string }>((resolve) => {
    const child = spawn(process.execPath, ['bin/natter.js', 'replay', ...args, '--cluster'], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: Array<{ at: number; text: string }> = [];
    let output = '';
    const take = (chunk: Buffer) => {
      output += chunk;
      for (const text of chunk.toString().split('\n')) if (text.trim()) lines.push({ at: Date.now(), text });
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('exit', (code) => resolve({ code, lines, output }));
  });

const keysUnder = async (redis: Redis, base: string) => {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${base}*`, 'COUNT', 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return keys;
};

/**
 * What a full projection of the log from position 0 gives, through the same projectors, into SQLite:
 * the reference. The log holds content sealed; projectors see it opened, as the workers and the
 * replay do (the inbox stores a sealed preview whole, search folds the words of the text).
 */
const fromScratch = async (sealed: EventStore, env: Record<string, string>, postgres: PostgresFeatures) => {
  const content = clusterContent(loadConfig(env, 'cluster'), postgres, { logger: { error: () => {} } });
  const eventStore = openingEventStore(sealed, content.cipher, () => {});
  const reference = createSqliteReadModels(':memory:');
  await rebuild({
    eventStore,
    checkpoints: reference.checkpoints,
    unitOfWork: reference.unitOfWork,
    projectors: readModelProjectors(reference),
    batchSize: 5_000,
  });
  const conversations = new Set<string>();
  for (let after = 0; ; ) {
    const batch = (await eventStore.readAll({ after, maxCount: 5_000 })) as Recorded[];
    if (batch.length === 0) break;
    for (const e of batch) if (e.type === 'ConversationCreated') conversations.add(e.data.conversation_id);
    after = batch[batch.length - 1]!.position;
  }
  return { reference, conversations: [...conversations] };
};

/** Every read model, read through the ports, for every conversation and user. */
const snapshot = async (rm: ReadModels, conversations: string[]) => {
  const out: Record<string, unknown> = {};
  for (const c of conversations) {
    out[`history ${c}`] = await rm.history.page(c, { after: 0, limit: 100_000 });
    // Search: OpenSearch against the SQLite FTS5 reference, the same hits in the same order.
    out[`search ${c}`] = await rm.search.search({ terms: parseQuery('seed'), conversationIds: [c], limit: 10_000 });
    out[`search live ${c}`] = await rm.search.search({ terms: parseQuery('"live"'), conversationIds: [c], limit: 10_000 });
    out[`receipts ${c}`] = await rm.receipts.list(c);
    out[`directory ${c}`] = await rm.directory.get(c);
  }
  for (const u of users) {
    out[`inbox ${u}`] = (await rm.inbox.list(u, { limit: 1_000 })).items;
    out[`conversations of ${u}`] = await rm.directory.conversationsOf(u);
  }
  return out;
};

describe('natter replay --cluster: blue/green rebuild while the cluster runs', { concurrency: false }, () => {
  let env: ClusterNamespace;
  let redis: Redis;
  let eventStore: EventStore;
  const roles: Role[] = [];
  // Cleaned up in after() too, so that a failed assertion never leaves the file hanging.
  let running = false;
  const loads: Promise<unknown>[] = [];
  let cassandra: cassandraDriver.Client | undefined;
  let opensearch: OpenSearchClient | undefined;
  let senders: Device[] = [];

  before(async () => {
    env = { ...(await clusterNamespace()), ...limits };
    redis = new Redis(env.NATTER_REDIS_URL!);
    eventStore = await createPostgresEventStore({ connectionString: env.NATTER_PG_URL!, schema: env.NATTER_PG_SCHEMA! });
    roles.push(await spawnRole('relay', env), await spawnRole('projector', env), await spawnRole('projector', env));
    roles.push(await spawnRole('gateway', env, { NATTER_GATEWAY_ID: 'gwA' }), await spawnRole('gateway', env, { NATTER_GATEWAY_ID: 'gwB' }));
  });
  after(async () => {
    running = false;
    await Promise.allSettled(loads);
    await Promise.allSettled(senders.map((d) => d.close()));
    await cassandra?.shutdown();
    await opensearch?.close();
    await Promise.all(roles.map((r) => r.kill9()));
    await eventStore?.close();
    redis?.disconnect();
  });

  it('given corrupted read models, when inbox and then all are replayed while a client sends and reads, then the new versions are live and equal a from-scratch projection', async () => {
    const [gwA, gwB] = roles.filter((r) => r.name === 'gateway') as [Role, Role];
    const sign = createSigner({ key: env.NATTER_JWT_SECRET!, algorithm: 'HS256', expiresIn: 3_600_000 });
    const as = (user: string, gw: Role = gwA) => rest(gw.url!, sign({ sub: user }));
    const cluster = loadClusterConfig(env);
    const ns = `${cluster.redisPrefix}:`;

    // Given: direct chats and groups, with a join and a leave, messages, and receipts.
    const conversations: string[] = [];
    for (const peer of ['ben', 'cat', 'dan'])
      conversations.push((await as('ann').post('/v1/conversations', { type: 'direct', peer_id: peer })).body.conversation_id);
    for (const title of ['g1', 'g2'])
      conversations.push((await as('eve').post('/v1/conversations', { type: 'group', title, member_ids: ['ann', 'ben', 'fay'] })).body.conversation_id);
    const [direct, , , group] = conversations as [string, string, string, string, string];
    assert.equal((await as('eve').post(`/v1/conversations/${group}/members`, { user_ids: ['cat'] })).status, 200);
    // ann writes the direct chats, eve the groups.
    senders = await Promise.all(['ann', 'eve'].map((u, i) => Device.connect((i ? gwB : gwA).url!.replace('http', 'ws'), sign({ sub: u }), 'phone')));
    const senderOf = (c: string) => senders[conversations.indexOf(c) < 3 ? 0 : 1]!;
    // Enough of a log that each rebuild lasts long enough for live sends to land in the middle of it.
    const perConversation = 300;
    for (let round = 0; round < perConversation; round += 50) {
      await Promise.all(
        conversations.flatMap((c) => Array.from({ length: 50 }, (_, i) => senderOf(c).sendMessage(c, `seed ${round + i}`, `seed-${c}-${round + i}`, 30_000))),
      );
    }
    assert.equal((await as('eve').delete(`/v1/conversations/${group}/members/fay`)).status, 200);
    await as('ben').post(`/v1/conversations/${direct}/read`, { up_to_seq: 50 });
    await as('fay').post(`/v1/conversations/${conversations[4]}/delivered`, { up_to_seq: 70 });

    const watermarks = createRedisWatermarks({ redis, prefix: cluster.redisPrefix, partitions: cluster.partitions });
    const settle = async () => {
      const head = await eventStore.headPosition();
      assert.ok(
        (await eventually(
          () => watermarks.low(),
          (low) => low >= head,
          { timeoutMs: 60_000 },
        )) >= head,
        'the workers applied the whole log',
      );
    };
    await settle();

    // The active (v1) read models are damaged: an unread count, a history row, receipts, a directory entry.
    // ben read 50 of ann's messages; ann keeps writing to him during the replays.
    const benEntry = async () =>
      (await as('ben', gwB).get('/v1/conversations')).body.items.find((i: any) => i.conversation_id === direct) as {
        unread_count: number;
        last_message: { seq: number };
      };
    const benRead = async () => {
      const e = await benEntry();
      return e.last_message.seq - e.unread_count;
    };
    assert.equal(await benRead(), 50);
    const state = await redis.hget(`${ns}ibx:state:ben`, direct);
    await redis.hset(`${ns}ibx:state:ben`, direct, state!.replace(/^(\d)\|\d+\|/, '$1|0|'));
    await redis.del(`${ns}rcpt:${conversations[4]}`);
    await redis.srem(`${ns}dir:user:cat`, conversations[1]!);
    cassandra = await connectCassandra({ contactPoints: cluster.cassandra.contactPoints, localDataCenter: cluster.cassandra.localDataCenter });
    await cassandra.execute(`DELETE FROM ${cluster.cassandra.keyspace}.messages WHERE conversation_id = ? AND bucket = 0 AND seq = 3`, [direct], {
      prepare: true,
    });
    assert.equal(await benRead(), 0, 'the damage shows');
    const afterSeq2 = async () => (await as('ann', gwB).get(`/v1/conversations/${direct}/messages?after=2&limit=1`)).body.items.map((m: any) => m.seq);
    assert.deepEqual(await afterSeq2(), [4], 'the damage shows in history');
    // Search v1 loses ann's "seed 2" (seq 3) of the direct chat.
    opensearch = await connectOpenSearch(cluster.opensearch.url);
    await opensearch.delete({ index: searchIndexName(cluster.opensearch.index, 1), id: `${direct}:3`, refresh: true });
    const seed2 = async () =>
      (await as('ann', gwB).get(`/v1/search?q=${encodeURIComponent('"seed 2"')}&conversation_id=${direct}`)).body.items.map((i: any) => i.seq);
    assert.deepEqual(await seed2(), [], 'the damage shows in search');

    // While the replays run: two devices keep sending (and cat marks read now and then), and ann keeps reading.
    running = true;
    const acks: number[] = [];
    // Four lanes: the inbox rebuild may take only a few hundred ms, and on a loaded machine one send
    // at a time may leave no ack inside it though sends go on (CI once counted 0 there, 318 in the other).
    const lanes = 4;
    const loadSend: Promise<unknown> = Promise.all(
      Array.from({ length: lanes }, async (_, lane) => {
        for (let k = 0; running; k++) {
          const i = k * lanes + lane;
          const c = conversations[i % conversations.length]!;
          await senderOf(c).sendMessage(c, `live ${i}`, `live-${i}`, 30_000);
          acks.push(Date.now());
          if (i % 25 === 0) await as('cat').post(`/v1/conversations/${conversations[1]}/read`, { up_to_seq: Math.min(perConversation, 10 + i) });
        }
      }),
    );
    loads.push(loadSend);
    const failures: string[] = [];
    let reads = 0;
    const seen = new Map<string, number>();
    const loadRead = (async () => {
      const reader = as('ann', gwB);
      while (running) {
        for (const c of conversations) {
          if (c === direct) continue; // damaged in v1: its history grows back a message on the switch
          const page = await reader.get(`/v1/conversations/${c}/messages?limit=200`);
          const inbox = await reader.get('/v1/conversations');
          const receipts = await reader.get(`/v1/conversations/${c}/receipts`);
          const search = await reader.get(`/v1/search?q=seed&conversation_id=${c}&limit=5`);
          reads += 4;
          for (const [what, reply] of [
            ['history', page],
            ['inbox', inbox],
            ['receipts', receipts],
            ['search', search],
          ] as const) {
            if (reply.status !== 200) failures.push(`${what} ${c}: ${reply.status} ${JSON.stringify(reply.body)}`);
          }
          // A switch never goes back in time: the new version holds whatever the old one served.
          const newest = page.body?.items?.at(-1)?.seq ?? 0;
          if (newest < (seen.get(c) ?? 0)) failures.push(`history of ${c} went back from seq ${seen.get(c)} to ${newest}`);
          seen.set(c, Math.max(newest, seen.get(c) ?? 0));
        }
      }
    })();
    loads.push(loadRead);

    // When: the inbox alone, then everything (deleting every retired version), both as real processes.
    await new Promise((r) => setTimeout(r, 300));
    const inboxRun = await runReplay(env, ['inbox', '--batch', '100', '--grace', '1000']);
    assert.equal(inboxRun.code, 0, inboxRun.output);
    assert.match(inboxRun.output, /switched inbox v1 → v2 at log position \d+/);
    assert.match(inboxRun.output, /replay \[.*\] \d+% \| \d+\/\d+ positions/, 'the progress bar shows');
    assert.match(inboxRun.output, /replayed \d+ events into inbox v2 in [\d.]+ s \(\d+ events\/s\)/);
    assert.equal(await eventually(benRead, (n) => n === 50), 50, 'the inbox comes from v2 now');
    const allRun = await runReplay(env, ['all', '--batch', '100', '--grace', '1000', '--drop-old']);
    assert.equal(allRun.code, 0, allRun.output);
    assert.match(allRun.output, /switched directory v1 → v2, history v1 → v2, inbox v2 → v3, receipts v1 → v2, users v1 → v2, search v1 → v2/);
    assert.match(allRun.output, /deleted .*inbox v1.*inbox v2/);
    assert.match(allRun.output, /\d+ events\/s/);
    await new Promise((r) => setTimeout(r, 500));
    running = false;
    await Promise.all([loadSend, loadRead]);

    // Then: messages were acked while each replay ran, and reads never failed nor went back.
    const during = [inboxRun, allRun].map((run) => {
      const [start, end] = [run.lines.find((l) => l.text.startsWith('building'))!.at, run.lines.find((l) => l.text.startsWith('switched'))!.at];
      return acks.filter((t) => t >= start && t <= end).length;
    });
    assert.ok(
      during.every((n) => n > 0),
      `sends were acked between the start of each rebuild and its switch (${during.join(', ')})`,
    );
    assert.deepEqual(failures, []);
    assert.ok(reads > 30, `reads kept being served (${reads})`);
    const held = [inboxRun, allRun].map((run) => run.output.match(/workers held (\d+ ms)/)?.[1]);
    console.log(
      `# ${acks.length} messages sent (${during.join(' and ')} between build and switch) and ${reads} reads served during the replays; ` +
        `${inboxRun.output.match(/\(\d+ events\/s\)/)?.[0]} and ${allRun.output.match(/\(\d+ events\/s\)/)?.[0]}; workers held ${held.join(' and ')} at the switches`,
    );

    // The new versions are the active ones, and the old ones are gone.
    const active = (await createRedisReadModelVersions({ redis, prefix: cluster.redisPrefix }).read()).active;
    assert.deepEqual(active, { directory: 2, history: 2, inbox: 3, receipts: 2, users: 2, search: 2 });
    for (const base of ['ibx:', 'dir:', 'rcpt:', 'v2:ibx:']) assert.deepEqual(await keysUnder(redis, `${ns}${base}`), [], `${base} deleted`);
    assert.equal(
      (await cassandra.execute(`SELECT count(*) AS n FROM ${cluster.cassandra.keyspace}.messages`)).first().get('n').toNumber(),
      0,
      'history v1 emptied',
    );
    assert.equal((await opensearch.indices.exists({ index: searchIndexName(cluster.opensearch.index, 1) })).body, false, 'search v1 deleted');
    assert.deepEqual(
      Object.keys((await opensearch.indices.getAlias({ name: searchAlias(cluster.opensearch.index) })).body),
      [searchIndexName(cluster.opensearch.index, 2)],
      'the alias is on v2',
    );

    // Every read model equals a from-scratch projection of the log, sends during the rebuild included.
    await settle();
    const postgres = await openPostgresFeatures({ connectionString: env.NATTER_PG_URL!, schema: env.NATTER_PG_SCHEMA! });
    const { reference, conversations: all } = await fromScratch(eventStore, env as Record<string, string>, postgres).finally(() => postgres.close());
    assert.equal(all.length, conversations.length);
    // Sent during the rebuild and findable once OpenSearch refreshed.
    await opensearch.indices.refresh({ index: searchIndexName(cluster.opensearch.index, 2) });
    const live = clusterStores(cluster, redis, cassandra, opensearch).readModels(active);
    const expected = await snapshot(reference, all);
    assert.deepEqual(await snapshot(live, all), expected);
    const history = expected[`history ${direct}`] as Array<{ seq: number }>;
    assert.ok(history.length > perConversation, 'messages sent during the rebuild are there');
    assert.deepEqual(
      history.map((m) => m.seq),
      Array.from({ length: history.length }, (_, i) => i + 1),
    );
    // And the gateways serve them.
    assert.deepEqual(await afterSeq2(), [3]);
    assert.deepEqual(await seed2(), [3], 'search v2 has what v1 lost');
    assert.equal(await benRead(), 50);

    await reference.close();
  });
});

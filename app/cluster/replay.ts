import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type cassandra from 'cassandra-driver';
import type { Client as OpenSearchClient } from '@opensearch-project/opensearch';
import type { EventStore } from '../../ports/event-store.ts';
import type { Projector, Recorded } from '../../ports/projector.ts';
import { createRedisReadModelVersions, type RedisReadModelVersions } from '../../adapters/redis/read-model-versions.ts';
import { deleteUnder } from '../../adapters/redis/client.ts';
import { storeBase, type StoreTag } from '../../adapters/redis/keys.ts';
import { createHistoryVersion, dropHistoryVersion } from '../../adapters/cassandra/history-versions.ts';
import { dropSearchIndex, ensureSearchIndex, pointSearchAlias } from '../../adapters/opensearch/client.ts';
import { loadClusterConfig, type ClusterConfig } from './config.ts';
import { connectEventStore, connectHistory, connectPostgresFeatures, connectRedis, connectSearch } from './engines.ts';
import { loadConfig, type Config } from '../config.ts';
import { clusterContent } from './content.ts';
import { openingEventStore } from '../../adapters/crypto/sealed-events.ts';
import { clusterStores, versionedProjections, type VersionedProjection } from './read-models.ts';

/*
 * Blue/green rebuild of cluster read models while everything keeps running
 * ========================================================================
 * 1. Build. Take the next version N+1 of each projection (the record is in Redis, see
 *    adapters/redis/read-model-versions.ts) and write it from position 0 of the event log, in log
 *    order, alone: workers and gateways still write and read version N. Keep following the log
 *    until a read comes back short (caught up as of that read).
 * 2. Fence. Set a fence (with a lease) on the projections, then read the log head Q. Workers read
 *    the record at the start of every batch and hold a batch while a fence is up. A batch that read
 *    the record before the fence was fetched from Kafka before it, so its events were relayed, hence
 *    committed, before Q was read: their positions are <= Q. Every event above Q is therefore in a
 *    batch that sees the fence (or the switch after it).
 * 3. Finish. Apply the log through Q to version N+1 (positions commit in order, so "through Q" is
 *    complete), extending the fence's lease meanwhile: the workers are holding, so this is short.
 * 4. Switch, in one script that checks the fence is still ours: active = N+1, written by workers
 *    from Q on (`from`), N still written beside it (`also`), fence gone, a notice published. Held
 *    batches go on: events <= Q are skipped for N+1 (the replay has them), events above Q go to both.
 *    Each version thus gets every event exactly once from one writer in log order, which is the order
 *    the order-sensitive parts need (an inbox join reads the last seq; the directory has no
 *    positions). Writes are idempotent besides (seq and position guards, max-merges, first-write-wins
 *    timestamps), so Kafka's at-least-once redelivery changes nothing.
 *    The search index has an alias for operators' tools (adapters/opensearch/client.ts): it moves to
 *    N+1 right after the switch.
 * 5. Retire. After a grace period, in which the gateways move to N+1 (pub/sub notice, or their poll),
 *    stop writing N. With --drop-old, after another grace period (batches that still write N
 *    finish), delete N and every earlier retired version. Until N is retired it stays exact, so a
 *    gateway still reading it never serves a sync that skips an event.
 *
 * If the replay dies, its fence lapses (the lease) and the workers go on with version N; the switch
 * refuses a lapsed fence, and the next replay deletes the half-built version.
 */

export type ClusterReplayOptions = {
  /** The settings the rebuild opens sealed content with (NATTER_MASTER_KEY); from the environment when absent. */
  config?: Config;
  /** A projection name or "all". */
  projection: string;
  batchSize: number;
  /** Delete the versions switched away from (after the grace periods). */
  dropOld: boolean;
  /** How long readers get to move to the new version before the old one stops being written. */
  graceMs: number;
  /** How long a fence holds the workers if this process dies during the switch. */
  fenceLeaseMs?: number;
  cluster?: ClusterConfig;
  /** Aborting stops the replay before the switch: the fence is lifted at once and the half-built version deleted. */
  signal?: AbortSignal;
  onStart?(head: number): void;
  onProgress?(position: number, head: number, events: number): void;
  print?(line: string): void;
};

export type ClusterReplayResult = {
  events: number;
  /** Seconds from the first read of the log to the switch. */
  seconds: number;
  switchedAt: number;
  versions: Array<{ projection: VersionedProjection; from: number; to: number }>;
  dropped: string[];
};

const redisTag: Record<Exclude<VersionedProjection, 'history' | 'search'>, StoreTag> = { directory: 'dir', inbox: 'ibx', receipts: 'rcpt', users: 'usr' };
const LOCK_TTL_MS = 30_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export const replayCluster = async (options: ClusterReplayOptions): Promise<ClusterReplayResult> => {
  const names = chooseProjections(options.projection);
  const cluster = options.cluster ?? loadClusterConfig();
  const print = options.print ?? (() => {});
  const postgres = await connectPostgresFeatures(cluster);
  const content = clusterContent(options.config ?? loadConfig(process.env, 'cluster'), postgres, {
    logger: { error: (obj: object, msg: string) => print(`${msg}: ${JSON.stringify(obj)}`) },
  });
  // The log holds content sealed: the rebuild opens it as the projector workers do.
  const eventStore = openingEventStore(await connectEventStore(cluster), content.cipher, (event) => content.onMissing(`${event.type} at ${event.position}`));
  const redis = await connectRedis(cluster, 'natter-replay');
  const cassandraClient = names.includes('history') ? await connectHistory(cluster) : null;
  const searchClient = names.includes('search') ? await connectSearch(cluster) : null;
  const versions = createRedisReadModelVersions({ redis, prefix: cluster.redisPrefix });
  const token = randomUUID();
  try {
    if (!(await versions.lock(names, token, LOCK_TTL_MS))) throw new Error(`another natter replay is rebuilding ${names.join(' or ')}; wait for it to finish`);
    let lockLost = false;
    const keepLock = setInterval(() => {
      versions.extendLocks(names, token, LOCK_TTL_MS).then(
        (held) => {
          lockLost ||= !held;
        },
        () => {},
      );
    }, LOCK_TTL_MS / 3);
    try {
      return await rebuild({ ...options, names, cluster, print, eventStore, redis, cassandraClient, searchClient, versions, token, lockLost: () => lockLost });
    } finally {
      clearInterval(keepLock);
      await versions.unlock(names, token);
    }
  } finally {
    await eventStore.close();
    await cassandraClient?.shutdown();
    await searchClient?.close();
    await postgres.close();
    redis.disconnect();
  }
};

const chooseProjections = (projection: string): VersionedProjection[] => {
  if (projection === 'all') return [...versionedProjections];
  if ((versionedProjections as readonly string[]).includes(projection)) return [projection as VersionedProjection];
  throw new Error(`unknown projection ${projection}; choose one of ${versionedProjections.join(', ')} or all`);
};

type Context = ClusterReplayOptions & {
  names: VersionedProjection[];
  cluster: ClusterConfig;
  print(line: string): void;
  eventStore: EventStore;
  redis: Redis;
  cassandraClient: cassandra.Client | null;
  searchClient: OpenSearchClient | null;
  versions: RedisReadModelVersions;
  token: string;
  lockLost(): boolean;
};

const dropVersion = async (ctx: Context, projection: VersionedProjection, version: number) => {
  if (projection === 'history') await dropHistoryVersion(ctx.cassandraClient!, ctx.cluster.cassandra.keyspace, version);
  else if (projection === 'search') await dropSearchIndex(ctx.searchClient!, ctx.cluster.opensearch.index, version);
  else await deleteUnder(ctx.redis, storeBase(ctx.cluster.redisPrefix, redisTag[projection], version));
};

/** An empty version to build into: fresh Cassandra tables, a fresh OpenSearch index, no Redis keys under its base. */
const prepareVersion = async (ctx: Context, projection: VersionedProjection, version: number) => {
  if (projection === 'history') await createHistoryVersion(ctx.cassandraClient!, ctx.cluster.cassandra.keyspace, version);
  else if (projection === 'search') {
    await dropSearchIndex(ctx.searchClient!, ctx.cluster.opensearch.index, version);
    await ensureSearchIndex(ctx.searchClient!, ctx.cluster.opensearch.index, version);
  } else await deleteUnder(ctx.redis, storeBase(ctx.cluster.redisPrefix, redisTag[projection], version));
};

const rebuild = async (ctx: Context): Promise<ClusterReplayResult> => {
  const { names, eventStore, versions, token, batchSize, print } = ctx;
  const fenceLeaseMs = ctx.fenceLeaseMs ?? 10_000;
  const allocated = await versions.allocate(names);
  for (const { projection, abandoned, active } of allocated) {
    if (abandoned > 0 && abandoned !== active) {
      print(`deleting ${projection} v${abandoned}, left behind by a replay that did not finish`);
      await dropVersion(ctx, projection, abandoned);
    }
  }
  let switched = false;
  let fenced = false;
  try {
    for (const { projection, version } of allocated) await prepareVersion(ctx, projection, version);
    print(`building ${allocated.map((a) => `${a.projection} v${a.version} (active: v${a.active})`).join(', ')}`);
    const stores = clusterStores(ctx.cluster, ctx.redis, ctx.cassandraClient, ctx.searchClient);
    const projectors: Projector[] = allocated.map(({ projection, version }) => stores.projectorAt(projection, version));

    let position = 0;
    let events = 0;
    let head = await eventStore.headPosition();
    ctx.onStart?.(head);
    const started = performance.now();
    // While a batch is written, the next one is read (bulk phase only: a read issued before the
    // fence could come back short of Q and end the last phase early).
    let prefetched: { after: number; batch: Promise<Recorded[]> } | null = null;
    const read = (after: number) => {
      const batch = prefetched?.after === after ? prefetched.batch : (eventStore.readAll({ after, maxCount: batchSize }) as Promise<Recorded[]>);
      prefetched = null;
      return batch;
    };
    /** Applies the next batch of the log, up to `limit`; true while a full batch below the limit came back (there may be more). */
    const pull = async (limit: number, prefetch = false): Promise<boolean> => {
      if (ctx.lockLost()) throw new Error('lost the replay lock (Redis unreachable for too long?); the old versions stay active');
      if (ctx.signal?.aborted) throw new Error('interrupted before the switch; the old versions stay active');
      const batch = await read(position);
      const within = batch.filter((e) => e.position <= limit);
      if (prefetch && batch.length === batchSize && within.length === batch.length) {
        const after = batch[batch.length - 1]!.position;
        prefetched = { after, batch: eventStore.readAll({ after, maxCount: batchSize }) as Promise<Recorded[]> };
        prefetched.batch.catch(() => {}); // awaited by the next pull, which sees the error
      }
      if (within.length > 0) {
        // The projections write different stores and read none of each other's: in parallel.
        await Promise.all(projectors.map((p) => p.handle(within)));
        position = within[within.length - 1]!.position;
        events += within.length;
        if (position > head) head = position;
        ctx.onProgress?.(position, head, events);
      }
      return batch.length === batchSize && within.length === batch.length;
    };

    while (await pull(Number.POSITIVE_INFINITY, true));
    const caughtUp = position;
    prefetched = null;

    await versions.fence(names, token, fenceLeaseMs);
    fenced = true;
    const fencedAt = performance.now();
    const switchAt = Math.max(await eventStore.headPosition(), position);
    for (;;) {
      if (!(await versions.extendFences(names, token, fenceLeaseMs))) throw new Error('the fence lapsed before the switch; the old versions stay active');
      if (!(await pull(switchAt))) break;
    }
    if (switchAt > head) head = switchAt;
    ctx.onProgress?.(switchAt, head, events);
    const seconds = (performance.now() - started) / 1000;
    const old = await versions.switchTo(
      token,
      allocated.map((a) => ({ projection: a.projection, version: a.version, from: switchAt })),
    );
    switched = true;
    const search = allocated.find((a) => a.projection === 'search');
    if (search) await pointSearchAlias(ctx.searchClient!, ctx.cluster.opensearch.index, search.version);
    const held = Math.round(performance.now() - fencedAt);
    print(
      `switched ${allocated.map((a, i) => `${a.projection} v${old[i]} → v${a.version}`).join(', ')} at log position ${switchAt} (workers held ${held} ms while the last ${switchAt - caughtUp} positions were applied)`,
    );

    await sleep(ctx.graceMs);
    for (const [i, { projection }] of allocated.entries()) await versions.retire(projection, old[i]!);
    const dropped: string[] = [];
    if (ctx.dropOld) {
      await sleep(ctx.graceMs);
      const state = await versions.read();
      for (const projection of names) {
        for (const version of await versions.retired(projection)) {
          if (version === (state.active[projection] ?? 1)) continue;
          await dropVersion(ctx, projection, version);
          await versions.forget(projection, version);
          dropped.push(`${projection} v${version}`);
        }
      }
      print(dropped.length > 0 ? `deleted ${dropped.join(', ')}` : 'no old version to delete');
    } else {
      print(`kept ${allocated.map((a, i) => `${a.projection} v${old[i]}`).join(', ')} (no longer written); --drop-old deletes retired versions`);
    }
    return { events, seconds, switchedAt: switchAt, versions: allocated.map((a, i) => ({ projection: a.projection, from: old[i]!, to: a.version })), dropped };
  } catch (error) {
    if (!switched) {
      // The workers resume on the old versions at once rather than when the lease runs out.
      if (fenced) await versions.unfence(names, token).catch(() => {});
      for (const { projection, version } of allocated) await dropVersion(ctx, projection, version).catch(() => {});
      await versions.abandon(names).catch(() => {});
    }
    throw error;
  }
};

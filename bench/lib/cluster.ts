// The cluster profile under test, and the measurements the cluster-* scenarios share with the embedded
// profile they are compared to in the same run.
//
// benchCluster() starts, once per bench run, on the real engines (scripts/engines.sh up, through
// scripts/engines.ts; running engines are reused): a fresh namespace (Redis prefix, PostgreSQL
// schema, Kafka topics and groups, Cassandra keyspace migrated), then a relay, 2 projector workers and
// 3 gateways, each its own `node bin/natter.js <role>` process (scripts/cluster-roles.ts), with
// the bench's high rate limits. stopBenchCluster() (bench/run.ts calls it at the end) kills them and
// drops the namespace. The roles are killed on exit and SIGINT as well.
import { loadavg } from 'node:os';
import type { Ctx } from './context.ts';
import { errMsg, round } from './context.ts';
import type { Conn, Target } from './drivers.ts';
import { connect } from './drivers.ts';
import { cdfPoints, decodeHist, mergeEncoded, newHist, recordUs, summarize, type LatencySummary } from './hist.ts';
import { createDirect, createGroup, devToken, devTokens, startNatter, type NatterServer } from './natter.ts';
import { REPO_DIR, sleep, startClient, stopAll, type Child, type IpcMsg } from './proc.ts';
import type { ConnSpec } from '../clients/common.ts';
import { namespace as redisNamespace } from '../../adapters/redis/keys.ts';

/** The load generators send far above a person's rate (same limits as startNatter in lib/natter.ts). */
export const BENCH_LIMITS: Record<string, string> = {
  NATTER_MESSAGES_PER_MINUTE: '1000000000',
  NATTER_EPHEMERAL_PER_SECOND: '100000000',
  NATTER_MAX_SOCKETS_PER_USER: '100000',
};
/** What every cluster role gets on top of the namespace. */
export const CLUSTER_ROLE_ENV: Record<string, string> = { ...BENCH_LIMITS, NATTER_KAFKA_SESSION_TIMEOUT_MS: '6000', NATTER_DEV_TOKENS: 'true' };

export const GATEWAYS = 3;
export const PROJECTORS = 2;

/** The engines could not be started: the scenario is skipped with this reason, not failed. */
export class EnginesUnavailable extends Error {}

export type Gateway = { id: string; base: string; target: Target };

export type BenchCluster = {
  namespace: string;
  env: Record<string, string>;
  gateways: Gateway[];
  /** REST base used for tokens and conversations (gateway 1) */
  base: string;
  /** seconds from the engines check to the first cross-gateway delivery */
  startup_s: number;
  /** what the projector workers printed (at log level warn) */
  projectorOutput(): string;
  /** marks the roles' output; logSince(mark) gives the warn/error lines printed since, prefixed by role */
  logMark(): number[];
  logSince(mark: number[]): string[];
  /** facts for the report */
  info(): Record<string, unknown>;
};

type Role = { name: string; child: import('node:child_process').ChildProcess; url?: string; output(): string; kill9(): Promise<void> };

let starting: Promise<BenchCluster> | null = null;
const roles: Role[] = [];
/** labels of `roles`, same order: relay, projector1, …, gw1, … */
const roleLabels: string[] = [];
let namespaceEnv: Record<string, string> | null = null;
let exitHookInstalled = false;

const killRolesNow = (): void => {
  for (const r of roles) {
    try {
      if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
    } catch { /* gone */ }
  }
};

/** Starts the engines only (for the adapters scenario, which needs no Natter process). */
export const engines = async (...names: Array<'redis' | 'postgres' | 'kafka' | 'cassandra'>): Promise<Record<string, string>> => {
  const { requireEngines } = await import('../../scripts/engines.ts');
  try {
    return (await requireEngines(...(names.length ? names : (['redis', 'postgres', 'kafka', 'cassandra'] as const)))) as unknown as Record<string, string>;
  } catch (e) {
    const err = e as Error & { stderr?: string };
    const tail = (err.stderr ?? '').trim().split('\n').filter((l) => /ERROR|error/.test(l)).slice(-2).join(' / ');
    throw new EnginesUnavailable(`scripts/engines.sh up failed: ${tail || err.message.split('\n')[0]}`);
  }
};

/** The running cluster of this bench run (started on first use). A failed start is remembered. */
export const benchCluster = (ctx: Ctx): Promise<BenchCluster> => {
  starting ??= startCluster(ctx);
  return starting;
};

const startCluster = async (ctx: Ctx): Promise<BenchCluster> => {
  const t0 = performance.now();
  if (process.cwd() !== REPO_DIR) process.chdir(REPO_DIR); // spawnRole runs bin/natter.js relative to the cwd
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', killRolesNow);
  }
  ctx.log('cluster: engines (scripts/engines.sh up)');
  await engines();
  const { clusterNamespace } = await import('../../scripts/cluster-namespace.ts');
  const { spawnRole } = await import('../../scripts/cluster-roles.ts');
  ctx.log('cluster: fresh namespace (Cassandra keyspace migrated)');
  const ns = await clusterNamespace();
  namespaceEnv = ns;
  const env = { ...ns, ...CLUSTER_ROLE_ENV };
  const spawn = async (role: string, label: string, extra: Record<string, string> = {}): Promise<Role> => {
    // a gateway picks a random port: retry once if it collides
    for (let attempt = 0; ; attempt++) {
      try {
        const r = (await spawnRole(role, env, extra)) as Role;
        roles.push(r);
        roleLabels.push(label);
        return r;
      } catch (e) {
        if (attempt >= 1 || role !== 'gateway') throw e;
      }
    }
  };
  ctx.log(`cluster: relay, ${PROJECTORS} projector workers, ${GATEWAYS} gateways`);
  await spawn('relay', 'relay');
  for (let i = 0; i < PROJECTORS; i++) await spawn('projector', `projector${i + 1}`); // one at a time: each joins the group
  const gws = await Promise.all(Array.from({ length: GATEWAYS }, (_, i) => spawn('gateway', `gw${i + 1}`, { NATTER_GATEWAY_ID: `gw${i + 1}` })));
  const gateways: Gateway[] = gws.map((r, i) => {
    const url = new URL(r.url!);
    return { id: `gw${i + 1}`, base: r.url!, target: { kind: 'natter', host: url.hostname, port: Number(url.port) } };
  });
  ctx.log('cluster: first cross-gateway delivery');
  await probe(gateways, 90_000);
  const startup = round((performance.now() - t0) / 1000, 1);
  ctx.log(`cluster: ready in ${startup}s (namespace ${ns.NATTER_REDIS_PREFIX})`);
  return {
    namespace: ns.NATTER_REDIS_PREFIX!,
    env,
    gateways,
    base: gateways[0]!.base,
    startup_s: startup,
    projectorOutput: () => roles.filter((r) => r.name === 'projector').map((r) => r.output()).join('\n'),
    logMark: () => roles.map((r) => r.output().length),
    logSince: (mark) =>
      roles.flatMap((r, i) =>
        r.output().slice(mark[i] ?? 0).split('\n').filter((l) => /warn|error|fatal|"level":[456]0/i.test(l)).map((l) => `${roleLabels[i]}: ${l}`),
      ),
    info: () => ({ namespace: ns.NATTER_REDIS_PREFIX, gateways: GATEWAYS, projector_workers: PROJECTORS, relays: 1, kafka_partitions: Number(ns.NATTER_KAFKA_PARTITIONS), startup_s: startup }),
  };
};

/** One message from gateway 1 to a device on gateway 2, retried until it arrives (consumer group settled). */
const probe = async (gateways: Gateway[], timeoutMs: number): Promise<void> => {
  const base = gateways[0]!.base;
  const a = `probe-${Date.now().toString(36)}-a`, b = a.replace(/-a$/, '-b');
  const ta = await devToken(base, a, 'd');
  const tb = await devToken(base, b, 'd');
  const room = await createDirect(base, ta, b);
  let got: (() => void) | null = null;
  const arrived = new Set<string>();
  const rx: Conn = await connect(gateways[1]!.target, { room, token: tb, deviceId: 'd' }, {
    onChat: (content) => {
      arrived.add(content);
      got?.();
    },
  });
  const tx: Conn = await connect(gateways[GATEWAYS - 1]!.target, { room, token: ta, deviceId: 'd' }, {});
  try {
    const end = Date.now() + timeoutMs;
    for (let i = 0; Date.now() < end; i++) {
      const content = `probe ${i}`;
      tx.sendChat(`probe-${i}`, content);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 3000);
        got = () => {
          if (arrived.has(content)) (clearTimeout(t), resolve());
        };
      });
      if (arrived.has(content)) return;
    }
    throw new Error(`no cross-gateway delivery within ${timeoutMs / 1000}s`);
  } finally {
    rx.close();
    tx.close();
  }
};

/** Kills the roles and drops the namespace (best effort, bounded). */
export const stopBenchCluster = async (log: (m: string) => void = () => undefined): Promise<void> => {
  if (!starting) return;
  starting.catch(() => undefined);
  starting = null;
  roleLabels.splice(0);
  await Promise.all(roles.splice(0).map((r) => r.kill9().catch(() => undefined)));
  const ns = namespaceEnv;
  namespaceEnv = null;
  if (!ns) return;
  log(`cluster: dropping namespace ${ns.NATTER_REDIS_PREFIX}`);
  const jobs: Array<Promise<unknown>> = [
    (async () => {
      const pg = (await import('pg')).default;
      const client = new pg.Client({ connectionString: ns.NATTER_PG_URL });
      await client.connect();
      try { await client.query(`DROP SCHEMA IF EXISTS "${ns.NATTER_PG_SCHEMA}" CASCADE`); } finally { await client.end(); }
    })(),
    (async () => {
      const { Kafka, logLevel } = await import('kafkajs');
      const admin = new Kafka({ clientId: 'natter-bench-cleanup', brokers: ns.NATTER_KAFKA_BROKERS!.split(','), logLevel: logLevel.NOTHING }).admin();
      await admin.connect();
      try { await admin.deleteTopics({ topics: [ns.NATTER_KAFKA_EVENTS_TOPIC!, ns.NATTER_KAFKA_PUSH_TOPIC!] }); } finally { await admin.disconnect(); }
    })(),
    (async () => {
      const { connectCassandra } = await import('../../adapters/cassandra/client.ts');
      const client = await connectCassandra({ contactPoints: ns.NATTER_CASSANDRA_CONTACT_POINTS!.split(','), localDataCenter: ns.NATTER_CASSANDRA_DC! });
      try { await client.execute(`DROP KEYSPACE IF EXISTS ${ns.NATTER_CASSANDRA_KEYSPACE}`); } finally { await client.shutdown(); }
    })(),
    (async () => {
      const { Redis } = await import('ioredis');
      const redis = new Redis(ns.NATTER_REDIS_URL!, { lazyConnect: true, maxRetriesPerRequest: 2 });
      await redis.connect();
      try {
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${redisNamespace(ns.NATTER_REDIS_PREFIX!)}*`, 'COUNT', 1000);
          cursor = next;
          if (keys.length) await redis.unlink(...keys);
        } while (cursor !== '0');
      } finally { redis.disconnect(); }
    })(),
  ];
  const settled = Promise.allSettled(jobs).then((rs) => rs.forEach((r) => r.status === 'rejected' && log(`cluster: cleanup: ${errMsg(r.reason)}`)));
  await Promise.race([settled, sleep(30_000)]);
};

/**
 * Counts what the projector workers publish to the gateways' Redis channels for one conversation:
 * new_message envelopes (one per gateway holding members' devices), per gateway, and the users named.
 * This observes the engine from outside; it is the same count as startProjectorWorker().published().
 */
export const publishCounter = async (c: BenchCluster, conversationId: string): Promise<{
  reset(): void;
  read(): { publishes: number; messages: number; users: number; per_gateway: Record<string, number> };
  close(): Promise<void>;
}> => {
  const { Redis } = await import('ioredis');
  const sub = new Redis(c.env.NATTER_REDIS_URL!, { lazyConnect: true, connectionName: 'natter-bench-publish-counter' });
  await sub.connect();
  const ns = redisNamespace(c.namespace);
  let publishes = 0, users = 0;
  let perGateway: Record<string, number> = {};
  let messages = new Set<string>();
  // The envelope (adapters/redis/delivery.ts) is { kind, json: <the frame, serialized once>, position, users }.
  sub.on('pmessage', (_pattern: string, channel: string, message: string) => {
    if (!message.includes(conversationId)) return;
    try {
      const env = JSON.parse(message) as { kind?: string; json?: string; users?: string[] };
      if (env.kind !== 'message' || typeof env.json !== 'string') return;
      const f = JSON.parse(env.json) as { type?: string; conversation_id?: string; message_id?: string };
      if (f.type !== 'new_message' || f.conversation_id !== conversationId) return;
      publishes++;
      users += env.users?.length ?? 0;
      if (f.message_id) messages.add(f.message_id);
      const gw = channel.slice(`${ns}gw:`.length);
      perGateway[gw] = (perGateway[gw] ?? 0) + 1;
    } catch { /* not ours */ }
  });
  await sub.psubscribe(`${ns}gw:*`);
  return {
    reset: () => {
      publishes = users = 0;
      perGateway = {};
      messages = new Set();
    },
    read: () => ({ publishes, messages: messages.size, users, per_gateway: { ...perGateway } }),
    close: async () => { sub.disconnect(); },
  };
};

/** The embedded server measured beside the cluster in the same run (same limits). */
export const embeddedServer = async (): Promise<{ server: NatterServer; target: Target; stop(): Promise<void> }> => {
  const server = await startNatter();
  return {
    server,
    target: { kind: 'natter', host: '127.0.0.1', port: server.port },
    stop: () => server.stop(),
  };
};

/** Where the load goes: a REST base for tokens and conversations, and the gateways to spread sockets over. */
export type Deployment = {
  label: string;
  base: string;
  targets: Target[];
};

// ---------------------------------------------------------------------------------------------------
// latency: a sender on targets[0], a receiver on targets[1 % n]; open loop at fixed rates, measured
// from the intended send time (coordinated-omission free), exactly as scenarios/latency.ts does.

export type LatencyAtRate = { latency: LatencySummary; sent: number; received: number; generator_lag_p99_ms: number; sender: Record<string, unknown>; cdf: Array<[number, number]> };

export const measureLatency = async (ctx: Ctx, d: Deployment, rates: number[], durationMs: number, tag: string): Promise<Record<number, LatencyAtRate>> => {
  const kids: Child[] = [];
  try {
    const alice = `${tag}-alice`, bob = `${tag}-bob`;
    const tok = await devToken(d.base, alice, 'phone');
    const room = await createDirect(d.base, tok, bob);
    const txTarget = d.targets[0]!, rxTarget = d.targets[1 % d.targets.length]!;
    const [rx, tx] = await Promise.all([
      startClient('clients/receiver.ts', { type: 'cmd', cmd: 'setup', target: rxTarget, base: d.base, conns: [{ room, userId: bob, deviceId: 'phone' }] }).then((c) => (kids.push(c.child), c)),
      startClient('clients/sender.ts', { type: 'cmd', cmd: 'setup', target: txTarget, base: d.base, conns: [{ room, userId: alice, deviceId: 'phone', token: tok }], tag: 'a' }).then((c) => (kids.push(c.child), c)),
    ]);
    // warm-up (not recorded): first messages of a conversation, JIT, consumer fetch loops
    await rx.child.request({ type: 'cmd', cmd: 'reset' }, 'reset_ok', 10_000);
    const w = await tx.child.request({ type: 'cmd', cmd: 'start', mode: 'open', rate: 50, durationMs: 1000, drainMs: 10_000 }, 'done', 60_000);
    await rx.child.request({ type: 'cmd', cmd: 'collect', total: Number(w.sent), timeoutMs: 15_000 }, 'result', 30_000);
    const out: Record<number, LatencyAtRate> = {};
    for (const rate of rates) {
      ctx.log(`${tag}: ${d.label} at ${rate} msgs/s for ${durationMs / 1000}s`);
      await rx.child.request({ type: 'cmd', cmd: 'reset' }, 'reset_ok', 10_000);
      const done = await tx.child.request({ type: 'cmd', cmd: 'start', mode: 'open', rate, durationMs, drainMs: 10_000 }, 'done', durationMs + 60_000);
      const got = await rx.child.request({ type: 'cmd', cmd: 'collect', total: Number(done.sent), timeoutMs: 15_000 }, 'result', 30_000);
      const h = decodeHist(got.hist as string);
      out[rate] = {
        latency: summarize(h), sent: Number(done.sent), received: Number(got.received), generator_lag_p99_ms: Number(done.lag_p99_ms),
        sender: { acked: done.acked, unacked: done.unacked, errors: done.errors, first_error: done.first_error }, cdf: cdfPoints(h),
      };
    }
    return out;
  } finally {
    await stopAll(kids);
  }
};

// ---------------------------------------------------------------------------------------------------
// durable: direct conversations between <tag><k>a and <tag><k>b; a's socket on targets[k % n], b's on
// the next gateway. Closed loop with a window of sends in flight per sending socket, acked only once
// appended. bothSend: both members send (two gateways write each stream: appends race on the expected
// revision); otherwise only a sends and b's socket (in a receiver process) only receives.

export type DurableFigures = {
  sockets_sending: number; sockets: number; conversations: number; both_send: boolean; window: number; duration_s: number;
  acked: number; errors: number; first_error?: unknown; msgs_per_s: number; ack_latency: LatencySummary; cdf: Array<[number, number]>;
};

export const measureDurable = async (
  ctx: Ctx, d: Deployment, o: { conversations: number; bothSend: boolean; window: number; durationMs: number; tag: string; procs?: number },
): Promise<DurableFigures> => {
  const kids: Child[] = [];
  const senders: Child[] = [];
  const { tag, window, durationMs } = o;
  const n = d.targets.length;
  try {
    const who = Array.from({ length: o.conversations }, (_, k) => ({ userId: `${tag}${k}a`, deviceId: 'd' }));
    const toks = await devTokens(d.base, who);
    const convs: string[] = [];
    for (let k = 0; k < o.conversations; k++) convs.push(await createDirect(d.base, toks[k]!, `${tag}${k}b`));
    const as: ConnSpec[] = convs.map((room, k) => ({ room, userId: `${tag}${k}a`, deviceId: 'd', token: toks[k], target: d.targets[k % n] }));
    const bs: ConnSpec[] = convs.map((room, k) => ({ room, userId: `${tag}${k}b`, deviceId: 'd', target: d.targets[(k + 1) % n] }));
    const sending = o.bothSend ? as.flatMap((x, k) => [x, bs[k]!]) : as;
    const procs = o.procs ?? 2;
    const per = Math.ceil(sending.length / procs);
    await Promise.all([
      ...Array.from({ length: procs }, (_, p) =>
        startClient('clients/sender.ts', { type: 'cmd', cmd: 'setup', target: d.targets[0], base: d.base, conns: sending.slice(p * per, (p + 1) * per), tag: `${tag}${p}-` }).then((c) => (kids.push(c.child), senders.push(c.child))),
      ),
      ...(o.bothSend ? [] : [startClient('clients/receiver.ts', { type: 'cmd', cmd: 'setup', target: d.targets[0], base: d.base, conns: bs }, { timeoutMs: 120_000 }).then((c) => kids.push(c.child))]),
    ]);
    const runAll = (start: IpcMsg, timeoutMs: number): Promise<IpcMsg[]> => Promise.all(senders.map((c) => c.request(start, 'done', timeoutMs)));
    // warm-up: one message per sending socket
    await runAll({ type: 'cmd', cmd: 'start', mode: 'closed', window: 1, durationMs: 5000, maxMessages: per, drainMs: 10_000 }, 60_000);
    ctx.log(`${tag}: ${d.label}, ${sending.length} sending sockets over ${o.conversations} direct conversations (${o.bothSend ? 'both members send' : 'one sender each'}), window ${window}, ${durationMs / 1000}s`);
    const rc = await runAll({ type: 'cmd', cmd: 'start', mode: 'closed', window, durationMs, drainMs: 10_000 }, durationMs + 60_000);
    const h = mergeEncoded(rc.map((r) => r.hist as string));
    const inWindow = rc.reduce((a, r) => a + Number(r.acked_in_window), 0);
    return {
      sockets_sending: sending.length, sockets: as.length + bs.length, conversations: o.conversations, both_send: o.bothSend, window, duration_s: durationMs / 1000,
      acked: rc.reduce((a, r) => a + Number(r.acked), 0),
      errors: rc.reduce((a, r) => a + Number(r.errors), 0),
      first_error: rc.find((r) => r.first_error)?.first_error,
      msgs_per_s: Math.round(inWindow / (durationMs / 1000)),
      ack_latency: summarize(h),
      cdf: cdfPoints(h),
    };
  } finally {
    await stopAll(kids);
  }
};

// ---------------------------------------------------------------------------------------------------
// fan-out: one sender on targets[0], a group of `size` members (one socket each, member k on
// targets[k % n], spread over 2 receiver processes); a fixed offered delivery load, then a burst.

export type FanoutFigures = {
  members: number;
  msgs_per_s_offered: number;
  sent: number;
  deliveries: number;
  expected_deliveries: number;
  deliveries_per_s: number;
  complete_messages: number;
  time_to_last: LatencySummary;
  per_delivery: LatencySummary;
  cdf: Array<[number, number]>;
  publishes?: ReturnType<Awaited<ReturnType<typeof publishCounter>>['read']> & { per_message: number | null };
  burst?: { sent: number; deliveries: number; expected_deliveries: number; deliveries_per_s: number; time_to_last: LatencySummary; publishes?: { publishes: number; per_message: number | null } };
  setup_s: number;
};

type Counter = Awaited<ReturnType<typeof publishCounter>>;

type RxResult = { received: number; last_us: number; hist: string; max_lat_of: number[]; count_of: number[] };

const timeToLast = (got: RxResult[], sent: number, members: number): { hist: ReturnType<typeof newHist>; complete: number } => {
  const hist = newHist();
  let complete = 0;
  for (let i = 0; i < sent; i++) {
    let count = 0, maxLat = -1;
    for (const g of got) {
      count += g.count_of[i] ?? 0;
      maxLat = Math.max(maxLat, g.max_lat_of[i] ?? -1);
    }
    if (count >= members && maxLat >= 0) {
      complete++;
      recordUs(hist, maxLat);
    }
  }
  return { hist, complete };
};

export const measureFanout = async (
  ctx: Ctx, d: Deployment, size: number, deliveriesPerS: number, durationMs: number, burstDeliveries: number, tag: string,
  counterFor?: (conversationId: string) => Promise<Counter>,
): Promise<FanoutFigures> => {
  const kids: Child[] = [];
  let counter: Counter | undefined;
  const t0 = performance.now();
  try {
    const ids = Array.from({ length: size }, (_, k) => `${tag}-u${k}`);
    const tok = await devToken(d.base, ids[0]!, 'd');
    const room = await createGroup(d.base, tok, tag, ids.slice(1));
    const receivers: ConnSpec[] = ids.slice(1).map((u, k) => ({ room, userId: u, deviceId: 'd', target: d.targets[(k + 1) % d.targets.length] }));
    const procs = 2;
    const per = Math.ceil(receivers.length / procs);
    const txP = startClient('clients/sender.ts', { type: 'cmd', cmd: 'setup', target: d.targets[0], base: d.base, conns: [{ room, userId: ids[0], deviceId: 'd', token: tok }], tag: 'f' }).then((c) => (kids.push(c.child), c));
    const rx = await Promise.all(
      Array.from({ length: procs }, (_, p) =>
        startClient('clients/receiver.ts', { type: 'cmd', cmd: 'setup', target: d.targets[0], base: d.base, conns: receivers.slice(p * per, (p + 1) * per) }, { timeoutMs: 180_000 }).then((c) => (kids.push(c.child), c)),
      ),
    );
    const tx = await txP;
    const opened = rx.map((r) => Number(r.ready.opened));
    const members = opened.reduce((a, b) => a + b, 0);
    if (counterFor) counter = await counterFor(room);
    const setupS = round((performance.now() - t0) / 1000, 1);

    const phase = async (rate: number, ms: number, collectMs: number): Promise<{ sent: number; startUs: number; got: RxResult[] }> => {
      await Promise.all(rx.map((r) => r.child.request({ type: 'cmd', cmd: 'reset' }, 'reset_ok', 10_000)));
      counter?.reset();
      const done = await tx.child.request({ type: 'cmd', cmd: 'start', mode: 'open', rate, durationMs: ms, drainMs: 30_000 }, 'done', ms + 90_000);
      const sent = Number(done.sent);
      const got = (await Promise.all(rx.map((r, p) => r.child.request({ type: 'cmd', cmd: 'collect', total: sent * opened[p]!, timeoutMs: collectMs }, 'result', collectMs + 30_000)))) as unknown as RxResult[];
      return { sent, startUs: Number(done.start_us), got };
    };
    // warm-up: a few messages to every member (connections registered, consumer and JIT warm)
    await phase(5, 600, 20_000);

    const rate = Math.min(5000, Math.max(1, deliveriesPerS / (size - 1)));
    ctx.log(`${tag}: ${d.label}, group of ${size}, ${round(rate, 1)} msgs/s for ${durationMs / 1000}s`);
    const main = await phase(rate, durationMs, 20_000);
    const mainPublishes = counter?.read();
    const deliveries = main.got.reduce((a, g) => a + g.received, 0);
    const lastUs = Math.max(...main.got.map((g) => g.last_us));
    const ttl = timeToLast(main.got, main.sent, members);
    const perDelivery = newHist();
    for (const g of main.got) perDelivery.add(decodeHist(g.hist));

    let burst: FanoutFigures['burst'];
    if (burstDeliveries > 0) {
      const burstMsgs = Math.max(1, Math.ceil(burstDeliveries / (size - 1)));
      ctx.log(`${tag}: ${d.label}, group of ${size}, burst of ${burstMsgs} messages within 0.1s`);
      const b = await phase(burstMsgs * 10, 100, 30_000);
      const bp = counter?.read();
      const bdeliveries = b.got.reduce((a, g) => a + g.received, 0);
      const blast = Math.max(...b.got.map((g) => g.last_us));
      burst = {
        sent: b.sent, deliveries: bdeliveries, expected_deliveries: b.sent * members,
        deliveries_per_s: blast > 0 ? Math.round(bdeliveries / ((blast - b.startUs) / 1e6)) : 0,
        time_to_last: summarize(timeToLast(b.got, b.sent, members).hist),
        ...(bp ? { publishes: { publishes: bp.publishes, per_message: bp.messages ? round(bp.publishes / bp.messages, 2) : null } } : {}),
      };
    }
    return {
      members: members + 1,
      msgs_per_s_offered: round(rate, 2),
      sent: main.sent,
      deliveries,
      expected_deliveries: main.sent * members,
      deliveries_per_s: lastUs > 0 ? Math.round(deliveries / ((lastUs - main.startUs) / 1e6)) : 0,
      complete_messages: ttl.complete,
      time_to_last: summarize(ttl.hist),
      per_delivery: summarize(perDelivery),
      cdf: cdfPoints(ttl.hist),
      ...(mainPublishes ? { publishes: { ...mainPublishes, per_message: mainPublishes.messages ? round(mainPublishes.publishes / mainPublishes.messages, 2) : null } } : {}),
      ...(burst ? { burst } : {}),
      setup_s: setupS,
    };
  } finally {
    await counter?.close();
    await stopAll(kids);
  }
};

/** Runs `fn` against the cluster, then against a fresh embedded server, in this order; errors are kept apart. */
export const clusterThenEmbedded = async <T>(
  ctx: Ctx,
  name: string,
  fn: (d: Deployment, which: 'cluster' | 'embedded', cluster?: BenchCluster) => Promise<T>,
): Promise<{ cluster?: T; embedded?: T; errors: Record<string, string>; skipped?: string; info?: Record<string, unknown>; log?: string[] }> => {
  const errors: Record<string, string> = {};
  let c: BenchCluster;
  try {
    c = await benchCluster(ctx);
  } catch (e) {
    if (e instanceof EnginesUnavailable) return { errors, skipped: e.message };
    return { errors: { cluster: errMsg(e) } };
  }
  const out: { cluster?: T; embedded?: T; errors: Record<string, string>; info?: Record<string, unknown>; log?: string[] } = {
    errors, info: { ...c.info(), load_avg_1m_at_start: round(loadavg()[0]!, 2) },
  };
  const mark = c.logMark();
  try {
    out.cluster = await fn({ label: `cluster (${c.gateways.length} gateways)`, base: c.base, targets: c.gateways.map((g) => g.target) }, 'cluster', c);
  } catch (e) {
    errors.cluster = errMsg(e);
    ctx.log(`${name}: cluster failed: ${errors.cluster}`);
  }
  const log = summarizeLog(c.logSince(mark));
  if (log.length) {
    out.log = log;
    ctx.log(`${name}: the cluster's roles logged warnings/errors: ${log[0]}${log.length > 1 ? ` (+${log.length - 1} more kinds)` : ''}`);
  }
  let emb: Awaited<ReturnType<typeof embeddedServer>> | undefined;
  try {
    emb = await embeddedServer();
    out.embedded = await fn({ label: 'embedded', base: emb.server.base, targets: [emb.target] }, 'embedded');
  } catch (e) {
    errors.embedded = errMsg(e);
    ctx.log(`${name}: embedded failed: ${errors.embedded}`);
  } finally {
    await emb?.stop();
  }
  return out;
};

/** "gw2: 98 × error WrongExpectedRevision: <first message>" per role and kind, most frequent first (at most 6). */
const summarizeLog = (lines: string[]): string[] => {
  const kinds = new Map<string, { n: number; sample: string }>();
  for (const line of lines) {
    const cut = line.indexOf(': ');
    const role = line.slice(0, cut), text = line.slice(cut + 2);
    let kind = text.slice(0, 80), sample = text;
    try {
      const j = JSON.parse(text) as { level?: number; msg?: string; err?: { type?: string; message?: string } };
      const level = j.level === 40 ? 'warn' : j.level && j.level >= 50 ? 'error' : String(j.level ?? '');
      kind = `${level} ${j.err?.type ?? ''} ${j.msg ?? ''}`.replace(/\s+/g, ' ').trim();
      sample = j.err?.message ?? j.msg ?? text;
    } catch { /* a plain line (truncated JSON included) */
      const m = /"type":"(\w+)","message":"([^"]{0,200})/.exec(text);
      if (m) (kind = `error ${m[1]}`), (sample = m[2]!);
    }
    const k = `${role}: ${kind}`;
    const e = kinds.get(k);
    if (e) e.n++;
    else kinds.set(k, { n: 1, sample: sample.slice(0, 200) });
  }
  return [...kinds].sort((a, b) => b[1].n - a[1].n).slice(0, 6).map(([k, v]) => `${k.replace(': ', `: ${v.n} × `)} (e.g. ${v.sample})`);
};

/**
 * The measured costs the model runs on, read from a bench report of each profile
 * (bench/lib/report.ts: `{ meta, scenarios: { <name>: { figures } } }`). Each figure says which
 * report figure it comes from, and how it was derived when the bench does not measure it directly.
 */
export type Figure = { value: number; source: string; derived?: string };

export type Measured = {
  /** Memory of one more idle socket on a gateway, bytes. */
  bytesPerSocket: Figure;
  /** CPU of one message command (validate, decide, append, ack) on the process that takes it, ms. */
  cpuMsPerMsg: Figure;
  /** CPU of writing one frame to one socket (fan-out), ms. */
  cpuMsPerDelivery: Figure;
  /** Events/s one projector process applies to every read model. */
  workerEventsPerS: Figure;
  /** Events/s one relay moves from the event log into Kafka. */
  relayEventsPerS: Figure;
  /** Events/s one Kafka partition was seen to take. */
  partitionEventsPerS: Figure;
  /** Appends/s of one PostgreSQL event log. */
  pgAppendsPerS: Figure;
  /** Messages/s of history one Cassandra node writes (replication factor 1). */
  cassandraMsgsPerS: Figure;
  /** Redis commands/s one primary executes (single-threaded). */
  redisCommandsPerS: Figure;
};

export type MeasuredKey = keyof Measured;

export const measuredKeys: MeasuredKey[] = [
  'bytesPerSocket',
  'cpuMsPerMsg',
  'cpuMsPerDelivery',
  'workerEventsPerS',
  'relayEventsPerS',
  'partitionEventsPerS',
  'pgAppendsPerS',
  'cassandraMsgsPerS',
  'redisCommandsPerS',
];

export type ReportMeta = { profile: string; date: string; commit: string; quick: boolean; path?: string };

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const num = (v: unknown): number | undefined => {
  const n = typeof v === 'string' ? Number(v.replace(/,/g, '')) : v;
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : undefined;
};

const figuresOf = (report: unknown, scenario: string): Json => obj(obj(obj(obj(report).scenarios)[scenario]).figures);

export const reportMeta = (report: unknown, path?: string): ReportMeta => {
  const m = obj(obj(report).meta);
  return {
    profile: String(m.profile ?? 'embedded'),
    date: String(m.date ?? ''),
    commit: String(m.git_commit ?? '').slice(0, 7),
    quick: m.quick === true,
    ...(path ? { path } : {}),
  };
};

/** A figure the model needs and the report lacks: the message names the flag that supplies it. */
export class MissingFigure extends Error {
  constructor(
    readonly key: MeasuredKey,
    where: string,
  ) {
    super(`the bench report has no ${where}; run the bench (see bench/README.md) or give it with --measured ${key}=<value>`);
  }
}

const need = (key: MeasuredKey, where: string, value: number | undefined): number => {
  if (value === undefined) throw new MissingFigure(key, where);
  return value;
};

/** Commands each inbox bench message costs inside the inbox script (adapters/redis/inbox-store.ts, APPLY). */
const INBOX_BENCH_MEMBERS = 5;
const pushModeCommandsPerMessage = 3 + INBOX_BENCH_MEMBERS + 2; // HMGET, HSET, SMEMBERS, a ZADD per member; the sender's read: HGET, HSET
const pullModeCommandsPerMessage = 2 + 2; // HMGET, HSET; HGET, HSET

/**
 * Reads every figure the model needs from the two reports; `overrides` (from --measured) replace
 * or supply figures. Throws MissingFigure when one is neither in the reports nor overridden.
 */
export const measuredFromReports = (embedded: unknown, cluster: unknown, overrides: Partial<Record<MeasuredKey, number>> = {}): Measured => {
  const out: Partial<Measured> = {};
  const take = (key: MeasuredKey, read: () => Figure) => {
    const given = overrides[key];
    out[key] = given !== undefined ? { value: given, source: '--measured (given on the command line)' } : read();
  };

  // Gateway memory: the idle scenario's marginal RSS per socket at its largest size, else RSS per socket.
  take('bytesPerSocket', () => {
    const idle = figuresOf(embedded, 'idle');
    const natter = obj(idle.natter);
    const sizes = Object.keys(natter)
      .map(Number)
      .filter(Number.isFinite)
      .sort((a, b) => b - a);
    for (const size of sizes) {
      const at = obj(natter[String(size)]);
      const marginal = num(at.marginal_bytes_per_socket_rss);
      if (marginal) return { value: marginal, source: `embedded idle: marginal RSS per socket up to ${size.toLocaleString('en-US')} sockets` };
      const rss = num(at.bytes_per_socket_rss);
      if (rss) return { value: rss, source: `embedded idle: RSS per socket at ${size.toLocaleString('en-US')} sockets` };
    }
    throw new MissingFigure('bytesPerSocket', 'idle.natter bytes per socket');
  });

  // A delivery: a saturated burst into a 1,000-member group is almost only socket writes, so one
  // core's time over the deliveries it managed is the cost of one (the message's own cost is 1/1,000 of it).
  take('cpuMsPerDelivery', () => {
    const fanout = figuresOf(embedded, 'fanout');
    const natter = obj(fanout.natter);
    const size = ['1000', '100', '10'].find((s) => num(obj(obj(natter[s]).burst).deliveries_per_s));
    const rate = need('cpuMsPerDelivery', 'fanout.natter burst deliveries/s', size ? num(obj(obj(natter[size]).burst).deliveries_per_s) : undefined);
    return {
      value: 1000 / rate,
      source: `embedded fanout: burst ${Math.round(rate).toLocaleString('en-US')} deliveries/s, group ${size}`,
      derived: 'one core ÷ burst deliveries/s (the burst saturates the single event loop with socket writes)',
    };
  });

  // A message: the throughput scenario's server CPU per 1,000 messages at 1,000/s (embedded: the append,
  // read models, one delivery and the ack), less the one delivery, which the model counts apart.
  take('cpuMsPerMsg', () => {
    const steps = arr(obj(figuresOf(embedded, 'throughput')).natter).map(obj);
    const step = steps.find((s) => s.offered_per_s === 1000) ?? steps.find((s) => s.saturated !== true);
    const perK = need('cpuMsPerMsg', 'throughput.natter server_cpu_ms_per_1k', step ? num(step.server_cpu_ms_per_1k) : undefined);
    const net = perK / 1000 - out.cpuMsPerDelivery!.value;
    return {
      value: net > 0 ? net : perK / 1000,
      source: `embedded throughput: server CPU ${perK} ms per 1,000 msgs at ${String(step!.offered_per_s)}/s`,
      derived:
        'CPU per 1,000 messages ÷ 1,000, less one delivery (the scenario has one receiver); the embedded server also writes SQLite and its read models, which a cluster gateway leaves to PostgreSQL and the workers',
    };
  });

  // A projector worker: the replay's own timing of one pass through directory, history, inbox and
  // receipts (start-up excluded), the projection code in one process.
  take('workerEventsPerS', () => {
    const rebuild = figuresOf(embedded, 'rebuild');
    const timed = num(rebuild.events_per_s_sum_of_projection_times);
    const value = need('workerEventsPerS', 'rebuild events/s', timed ?? num(rebuild.events_per_s));
    return {
      value,
      source: `embedded rebuild: ${timed ? 'events_per_s_sum_of_projection_times' : 'events_per_s'} over ${String(rebuild.events ?? '?')} events`,
      derived: 'a worker runs the same projectors; the replay writes SQLite, a worker Cassandra and Redis, which are sized on their own',
    };
  });

  const adapters = figuresOf(cluster, 'adapters');

  const relayRows = arr(obj(adapters.relay_throughput).results).map(obj);
  const partitions = num(obj(adapters.relay_throughput).partitions) ?? 8;
  const bestRelay = relayRows
    .map((r) => ({ r, v: num(r.events_per_s) }))
    .filter((x) => x.v)
    .sort((a, b) => b.v! - a.v!)[0];
  take('relayEventsPerS', () => {
    const value = need('relayEventsPerS', 'adapters.relay_throughput events/s', bestRelay?.v);
    return { value, source: `cluster adapters: relay events/s into Kafka (${String(bestRelay!.r.case)}, ${partitions} partitions, acks=all)` };
  });
  take('partitionEventsPerS', () => {
    const value = need('partitionEventsPerS', 'adapters.relay_throughput events/s', bestRelay?.v);
    return {
      value: value / partitions,
      source: `cluster adapters: relay events/s ÷ ${partitions} partitions`,
      derived: 'a lower bound: what each partition took while one relay was the limit',
    };
  });

  take('pgAppendsPerS', () => {
    const rows = arr(adapters.event_store_appends)
      .map(obj)
      .filter((r) => /postgres/i.test(String(r.store)));
    const best = rows
      .map((r) => ({ callers: num(r.callers) ?? 0, v: num(r.appendsPerSecond) }))
      .filter((x) => x.v)
      .sort((a, b) => b.callers - a.callers)[0];
    const value = need('pgAppendsPerS', 'adapters.event_store_appends PostgreSQL appends/s', best?.v);
    return {
      value,
      source: `cluster adapters: PostgreSQL appends/s at ${best!.callers} concurrent streams`,
      derived: 'the local PostgreSQL runs with fsync off (scripts/engines.sh), so this is an upper bound for a durable log',
    };
  });

  take('cassandraMsgsPerS', () => {
    const rows = arr(obj(adapters.history_writes).results)
      .map(obj)
      .filter((r) => r.case === 'cassandra');
    // The largest batch: a worker under load hands history a whole Kafka batch at once.
    const largest = [...rows].sort((a, b) => Number(b.batch) - Number(a.batch))[0];
    const value = need('cassandraMsgsPerS', 'adapters.history_writes Cassandra writes/s', largest ? num(largest.writes_per_s) : undefined);
    return {
      value,
      source: `cluster adapters: Cassandra history writes/s, batch ${String(largest!.batch)} (one node, replication factor 1)`,
      derived:
        'each message is 3 rows (messages, message_positions, conversation_last_seq); one client writing one batch at a time against one node that shares 2 cores, so a lower bound of a node',
    };
  });

  take('redisCommandsPerS', () => {
    const rows = arr(obj(adapters.inbox_updates).results).map(obj);
    // Push mode is Natter's default (per-member lists for groups up to 64); pull mode only if push is missing.
    const push = num(rows.find((r) => r.adapter === 'redis')?.ops_per_s);
    const pull = num(rows.find((r) => r.adapter === 'redis-pull')?.ops_per_s);
    const [ops, perMessage, mode] = push ? [push, pushModeCommandsPerMessage, 'push'] : [pull, pullModeCommandsPerMessage, 'pull'];
    const value = need('redisCommandsPerS', 'adapters.inbox_updates Redis ops/s', ops === undefined ? undefined : (ops / 2) * perMessage);
    return {
      value,
      source: `cluster adapters: inbox updates on Redis, ${mode} mode, ${Math.round(ops!).toLocaleString('en-US')} ops/s`,
      derived: `÷ 2 ops per message × ${perMessage} commands per message inside the inbox script (adapters/redis/inbox-store.ts, groups of ${INBOX_BENCH_MEMBERS}); script and batch overhead counted in, so a lower bound for plain commands`,
    };
  });

  return out as Measured;
};

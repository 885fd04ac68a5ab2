// durable: many sending sockets over many direct conversations, closed loop with a window of sends in
// flight per socket, each acked only once durable: acked msgs/s and ack latency.
// Embedded profile: both members of each conversation send; then an open loop at a fixed offered rate.
// The LIMIT in the same run: raw batched inserts into SQLite (WAL, synchronous=FULL) in a separate process.
// Cluster profile (cluster-durable): the sockets spread over the 3 gateways, appends to PostgreSQL, in two
// variants with the same number of sending sockets:
//   both send  — both members of each conversation send, from two different gateways: the two
//                gateways' writers race on the stream's expected revision;
//   one sender — twice the conversations, one member sends, the other (another gateway) only receives.
// Beside each in the same run: the embedded profile under the same load, as a ratio.
import { rmSync } from 'node:fs';
import type { ConnSpec } from '../clients/common.ts';
import type { Ctx, Scenario } from '../lib/context.ts';
import { errMsg, round } from '../lib/context.ts';
import { measureEach, scenarioName, subjectsFor, type Deployment, type Measured, type Running } from '../lib/deployment.ts';
import { cdfPoints, mergeEncoded, summarize, type LatencySummary } from '../lib/hist.ts';
import { createDirect, devTokens, embeddedWith, readModelsCaughtUp, tempDir, UNSEALED, type CaughtUp } from '../lib/natter.ts';
import { spawnTs, startClient, stopAll, type Child, type IpcMsg } from '../lib/proc.ts';
import { cpuByProcess, cpuPer1k, cpuSample } from '../lib/sys.ts';
import { row, type Plot, type Row, type ScenarioResult } from '../lib/report.ts';
import { TARGETS } from '../lib/targets.ts';

type Load = {
  conversations: number;
  bothSend: boolean;
  window: number;
  durationMs: number;
  warmup: boolean;
  open?: { rate: number; durationMs: number };
  /** The mixed workload: shares of edits and reactions among the acked operations (the rest are sends). */
  mix?: { edit: number; react: number };
};
type Closed = {
  sockets_sending: number;
  sockets: number;
  conversations: number;
  both_send: boolean;
  window: number;
  duration_s: number;
  acked: number;
  errors: number;
  first_error?: unknown;
  msgs_per_s: number;
  ack_latency: LatencySummary;
  cdf: Array<[number, number]>;
  ops?: { send: number; edit: number; react: number; read: number };
  /** CPU ms per 1,000 acked messages of each process serving the deployment, and their total */
  cpu_ms_per_1k?: Record<string, number>;
  /** Events not yet in every read model when the senders stopped, and how long after that they were (null: not within the wait). */
  read_models: CaughtUp;
};
type Open = {
  offered_per_s: number;
  duration_s: number;
  sent: number;
  acked: number;
  unacked: number;
  errors: number;
  overloaded: boolean;
  ack_latency: LatencySummary;
  cdf: Array<[number, number]>;
};
type Figures = { closed: Closed; open?: Open };

const sum = (rs: IpcMsg[], k: string): number => rs.reduce((a, r) => a + Number(r[k]), 0);

/** Direct conversations between <tag><k>a, on senders[k], and <tag><k>b, on receivers[k]; a sends, and b too when bothSend. */
const measure = async (ctx: Ctx, name: string, r: Running, o: Load, tag: string): Promise<Figures> => {
  const kids: Child[] = [];
  const senders: Child[] = [];
  const n = r.senders.length;
  try {
    const who = Array.from({ length: o.conversations }, (_, k) => ({ userId: `${tag}${k}a`, deviceId: 'd' }));
    const toks = await devTokens(r.base!, who);
    const convs: string[] = [];
    for (let k = 0; k < o.conversations; k++) convs.push(await createDirect(r.base!, toks[k]!, `${tag}${k}b`));
    const as: ConnSpec[] = convs.map((room, k) => ({ room, userId: `${tag}${k}a`, deviceId: 'd', token: toks[k], target: r.senders[k % n] }));
    const bs: ConnSpec[] = convs.map((room, k) => ({ room, userId: `${tag}${k}b`, deviceId: 'd', target: r.receivers[k % n] }));
    const sending = o.bothSend ? as.flatMap((x, k) => [x, bs[k]!]) : as;
    const procs = 2;
    const per = Math.ceil(sending.length / procs);
    await Promise.all([
      ...Array.from({ length: procs }, (_, p) =>
        startClient('clients/sender.ts', {
          type: 'cmd',
          cmd: 'setup',
          target: r.senders[0],
          base: r.base,
          conns: sending.slice(p * per, (p + 1) * per),
          tag: `${tag}${p}-`,
        }).then((c) => (kids.push(c.child), senders.push(c.child))),
      ),
      ...(o.bothSend
        ? []
        : [
            startClient('clients/receiver.ts', { type: 'cmd', cmd: 'setup', target: r.receivers[0], base: r.base, conns: bs }, { timeoutMs: 120_000 }).then(
              (c) => kids.push(c.child),
            ),
          ]),
    ]);
    const runAll = (start: IpcMsg, timeoutMs: number): Promise<IpcMsg[]> => Promise.all(senders.map((c) => c.request(start, 'done', timeoutMs)));
    // not recorded: one message per sending socket (the cluster's first appends to each stream, consumers)
    if (o.warmup) await runAll({ type: 'cmd', cmd: 'start', mode: 'closed', window: 1, durationMs: 5000, maxMessages: per, drainMs: 10_000 }, 60_000);
    ctx.log(
      `${name}: ${r.label}, ${sending.length} sending sockets over ${o.conversations} direct conversations (${o.bothSend ? 'both members send' : 'one sender each'}), closed loop, window ${o.window}, ${o.durationMs / 1000}s`,
    );
    const processes = (await r.processes?.()) ?? [];
    const cpuBefore = cpuSample(processes);
    const rc = await runAll(
      { type: 'cmd', cmd: 'start', mode: 'closed', window: o.window, durationMs: o.durationMs, drainMs: 10_000, ...(o.mix ? { mix: o.mix } : {}) },
      o.durationMs + 60_000,
    );
    // Read models and fan-out lag the acks (most in the cluster): their share of these messages comes
    // after, and the CPU is counted once they have caught up.
    const caughtUp = await readModelsCaughtUp(r.base!, 120_000);
    const cpu = cpuPer1k(cpuBefore, cpuSample(processes), sum(rc, 'acked'));
    const ops = o.mix
      ? (Object.fromEntries(
          (['send', 'edit', 'react', 'read'] as const).map((k) => [k, rc.reduce((a, x) => a + Number((x.ops as Record<string, number>)[k]), 0)]),
        ) as NonNullable<Closed['ops']>)
      : undefined;
    const hc = mergeEncoded(rc.map((x) => x.hist as string));
    const closed: Closed = {
      sockets_sending: sending.length,
      sockets: as.length + bs.length,
      conversations: o.conversations,
      both_send: o.bothSend,
      window: o.window,
      duration_s: o.durationMs / 1000,
      acked: sum(rc, 'acked'),
      errors: sum(rc, 'errors'),
      first_error: rc.find((x) => x.first_error)?.first_error,
      msgs_per_s: Math.round(sum(rc, 'acked_in_window') / (o.durationMs / 1000)),
      ack_latency: summarize(hc),
      cdf: cdfPoints(hc),
      ...(ops ? { ops } : {}),
      ...(cpu ? { cpu_ms_per_1k: cpu } : {}),
      read_models: caughtUp,
    };
    if (!o.open) return { closed };
    ctx.log(`${name}: ${r.label}, open loop, ${o.open.rate} msgs/s, ${o.open.durationMs / 1000}s`);
    const ro = await runAll(
      { type: 'cmd', cmd: 'start', mode: 'open', rate: o.open.rate / procs, durationMs: o.open.durationMs, drainMs: 15_000 },
      o.open.durationMs + 60_000,
    );
    const ho = mergeEncoded(ro.map((x) => x.hist as string));
    const open: Open = {
      offered_per_s: o.open.rate,
      duration_s: o.open.durationMs / 1000,
      sent: sum(ro, 'sent'),
      acked: sum(ro, 'acked'),
      unacked: sum(ro, 'unacked'),
      errors: sum(ro, 'errors'),
      overloaded: ro.some((x) => x.overloaded),
      ack_latency: summarize(ho),
      cdf: cdfPoints(ho),
    };
    return { closed, open };
  } finally {
    await stopAll(kids);
  }
};

type RawResult = { tx_rows: number; rows: number; transactions: number; seconds: number; rows_per_s: number };

const rawSqlite = async (ctx: Ctx): Promise<RawResult[]> => {
  const dir = tempDir('raw');
  const child = spawnTs('clients/sqlite-raw.ts');
  try {
    const r = await child.request({ type: 'cmd', cmd: 'run', dir, txSizes: [1, 100, 1000], durationMs: ctx.quick ? 1500 : 4000 }, 'done', 120_000);
    return r.results as RawResult[];
  } finally {
    await child.stop();
    rmSync(dir, { recursive: true, force: true });
  }
};

const strip = <T extends { cdf: unknown }>(x?: T) => x && { ...x, cdf: undefined };

/** Natter (both members send, then the open loop) beside raw SQLite inserts and one fsync. */
const embeddedRun = async (ctx: Ctx, d: Deployment): Promise<ScenarioResult> => {
  const pairs = ctx.quick ? 50 : 100;
  const window = 4;
  const openRate = ctx.durableRate ?? (ctx.quick ? 500 : 1000);
  const load: Load = {
    conversations: pairs,
    bothSend: true,
    window,
    durationMs: ctx.quick ? 4000 : 15_000,
    warmup: false,
    open: { rate: openRate, durationMs: ctx.quick ? 3000 : 10_000 },
  };
  const errors: Record<string, string> = {};
  const figures: Record<string, unknown> = {};
  ctx.log('durable: raw SQLite limit');
  let raw: RawResult[] = [];
  try {
    raw = await rawSqlite(ctx);
    figures.raw_sqlite = raw;
  } catch (e) {
    errors.raw_sqlite = errMsg(e);
  }
  const rawAt = (tx: number): number | null => raw.find((r) => r.tx_rows === tx)?.rows_per_s ?? null;
  const fsyncMs = rawAt(1) ? round(1000 / rawAt(1)!, 3) : null;

  const m = await measureEach(ctx, 'durable', subjectsFor(d, []), (r) => measure(ctx, 'durable', r, load, 'u'));
  Object.assign(errors, m.errors);
  const c = m.results.natter?.closed,
    o = m.results.natter?.open;
  if (c) figures.natter_closed = strip(c);
  if (o) figures.natter_open = strip(o);
  // The same closed loop with messages changing after they are sent: 30% of the operations are edits
  // of the sender's last message, 20% reactions toggled on it, and a mark_read follows every 4th ack.
  const mixed = await measureEach(ctx, 'durable-mixed', subjectsFor(d, []), (r) =>
    measure(ctx, 'durable, mixed', r, { ...load, open: undefined, mix: { edit: 0.3, react: 0.2 } }, 'x'),
  );
  Object.assign(errors, Object.fromEntries(Object.entries(mixed.errors).map(([k, v]) => [`${k}_mixed`, v])));
  const x = mixed.results.natter?.closed;
  if (x) figures.natter_mixed = strip(x);
  // What sealing message content (crypto-shredding) costs: the same closed loop with it off.
  const unsealedSubject = { key: 'natter_unsealed', start: embeddedWith(UNSEALED, 'embedded, content unsealed').start };
  const unsealed = await measureEach(ctx, 'durable-unsealed', [unsealedSubject], (r) =>
    measure(ctx, 'durable, content unsealed', r, { ...load, open: undefined }, 'p'),
  );
  Object.assign(errors, unsealed.errors);
  const p = unsealed.results.natter_unsealed?.closed;
  if (p) figures.natter_unsealed_closed = strip(p);
  const fsync = 'one fsync’d 1-row tx';
  const rows: Row[] = [
    row(
      `acked msgs/s, closed loop (${pairs * 2} sockets × window ${window})`,
      'msgs/s',
      c?.msgs_per_s,
      rawAt(100),
      'raw SQLite rows/s, tx=100',
      TARGETS.durableVsRaw,
    ),
    row('acked msgs/s, closed loop', 'msgs/s', c?.msgs_per_s, rawAt(1000), 'raw SQLite rows/s, tx=1000', TARGETS.durableVsRaw),
    row('ack p50, closed loop', 'ms', c?.ack_latency.p50_ms, fsyncMs, fsync),
    row('ack p99, closed loop', 'ms', c?.ack_latency.p99_ms, fsyncMs, fsync),
    row('ack p999, closed loop', 'ms', c?.ack_latency.p999_ms, fsyncMs, fsync),
    row(
      'durable ops/s, mixed closed loop (50% sends, 30% edits, 20% reactions; receipts besides)',
      'ops/s',
      x?.msgs_per_s,
      c?.msgs_per_s,
      'sends only, same run',
    ),
    row('ack p99, mixed closed loop', 'ms', x?.ack_latency.p99_ms, c?.ack_latency.p99_ms, 'sends only, same run'),
    row(
      'acked msgs/s, closed loop, content sealed (default)',
      'msgs/s',
      c?.msgs_per_s,
      p?.msgs_per_s,
      'content unsealed (NATTER_CONTENT_ENCRYPTION=false), same run',
    ),
    row('ack p99, closed loop, content sealed (default)', 'ms', c?.ack_latency.p99_ms, p?.ack_latency.p99_ms, 'content unsealed, same run'),
    row(`ack p50, open loop ${openRate}/s`, 'ms', o?.ack_latency.p50_ms, fsyncMs, fsync),
    row(`ack p99, open loop ${openRate}/s`, 'ms', o?.ack_latency.p99_ms, fsyncMs, fsync, TARGETS.durableAckP99VsFsync),
    row(`ack p99, open loop ${openRate}/s`, 'ms', o?.ack_latency.p99_ms, null, '—', TARGETS.durableOpenP99Ms),
    row(`ack p999, open loop ${openRate}/s`, 'ms', o?.ack_latency.p999_ms, fsyncMs, fsync),
  ];
  const plots: Plot[] =
    c && o
      ? [
          {
            title: 'durable: Natter ack latency (send → durable ack)',
            file: 'durable-ack-cdf.svg',
            series: [
              { label: `closed loop, window ${window}`, points: c.cdf },
              { label: `open loop ${openRate}/s`, points: o.cdf },
            ],
          },
        ]
      : [];
  const line = c
    ? `durable: Natter ${c.msgs_per_s.toLocaleString('en-US')} acked msgs/s (p50 ${c.ack_latency.p50_ms} / p99 ${c.ack_latency.p99_ms} / p999 ${c.ack_latency.p999_ms} ms), raw SQLite ${rawAt(1000)?.toLocaleString('en-US') ?? '?'} rows/s @tx1000 → ratio ${rows[1]!.ratio ?? '?'}; open loop ${openRate}/s p99 ${o?.ack_latency.p99_ms ?? '?'} ms; mixed ${x?.msgs_per_s.toLocaleString('en-US') ?? '?'} durable ops/s (${x ? JSON.stringify(x.ops) : 'n/a'}); content unsealed ${p?.msgs_per_s.toLocaleString('en-US') ?? '?'} msgs/s`
    : `durable: raw SQLite ${rawAt(100)?.toLocaleString('en-US') ?? '?'} rows/s @tx100, ${rawAt(1000)?.toLocaleString('en-US') ?? '?'} @tx1000, fsync ${fsyncMs ?? '?'} ms; Natter: ${errors.natter ?? 'n/a'}`;
  return { name: 'durable', line, figures, rows, plots, ...(Object.keys(errors).length ? { errors } : {}) };
};

type Variants = { both: Figures; one: Figures };

const caughtUpText = ({ lag_at_end: lag, caught_up_after_s: after }: CaughtUp) =>
  after === null ? `${lag ?? '?'} events behind at the end, not caught up within the wait` : `${lag} events behind at the end, caught up ${after} s later`;

/** Both variants on the cluster, then on the embedded profile beside it. */
const clusterRun = async (ctx: Ctx, d: Deployment, name: string): Promise<ScenarioResult> => {
  const pairs = ctx.quick ? 50 : 100;
  const window = 4;
  const load = { window, durationMs: ctx.quick ? 3000 : 10_000, warmup: true };
  const m: Measured<Variants> = await measureEach(ctx, name, subjectsFor(d, []), async (r, key) => ({
    both: await measure(ctx, name, r, { ...load, conversations: pairs, bothSend: true }, `cd${key[0]}b`),
    one: await measure(ctx, name, r, { ...load, conversations: pairs * 2, bothSend: false }, `cd${key[0]}o`),
  }));
  if (m.skipped) return { name, line: `${name}: skipped (${m.skipped})`, figures: {}, rows: [], skipped: m.skipped };
  const ref = 'embedded, same run';
  const rows: Row[] = [];
  const plots: Plot[] = [];
  const parts: string[] = [];
  const f = (x?: Closed): string =>
    x
      ? `${x.msgs_per_s.toLocaleString('en-US')} msgs/s (ack p50 ${x.ack_latency.p50_ms} / p99 ${x.ack_latency.p99_ms} ms${x.errors ? `, ${x.errors} sends refused: ${String(x.first_error)}` : ''}; read models ${caughtUpText(x.read_models)})`
      : 'n/a';
  for (const v of ['one', 'both'] as const) {
    const c = m.results.cluster?.[v].closed,
      e = m.results.embedded?.[v].closed;
    const what = v === 'one' ? `one sender per conversation, ${pairs * 2} conversations` : `both members send, ${pairs} conversations`;
    const rate = row(
      `acked msgs/s, ${what} (${pairs * 2} sending sockets × window ${window})`,
      'msgs/s',
      c?.msgs_per_s,
      e?.msgs_per_s,
      ref,
      TARGETS.clusterDurableVsEmbedded,
    );
    rows.push(rate);
    rows.push(row(`ack p50, ${what}`, 'ms', c?.ack_latency.p50_ms, e?.ack_latency.p50_ms, ref));
    rows.push(row(`ack p99, ${what}`, 'ms', c?.ack_latency.p99_ms, e?.ack_latency.p99_ms, ref));
    rows.push(row(`sends refused (error frames), ${what}`, 'sends', c?.errors, e?.errors, ref));
    rows.push(row(`read models caught up, after the last ack, ${what}`, 's', c?.read_models.caught_up_after_s, e?.read_models.caught_up_after_s, ref));
    plots.push({
      title: `cluster-durable: ack latency (send → durable ack), closed loop, ${what}`,
      file: `cluster-durable-${v}-ack-cdf.svg`,
      series: [...(c ? [{ label: 'cluster, 3 gateways', points: c.cdf }] : []), ...(e ? [{ label: 'embedded', points: e.cdf }] : [])],
    });
    parts.push(`${v === 'one' ? 'one sender' : 'both send'}: cluster ${f(c)}, embedded ${f(e)} → ×${rate.ratio ?? '?'}`);
  }
  // Where the cluster's CPU goes, per process (each role, each engine), beside the embedded server's.
  const cpu = m.results.cluster?.one.closed.cpu_ms_per_1k;
  const embeddedCpu = m.results.embedded?.one.closed.cpu_ms_per_1k?.total;
  for (const [label, ms] of Object.entries(cpu ?? {}))
    rows.push(
      row(`CPU ms per 1,000 acked msgs, one sender, ${label === 'total' ? 'all processes' : label}`, 'ms', ms, embeddedCpu, 'embedded server, same run'),
    );
  if (cpu) parts.push(`CPU ms per 1,000 msgs: cluster ${cpu.total} (${cpuByProcess(cpu)}), embedded ${embeddedCpu ?? '?'}`);
  const variants = (x?: Variants) => x && { both: strip(x.both.closed), one: strip(x.one.closed) };
  return {
    name: 'cluster-durable',
    line: `cluster-durable: ${parts.join('; ')}`,
    figures: { cluster_setup: m.setup.cluster, cluster: variants(m.results.cluster), embedded: variants(m.results.embedded) },
    rows,
    plots,
    ...(m.log.length ? { notes: m.log.map((l) => `cluster log: ${l}`) } : {}),
    ...(Object.keys(m.errors).length ? { errors: m.errors } : {}),
  };
};

export const durable = (d: Deployment): Scenario => {
  const name = scenarioName(d, 'durable');
  return {
    name,
    describe:
      d.name === 'cluster'
        ? 'durable acked msgs/s and ack latency, sockets over 3 gateways, cluster vs embedded'
        : 'durable acked msgs/s and ack latency vs raw SQLite inserts',
    run: (ctx) => (d.name === 'cluster' ? clusterRun(ctx, d, name) : embeddedRun(ctx, d)),
  };
};

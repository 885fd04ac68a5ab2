// durable: many senders over many direct conversations, acked only once durable.
// Closed loop (window of in-flight sends per socket) and open loop (fixed offered rate).
// LIMIT in the same run: raw batched inserts into SQLite (WAL, synchronous=FULL) in a separate process.
import { rmSync } from 'node:fs';
import type { Ctx, Scenario } from '../lib/context.ts';
import { errMsg, round } from '../lib/context.ts';
import { cdfPoints, mergeEncoded, summarize } from '../lib/hist.ts';
import { createDirect, devTokens, startNatter, tempDir, type NatterServer } from '../lib/natter.ts';
import { startClient, stopAll, spawnTs, type Child, type IpcMsg } from '../lib/proc.ts';
import { row, type Row, type ScenarioResult } from '../lib/report.ts';
import { TARGETS } from '../lib/targets.ts';
import type { Target } from '../lib/drivers.ts';
import type { ConnSpec } from '../clients/common.ts';

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

/** Direct conversations between u<k>a and u<k>b; returns one ConnSpec per socket (both members send). */
const conversations = async (n: NatterServer, pairs: number): Promise<ConnSpec[]> => {
  const who = Array.from({ length: pairs }, (_, k) => ({ userId: `u${k}a`, deviceId: 'd' }));
  const toks = await devTokens(n.base, who);
  const convs: string[] = [];
  for (let k = 0; k < pairs; k++) convs.push(await createDirect(n.base, toks[k]!, `u${k}b`));
  return convs.flatMap((room, k) => [
    { room, userId: `u${k}a`, deviceId: 'd', token: toks[k] },
    { room, userId: `u${k}b`, deviceId: 'd' },
  ]);
};

export const durable: Scenario = {
  name: 'durable',
  describe: 'durable acked msgs/s and ack latency vs raw SQLite inserts',
  run: async (ctx): Promise<ScenarioResult> => {
    const q = ctx.quick;
    const pairs = q ? 50 : 100;
    const window = 4;
    const closedMs = q ? 4000 : 15_000;
    const openRate = ctx.durableRate ?? (q ? 500 : 1000);
    const openMs = q ? 3000 : 10_000;
    const procs = 2;
    const errors: Record<string, string> = {};
    const figures: Record<string, unknown> = {};
    const plots: NonNullable<ScenarioResult['plots']> = [];

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

    let closed: Record<string, unknown> | null = null;
    let open: Record<string, unknown> | null = null;
    let server: NatterServer | undefined;
    const senders: Child[] = [];
    try {
      ctx.log(`durable: Natter, ${pairs * 2} sockets over ${pairs} direct conversations`);
      server = await startNatter();
      const specs = await conversations(server, pairs);
      const target: Target = { kind: 'natter', host: '127.0.0.1', port: server.port };
      const per = Math.ceil(specs.length / procs);
      await Promise.all(
        Array.from({ length: procs }, (_, p) =>
          startClient('clients/sender.ts', { type: 'cmd', cmd: 'setup', target, base: server!.base, conns: specs.slice(p * per, (p + 1) * per), tag: `p${p}-` }).then((c) => senders.push(c.child)),
        ),
      );
      const runAll = async (start: IpcMsg, timeoutMs: number): Promise<IpcMsg[]> =>
        Promise.all(senders.map((c) => c.request(start, 'done', timeoutMs)));

      ctx.log(`durable: closed loop, window ${window}, ${closedMs / 1000}s`);
      const rc = await runAll({ type: 'cmd', cmd: 'start', mode: 'closed', window, durationMs: closedMs, drainMs: 10_000 }, closedMs + 60_000);
      const hc = mergeEncoded(rc.map((r) => r.hist as string));
      const inWindow = rc.reduce((a, r) => a + Number(r.acked_in_window), 0);
      closed = {
        sockets: specs.length, window, duration_s: closedMs / 1000,
        acked: rc.reduce((a, r) => a + Number(r.acked), 0),
        errors: rc.reduce((a, r) => a + Number(r.errors), 0),
        first_error: rc.find((r) => r.first_error)?.first_error,
        msgs_per_s: Math.round(inWindow / (closedMs / 1000)),
        ack_latency: summarize(hc),
      };
      figures.natter_closed = closed;

      ctx.log(`durable: open loop, ${openRate} msgs/s, ${openMs / 1000}s`);
      const ro = await runAll({ type: 'cmd', cmd: 'start', mode: 'open', rate: openRate / procs, durationMs: openMs, drainMs: 15_000 }, openMs + 60_000);
      const ho = mergeEncoded(ro.map((r) => r.hist as string));
      open = {
        offered_per_s: openRate, duration_s: openMs / 1000,
        sent: ro.reduce((a, r) => a + Number(r.sent), 0),
        acked: ro.reduce((a, r) => a + Number(r.acked), 0),
        unacked: ro.reduce((a, r) => a + Number(r.unacked), 0),
        errors: ro.reduce((a, r) => a + Number(r.errors), 0),
        overloaded: ro.some((r) => r.overloaded),
        ack_latency: summarize(ho),
      };
      figures.natter_open = open;
      plots.push({
        title: 'durable: Natter ack latency (send → durable ack)',
        file: 'durable-ack-cdf.svg',
        series: [
          { label: `closed loop, window ${window}`, points: cdfPoints(hc) },
          { label: `open loop ${openRate}/s`, points: cdfPoints(ho) },
        ],
      });
    } catch (e) {
      errors.natter = errMsg(e);
    } finally {
      await stopAll(senders);
      await server?.stop();
    }

    const c = closed as { msgs_per_s: number; ack_latency: ReturnType<typeof summarize> } | null;
    const o = open as { ack_latency: ReturnType<typeof summarize> } | null;
    const rows: Row[] = [
      row(`acked msgs/s, closed loop (${pairs * 2} sockets × window ${window})`, 'msgs/s', c?.msgs_per_s, rawAt(100), 'raw SQLite rows/s, tx=100', TARGETS.durableVsRaw),
      row('acked msgs/s, closed loop', 'msgs/s', c?.msgs_per_s, rawAt(1000), 'raw SQLite rows/s, tx=1000', TARGETS.durableVsRaw),
      row('ack p50, closed loop', 'ms', c?.ack_latency.p50_ms, fsyncMs, 'one fsync’d 1-row tx'),
      row('ack p99, closed loop', 'ms', c?.ack_latency.p99_ms, fsyncMs, 'one fsync’d 1-row tx'),
      row('ack p999, closed loop', 'ms', c?.ack_latency.p999_ms, fsyncMs, 'one fsync’d 1-row tx'),
      row(`ack p50, open loop ${openRate}/s`, 'ms', o?.ack_latency.p50_ms, fsyncMs, 'one fsync’d 1-row tx'),
      row(`ack p99, open loop ${openRate}/s`, 'ms', o?.ack_latency.p99_ms, fsyncMs, 'one fsync’d 1-row tx', TARGETS.durableAckP99VsFsync),
      row(`ack p99, open loop ${openRate}/s`, 'ms', o?.ack_latency.p99_ms, null, '—', TARGETS.durableOpenP99Ms),
      row(`ack p999, open loop ${openRate}/s`, 'ms', o?.ack_latency.p999_ms, fsyncMs, 'one fsync’d 1-row tx'),
    ];
    const line = c
      ? `durable: Natter ${c.msgs_per_s.toLocaleString('en-US')} acked msgs/s (p50 ${c.ack_latency.p50_ms} / p99 ${c.ack_latency.p99_ms} / p999 ${c.ack_latency.p999_ms} ms), raw SQLite ${rawAt(1000)?.toLocaleString('en-US') ?? '?'} rows/s @tx1000 → ratio ${rows[1]!.ratio ?? '?'}; open loop ${openRate}/s p99 ${o?.ack_latency.p99_ms ?? '?'} ms`
      : `durable: raw SQLite ${rawAt(100)?.toLocaleString('en-US') ?? '?'} rows/s @tx100, ${rawAt(1000)?.toLocaleString('en-US') ?? '?'} @tx1000, fsync ${fsyncMs ?? '?'} ms; Natter: ${errors.natter ?? 'n/a'}`;
    return { name: 'durable', line, figures, rows, plots, ...(Object.keys(errors).length ? { errors } : {}) };
  },
};

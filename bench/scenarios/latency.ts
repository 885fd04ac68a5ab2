// latency: alice sends at fixed rates over one socket, bob receives on another (separate processes);
// send-to-receive latency from the intended send time (coordinated-omission free), p50/p99/p999.
// Embedded profile: beside Natter in the same run, the bare ws relay, the socket.io relay and
// Centrifugo (a channel without history; full runs only) under the same load; Centrifugo with history
// is in the throughput scenario, at these rates and more.
// Cluster profile (cluster-latency): alice on gateway 1, bob on gateway 2, so that every message crosses
// gateways: to the conversation's owner (when that is not gateway 1), its append to PostgreSQL, then
// the fast path's publish through Redis to gateway 2 (the projectors' fan-out delivers it again,
// later, and gateway 2 keeps the first copy); beside it the embedded profile under the same load.
import type { Ctx, Scenario } from '../lib/context.ts';
import { measureEach, scenarioName, subjectsFor, type Deployment, type Measured, type Running } from '../lib/deployment.ts';
import { hasAcks, type TargetKind } from '../lib/drivers.ts';
import { cdfPoints, decodeHist, summarize, type LatencySummary } from '../lib/hist.ts';
import { readModelsCaughtUp } from '../lib/natter.ts';
import { withCentrifugo } from '../lib/peers.ts';
import { sleep, startClient, stopAll, type Child } from '../lib/proc.ts';
import { row, type Plot, type Row, type ScenarioResult } from '../lib/report.ts';
import { pairRoom } from '../lib/rooms.ts';
import { LABEL } from '../lib/servers.ts';
import { cpuByProcess, cpuPer1k, cpuSample } from '../lib/sys.ts';
import { clusterLatencyP50OverEmbedded, TARGETS } from '../lib/targets.ts';

type AtRate = {
  latency: LatencySummary;
  sent: number;
  received: number;
  generator_lag_p99_ms: number;
  sender: Record<string, unknown>;
  /** CPU ms per 1,000 sent messages of each process serving the deployment, and their total (cluster: until the read models hold them). */
  cpu_ms_per_1k?: Record<string, number>;
  cdf: Array<[number, number]>;
};
type PerRate = Record<number, AtRate>;
type Settings = { rates: number[]; durationMs: number; warmup: boolean };

const settings = (ctx: Ctx, d: Deployment): Settings =>
  d.name === 'cluster'
    ? { rates: ctx.quick ? [100] : [100, 1000], durationMs: ctx.quick ? 3000 : 8000, warmup: true }
    : { rates: ctx.quick ? [100, 1000] : [100, 1000, 5000], durationMs: ctx.quick ? 2000 : 8000, warmup: false };

const measure = async (ctx: Ctx, name: string, r: Running, o: Settings, tag: string): Promise<PerRate> => {
  const kids: Child[] = [];
  try {
    const { sender, receiver } = await pairRoom(r, tag);
    const [rx, tx] = await Promise.all([
      startClient('clients/receiver.ts', { type: 'cmd', cmd: 'setup', target: r.receivers[0], base: r.base, conns: [receiver] }).then(
        (c) => (kids.push(c.child), c.child),
      ),
      startClient('clients/sender.ts', { type: 'cmd', cmd: 'setup', target: r.senders[0], base: r.base, conns: [sender], tag: 'a' }).then(
        (c) => (kids.push(c.child), c.child),
      ),
    ]);
    const run = async (rate: number, durationMs: number) => {
      await rx.request({ type: 'cmd', cmd: 'reset' }, 'reset_ok', 10_000);
      const done = await tx.request({ type: 'cmd', cmd: 'start', mode: 'open', rate, durationMs, drainMs: 10_000 }, 'done', durationMs + 60_000);
      const got = await rx.request({ type: 'cmd', cmd: 'collect', total: Number(done.sent), timeoutMs: 15_000 }, 'result', 30_000);
      return { done, got };
    };
    const processes = (await r.processes?.()) ?? [];
    // The durable path's share of what was sent (the cluster's projectors) may come after the last message is received.
    const settled = async (): Promise<boolean> => {
      if (!r.base || processes.length === 0) return false;
      const caughtUp = await readModelsCaughtUp(r.base, 30_000);
      return caughtUp.lag_at_end === null || caughtUp.caught_up_after_s !== null; // no gauge: nothing to wait for
    };
    // not recorded: the first messages of a conversation, JIT, the cluster consumers' fetch loops
    if (o.warmup) await run(50, 1000);
    else await sleep(200);
    await settled();
    const out: PerRate = {};
    for (const rate of o.rates) {
      ctx.log(`${name}: ${r.label} at ${rate} msgs/s for ${o.durationMs / 1000}s`);
      const cpuBefore = cpuSample(processes);
      const { done, got } = await run(rate, o.durationMs);
      // No figure rather than a short one when the read models did not catch up.
      const cpu = (await settled()) ? cpuPer1k(cpuBefore, cpuSample(processes), Number(done.sent)) : undefined;
      const h = decodeHist(got.hist as string);
      out[rate] = {
        latency: summarize(h),
        sent: Number(done.sent),
        received: Number(got.received),
        generator_lag_p99_ms: Number(done.lag_p99_ms),
        sender: { acked: done.acked, unacked: done.unacked, errors: done.errors, first_error: done.first_error },
        cdf: cdfPoints(h),
        ...(cpu ? { cpu_ms_per_1k: cpu } : {}),
      };
    }
    return out;
  } finally {
    await stopAll(kids);
  }
};

const f = (x?: LatencySummary): string => (x ? `${x.p50_ms}/${x.p99_ms}/${x.p999_ms}` : 'n/a');

/** The figures of one subject, per rate (without the CDF, which goes to the plot); servers without acks have no sender figures. */
const strip = (v: PerRate | undefined, acks: boolean) =>
  v &&
  Object.fromEntries(
    Object.entries(v).map(([k, x]) => [
      k,
      {
        ...x.latency,
        sent: x.sent,
        received: x.received,
        generator_lag_p99_ms: x.generator_lag_p99_ms,
        ...(acks ? { sender: x.sender } : {}),
        ...(x.cpu_ms_per_1k ? { cpu_ms_per_1k: x.cpu_ms_per_1k } : {}),
      },
    ]),
  );

/** Natter beside the relays and Centrifugo. */
const embeddedReport = (o: Settings, m: Measured<PerRate>, peers: { kinds: TargetKind[]; notes: string[] }): ScenarioResult => {
  const res = m.results;
  const rows: Row[] = [];
  const plots: Plot[] = [];
  const parts: string[] = [];
  for (const rate of o.rates) {
    const n = res.natter?.[rate]?.latency,
      w = res.ws?.[rate]?.latency,
      s = res.socketio?.[rate]?.latency;
    const c = res.centrifugo?.[rate]?.latency,
      ch = res['centrifugo-history']?.[rate]?.latency;
    rows.push(row(`p99 @${rate}/s`, 'ms', n?.p99_ms, w?.p99_ms, 'ws relay', TARGETS.latencyVsWs));
    rows.push(row(`p99 @${rate}/s`, 'ms', n?.p99_ms, s?.p99_ms, 'socket.io relay', TARGETS.latencyVsSocketIo));
    rows.push(row(`p50 @${rate}/s`, 'ms', n?.p50_ms, w?.p50_ms, 'ws relay'));
    rows.push(row(`p999 @${rate}/s`, 'ms', n?.p999_ms, w?.p999_ms, 'ws relay'));
    if (c) rows.push(row(`p99 @${rate}/s`, 'ms', n?.p99_ms, c.p99_ms, 'Centrifugo'), row(`p50 @${rate}/s`, 'ms', n?.p50_ms, c.p50_ms, 'Centrifugo'));
    if (ch) rows.push(row(`p99 @${rate}/s`, 'ms', n?.p99_ms, ch.p99_ms, 'Centrifugo, history on'));
    plots.push({
      title: `latency: send → receive at ${rate} msgs/s (CO-corrected)`,
      file: `latency-${rate}-cdf.svg`,
      series: (['natter', ...peers.kinds] as TargetKind[]).filter((k) => res[k]?.[rate]).map((k) => ({ label: LABEL[k], points: res[k]![rate]!.cdf })),
    });
    const cpu = res.natter?.[rate]?.cpu_ms_per_1k?.total;
    parts.push(
      `@${rate}/s Natter ${f(n)}${cpu === undefined ? '' : ` (CPU ${cpu} ms per 1,000 msgs)`} ws ${f(w)} sio ${f(s)}${c ? ` centrifugo ${f(c)}` : ''}${ch ? ` centrifugo+history ${f(ch)}` : ''}`,
    );
  }
  const figures = Object.fromEntries(Object.entries(res).map(([k, v]) => [k, strip(v, hasAcks(k as TargetKind))]));
  return {
    name: 'latency',
    line: `latency p50/p99/p999 ms: ${parts.join('; ')}`,
    figures: { rates: o.rates, duration_s: o.durationMs / 1000, ...figures },
    rows,
    plots,
    ...(peers.notes.length ? { notes: peers.notes } : {}),
    ...(Object.keys(m.errors).length ? { errors: m.errors } : {}),
  };
};

/** The cluster, gateway 1 → gateway 2, beside the embedded profile. */
const clusterReport = (o: Settings, m: Measured<PerRate>): ScenarioResult => {
  const { cluster, embedded } = m.results;
  const rows: Row[] = [];
  const plots: Plot[] = [];
  const parts: string[] = [];
  const ref = 'embedded, same run';
  for (const rate of o.rates) {
    const c = cluster?.[rate]?.latency,
      e = embedded?.[rate]?.latency;
    const p99 = row(`p99 gw1→gw2 @${rate}/s`, 'ms', c?.p99_ms, e?.p99_ms, ref, TARGETS.clusterLatencyP99VsEmbedded);
    rows.push(row(`p50 gw1→gw2 @${rate}/s`, 'ms', c?.p50_ms, e?.p50_ms, ref, e ? clusterLatencyP50OverEmbedded(e.p50_ms) : undefined), p99);
    rows.push(row(`p99 gw1→gw2 @${rate}/s`, 'ms', c?.p99_ms, null, '—', TARGETS.clusterLatencyP99Ms));
    rows.push(row(`p999 gw1→gw2 @${rate}/s`, 'ms', c?.p999_ms, e?.p999_ms, ref));
    // What a message costs at this rate, every process of the cluster (each role, each engine) beside the embedded server.
    const cpu = cluster?.[rate]?.cpu_ms_per_1k;
    const embeddedCpu = embedded?.[rate]?.cpu_ms_per_1k?.total;
    if (cpu) rows.push(row(`CPU ms per 1,000 msgs @${rate}/s, all processes`, 'ms', cpu.total, embeddedCpu, 'embedded server, same run'));
    plots.push({
      title: `cluster-latency: send (gateway 1) → receive (gateway 2) at ${rate} msgs/s, vs embedded (CO-corrected)`,
      file: `cluster-latency-${rate}-cdf.svg`,
      series: [
        ...(cluster?.[rate] ? [{ label: 'cluster, 3 gateways', points: cluster[rate]!.cdf }] : []),
        ...(embedded?.[rate] ? [{ label: 'embedded', points: embedded[rate]!.cdf }] : []),
      ],
    });
    parts.push(
      `@${rate}/s cluster ${f(c)}, embedded ${f(e)} → p99 ×${p99.ratio ?? '?'}${cpu ? `, CPU ms per 1,000 msgs ${cpu.total} (${cpuByProcess(cpu, 4)}) vs ${embeddedCpu ?? '?'}` : ''}`,
    );
  }
  return {
    name: 'cluster-latency',
    line: `cluster-latency p50/p99/p999 ms: ${parts.join('; ')}`,
    figures: {
      rates: o.rates,
      duration_s: o.durationMs / 1000,
      cluster_setup: m.setup.cluster,
      cluster: strip(cluster, true),
      embedded: strip(embedded, true),
    },
    rows,
    plots,
    ...(m.log.length ? { notes: m.log.map((l) => `cluster log: ${l}`) } : {}),
    ...(Object.keys(m.errors).length ? { errors: m.errors } : {}),
  };
};

export const latency = (d: Deployment): Scenario => {
  const name = scenarioName(d, 'latency');
  return {
    name,
    describe:
      d.name === 'cluster'
        ? 'cross-gateway send-to-receive latency at fixed rates, cluster vs embedded'
        : 'send-to-receive latency at fixed rates vs ws and socket.io relays and Centrifugo',
    usesCentrifugo: d.name === 'embedded',
    run: async (ctx): Promise<ScenarioResult> => {
      const o = settings(ctx, d);
      const peers = d.name === 'cluster' ? { kinds: [], notes: [] } : await withCentrifugo(ctx, ['ws', 'socketio'], { full: ['centrifugo'], quick: [] });
      const m = await measureEach(ctx, name, subjectsFor(d, peers.kinds), (r, key) => measure(ctx, name, r, o, `lat-${key}`));
      if (m.skipped) return { name, line: `${name}: skipped (${m.skipped})`, figures: {}, rows: [], skipped: m.skipped };
      return d.name === 'cluster' ? clusterReport(o, m) : embeddedReport(o, m, peers);
    },
  };
};

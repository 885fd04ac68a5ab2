// latency: alice sends at a fixed rate over one socket, bob receives on another (separate processes);
// send-to-receive latency from the intended send time (coordinated-omission free), p50/p99/p999.
// PEERS in the same run: the bare ws relay, the socket.io relay and Centrifugo (a channel without
// history; full runs only) under the same load. Centrifugo with history is in the throughput scenario,
// at these rates and more.
import type { Ctx, Scenario } from '../lib/context.ts';
import { errMsg } from '../lib/context.ts';
import { cdfPoints, decodeHist, summarize, type LatencySummary } from '../lib/hist.ts';
import { startClient, stopAll, type Child } from '../lib/proc.ts';
import { row, type Plot, type Row, type ScenarioResult } from '../lib/report.ts';
import { pairRoom } from '../lib/rooms.ts';
import { LABEL, startServer, type RunningServer } from '../lib/servers.ts';
import { TARGETS } from '../lib/targets.ts';
import { hasAcks, type TargetKind } from '../lib/drivers.ts';
import { withCentrifugo } from '../lib/peers.ts';

type PerRate = Record<number, { latency: LatencySummary; sent: number; received: number; generator_lag_p99_ms: number; sender: Record<string, unknown>; cdf: Array<[number, number]> }>;

const measure = async (ctx: Ctx, kind: TargetKind, rates: number[], durationMs: number): Promise<PerRate> => {
  let server: RunningServer | undefined;
  const kids: Child[] = [];
  try {
    server = await startServer(kind);
    const { sender, receiver } = await pairRoom(server, 'lat');
    const base = server.natter?.base;
    const [rx, tx] = await Promise.all([
      startClient('clients/receiver.ts', { type: 'cmd', cmd: 'setup', target: server.target, base, conns: [receiver] }).then((c) => (kids.push(c.child), c)),
      startClient('clients/sender.ts', { type: 'cmd', cmd: 'setup', target: server.target, base, conns: [sender], tag: 'a' }).then((c) => (kids.push(c.child), c)),
    ]);
    await new Promise((r) => setTimeout(r, 200));
    const out: PerRate = {};
    for (const rate of rates) {
      ctx.log(`latency: ${LABEL[kind]} at ${rate} msgs/s for ${durationMs / 1000}s`);
      await rx.child.request({ type: 'cmd', cmd: 'reset' }, 'reset_ok', 10_000);
      const done = await tx.child.request({ type: 'cmd', cmd: 'start', mode: 'open', rate, durationMs, drainMs: 10_000 }, 'done', durationMs + 60_000);
      const got = await rx.child.request({ type: 'cmd', cmd: 'collect', total: Number(done.sent), timeoutMs: 10_000 }, 'result', 30_000);
      const h = decodeHist(got.hist as string);
      out[rate] = { latency: summarize(h), sent: Number(done.sent), received: Number(got.received), generator_lag_p99_ms: Number(done.lag_p99_ms), sender: { acked: done.acked, unacked: done.unacked, errors: done.errors, first_error: done.first_error }, cdf: cdfPoints(h) };
    }
    return out;
  } finally {
    await stopAll(kids);
    await server?.stop();
  }
};

export const latency: Scenario = {
  name: 'latency',
  describe: 'send-to-receive latency at fixed rates vs ws and socket.io relays and Centrifugo',
  usesCentrifugo: true,
  run: async (ctx): Promise<ScenarioResult> => {
    const rates = ctx.quick ? [100, 1000] : [100, 1000, 5000];
    const durationMs = ctx.quick ? 2000 : 8000;
    const res: Partial<Record<TargetKind, PerRate>> = {};
    const errors: Record<string, string> = {};
    const peers = await withCentrifugo(ctx, ['ws', 'socketio'], { full: ['centrifugo'], quick: [] });
    const kinds: TargetKind[] = [...peers.kinds, 'natter'];
    for (const kind of kinds) {
      try {
        res[kind] = await measure(ctx, kind, rates, durationMs);
      } catch (e) {
        errors[kind] = errMsg(e);
        ctx.log(`latency: ${LABEL[kind]} failed: ${errors[kind]}`);
      }
    }
    const rows: Row[] = [];
    const plots: Plot[] = [];
    const parts: string[] = [];
    for (const rate of rates) {
      const n = res.natter?.[rate]?.latency, w = res.ws?.[rate]?.latency, s = res.socketio?.[rate]?.latency;
      const c = res.centrifugo?.[rate]?.latency, ch = res['centrifugo-history']?.[rate]?.latency;
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
      const f = (x?: LatencySummary): string => (x ? `${x.p50_ms}/${x.p99_ms}/${x.p999_ms}` : 'n/a');
      parts.push(`@${rate}/s Natter ${f(n)} ws ${f(w)} sio ${f(s)}${c ? ` centrifugo ${f(c)}` : ''}${ch ? ` centrifugo+history ${f(ch)}` : ''}`);
    }
    const figures = Object.fromEntries(
      Object.entries(res).map(([k, v]) => [k, Object.fromEntries(Object.entries(v).map(([r, x]) => [r, { ...x.latency, sent: x.sent, received: x.received, generator_lag_p99_ms: x.generator_lag_p99_ms, ...(hasAcks(k as TargetKind) ? { sender: x.sender } : {}) }]))]),
    );
    return {
      name: 'latency',
      line: `latency p50/p99/p999 ms: ${parts.join('; ')}`,
      figures: { rates, duration_s: durationMs / 1000, ...figures },
      rows,
      plots,
      ...(peers.notes.length ? { notes: peers.notes } : {}),
      ...(Object.keys(errors).length ? { errors } : {}),
    };
  },
};

// fanout: one sender, groups of 10 / 100 / 1,000 members all online (one socket each, spread over a
// few client processes). The sender offers a fixed delivery load; we measure deliveries/s and the
// time until the last member has each message (p50/p99); then a 100 ms burst far above that load
// gives the delivery capacity (deliveries/s). Same against the ws and socket.io relays and Centrifugo
// (a channel without history: one publish, one push per subscriber).
import type { Ctx, Scenario } from '../lib/context.ts';
import { errMsg, round } from '../lib/context.ts';
import { cdfPoints, decodeHist, newHist, recordUs, summarize, type LatencySummary } from '../lib/hist.ts';
import { startClient, stopAll, type Child } from '../lib/proc.ts';
import { row, type Plot, type Row, type ScenarioResult } from '../lib/report.ts';
import { groupRoom } from '../lib/rooms.ts';
import { LABEL, startServer, type RunningServer } from '../lib/servers.ts';
import { TARGETS } from '../lib/targets.ts';
import type { TargetKind } from '../lib/drivers.ts';
import { withCentrifugo } from '../lib/peers.ts';

type GroupFigures = {
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
  burst: { sent: number; deliveries: number; expected_deliveries: number; offered_deliveries_per_s: number; deliveries_per_s: number };
};

const oneGroup = async (ctx: Ctx, server: RunningServer, size: number, deliveriesPerS: number, durationMs: number, burstDeliveries: number): Promise<GroupFigures> => {
  const kids: Child[] = [];
  try {
    const { sender, receivers } = await groupRoom(server, `g${size}`, size);
    const base = server.natter?.base;
    const procs = size <= 10 ? 1 : size <= 5000 ? 2 : Math.ceil(size / 5000);
    const per = Math.ceil(receivers.length / procs);
    const txP = startClient('clients/sender.ts', { type: 'cmd', cmd: 'setup', target: server.target, base, conns: [sender], tag: 'f' }).then((c) => (kids.push(c.child), c));
    const rx = await Promise.all(
      Array.from({ length: procs }, (_, p) =>
        startClient('clients/receiver.ts', { type: 'cmd', cmd: 'setup', target: server.target, base, conns: receivers.slice(p * per, (p + 1) * per) }, { timeoutMs: 120_000 }).then((c) => (kids.push(c.child), c)),
      ),
    );
    const tx = await txP;
    const opened = rx.map((r) => Number(r.ready.opened));
    await new Promise((r) => setTimeout(r, 300));
    const rate = Math.min(5000, Math.max(1, deliveriesPerS / (size - 1)));
    ctx.log(`fanout: ${LABEL[server.kind]} group of ${size}, ${round(rate, 1)} msgs/s for ${durationMs / 1000}s`);
    const done = await tx.child.request({ type: 'cmd', cmd: 'start', mode: 'open', rate, durationMs, drainMs: 10_000 }, 'done', durationMs + 60_000);
    const sent = Number(done.sent);
    const got = await Promise.all(rx.map((r, p) => r.child.request({ type: 'cmd', cmd: 'collect', total: sent * opened[p]!, timeoutMs: 20_000 }, 'result', 60_000)));
    const members = opened.reduce((a, b) => a + b, 0);
    const deliveries = got.reduce((a, g) => a + Number(g.received), 0);
    const lastUs = Math.max(...got.map((g) => Number(g.last_us)));
    const ttl = newHist();
    let complete = 0;
    for (let i = 0; i < sent; i++) {
      let count = 0, maxLat = -1;
      for (const g of got) {
        count += (g.count_of as number[])[i] ?? 0;
        maxLat = Math.max(maxLat, (g.max_lat_of as number[])[i] ?? -1);
      }
      if (count >= members && maxLat >= 0) {
        complete++;
        recordUs(ttl, maxLat);
      }
    }
    const perDelivery = newHist();
    for (const g of got) perDelivery.add(decodeHist(g.hist as string));

    // burst: `burstDeliveries` worth of messages offered within 100 ms, to find the delivery capacity
    await Promise.all(rx.map((r) => r.child.request({ type: 'cmd', cmd: 'reset' }, 'reset_ok', 10_000)));
    const burstMsgs = Math.max(1, Math.ceil(burstDeliveries / (size - 1)));
    ctx.log(`fanout: ${LABEL[server.kind]} group of ${size}, burst of ${burstMsgs} messages within 0.1s`);
    const bdone = await tx.child.request({ type: 'cmd', cmd: 'start', mode: 'open', rate: burstMsgs * 10, durationMs: 100, drainMs: 30_000 }, 'done', 90_000);
    const bsent = Number(bdone.sent);
    const bgot = await Promise.all(rx.map((r, p) => r.child.request({ type: 'cmd', cmd: 'collect', total: bsent * opened[p]!, timeoutMs: 30_000 }, 'result', 60_000)));
    const bdeliveries = bgot.reduce((a, g) => a + Number(g.received), 0);
    const blast = Math.max(...bgot.map((g) => Number(g.last_us)));
    const burst = {
      sent: bsent,
      deliveries: bdeliveries,
      expected_deliveries: bsent * members,
      offered_deliveries_per_s: bsent * members * 10,
      deliveries_per_s: blast > 0 ? Math.round(bdeliveries / ((blast - Number(bdone.start_us)) / 1e6)) : 0,
    };
    return {
      members: members + 1,
      msgs_per_s_offered: round(rate, 2),
      sent,
      deliveries,
      expected_deliveries: sent * members,
      deliveries_per_s: lastUs > 0 ? Math.round(deliveries / ((lastUs - Number(done.start_us)) / 1e6)) : 0,
      complete_messages: complete,
      time_to_last: summarize(ttl),
      per_delivery: summarize(perDelivery),
      cdf: cdfPoints(ttl),
      burst,
    };
  } finally {
    await stopAll(kids);
  }
};

export const fanout: Scenario = {
  name: 'fanout',
  describe: 'group fan-out: deliveries/s and time until the last member has each message',
  usesCentrifugo: true,
  run: async (ctx): Promise<ScenarioResult> => {
    const sizes = [10, 100, 1000];
    const offered = ctx.quick ? 10_000 : 20_000;
    const durationMs = ctx.quick ? 1500 : 5000;
    const burstDeliveries = ctx.quick ? 20_000 : 100_000;
    const res: Partial<Record<TargetKind, Record<number, GroupFigures>>> = {};
    const errors: Record<string, string> = {};
    const peers = await withCentrifugo(ctx, ['ws', 'socketio'], { full: ['centrifugo'], quick: [] });
    const kinds: TargetKind[] = [...peers.kinds, 'natter'];
    for (const kind of kinds) {
      let server: RunningServer | undefined;
      try {
        server = await startServer(kind);
        for (const size of sizes) {
          try {
            (res[kind] ??= {})[size] = await oneGroup(ctx, server, size, offered, durationMs, burstDeliveries);
          } catch (e) {
            errors[`${kind}/${size}`] = errMsg(e);
            ctx.log(`fanout: ${LABEL[kind]} group of ${size} failed: ${errMsg(e)}`);
          }
        }
      } catch (e) {
        errors[kind] = errMsg(e);
        ctx.log(`fanout: ${LABEL[kind]} failed: ${errMsg(e)}`);
      } finally {
        await server?.stop();
      }
    }
    const rows: Row[] = [];
    const plots: Plot[] = [];
    const parts: string[] = [];
    for (const size of sizes) {
      const n = res.natter?.[size], w = res.ws?.[size], s = res.socketio?.[size], c = res.centrifugo?.[size];
      rows.push(row(`deliveries/s, group ${size}`, 'deliveries/s', n?.deliveries_per_s, w?.deliveries_per_s, 'ws relay', TARGETS.fanoutRateVsWs));
      rows.push(row(`deliveries/s, group ${size}`, 'deliveries/s', n?.deliveries_per_s, s?.deliveries_per_s, 'socket.io relay', TARGETS.fanoutRateVsSocketIo));
      rows.push(row(`burst capacity deliveries/s, group ${size}`, 'deliveries/s', n?.burst.deliveries_per_s, w?.burst.deliveries_per_s, 'ws relay', TARGETS.fanoutBurstVsWs));
      rows.push(row(`burst capacity deliveries/s, group ${size}`, 'deliveries/s', n?.burst.deliveries_per_s, s?.burst.deliveries_per_s, 'socket.io relay', TARGETS.fanoutBurstVsSocketIo));
      rows.push(row(`time to last member p50, group ${size}`, 'ms', n?.time_to_last.p50_ms, w?.time_to_last.p50_ms, 'ws relay'));
      rows.push(row(`time to last member p99, group ${size}`, 'ms', n?.time_to_last.p99_ms, w?.time_to_last.p99_ms, 'ws relay', TARGETS.fanoutLastP99VsWs));
      rows.push(row(`time to last member p99, group ${size}`, 'ms', n?.time_to_last.p99_ms, s?.time_to_last.p99_ms, 'socket.io relay'));
      if (c)
        rows.push(
          row(`deliveries/s, group ${size}`, 'deliveries/s', n?.deliveries_per_s, c.deliveries_per_s, 'Centrifugo'),
          row(`burst capacity deliveries/s, group ${size}`, 'deliveries/s', n?.burst.deliveries_per_s, c.burst.deliveries_per_s, 'Centrifugo'),
          row(`time to last member p99, group ${size}`, 'ms', n?.time_to_last.p99_ms, c.time_to_last.p99_ms, 'Centrifugo'),
        );
      plots.push({
        title: `fanout: time until the last of ${size} members has the message`,
        file: `fanout-${size}-cdf.svg`,
        series: (['natter', ...peers.kinds] as TargetKind[]).filter((k) => res[k]?.[size]).map((k) => ({ label: LABEL[k], points: res[k]![size]!.cdf })),
      });
      const f = (x?: GroupFigures): string => (x ? `p99 ${x.time_to_last.p99_ms} ms, burst ${x.burst.deliveries_per_s.toLocaleString('en-US')}/s` : 'n/a');
      parts.push(`${size}: Natter ${f(n)}, ws ${f(w)}, sio ${f(s)}${c ? `, centrifugo ${f(c)}` : ''}`);
    }
    const figures = Object.fromEntries(Object.entries(res).map(([k, v]) => [k, Object.fromEntries(Object.entries(v).map(([g, x]) => [g, { ...x, cdf: undefined }]))]));
    return {
      name: 'fanout',
      line: `fanout (time to last member at ${offered.toLocaleString('en-US')} deliveries/s offered; burst capacity): ${parts.join('; ')}`,
      figures: { offered_deliveries_per_s: offered, duration_s: durationMs / 1000, burst_deliveries: burstDeliveries, ...figures },
      rows,
      plots,
      ...(peers.notes.length ? { notes: peers.notes } : {}),
      ...(Object.keys(errors).length ? { errors } : {}),
    };
  },
};

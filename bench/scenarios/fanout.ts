// fanout: one sender, a group with every member online (one socket each, spread over a few client
// processes). The sender offers a fixed delivery load: deliveries/s and the time until the last member
// has each message (p50/p99); then a burst far above that load, offered within 100 ms, gives the
// delivery capacity (deliveries/s).
// Embedded profile: groups of 10 / 100 / 1,000; beside Natter the ws and socket.io relays and
// Centrifugo (a channel without history: one publish, one push per subscriber).
// Cluster profile (cluster-fanout): one group of 1,000 (quick: 200) whose sockets are spread over the 3
// gateways, the sender on gateway 1, and the projector's gateway publishes per message, counted on the
// gateways' Redis channels (one per gateway holding members, whatever the group size); beside it the
// embedded profile with the same group and load, as a ratio.
import type { Ctx, Scenario } from '../lib/context.ts';
import { errMsg, round } from '../lib/context.ts';
import { measureEach, scenarioName, subjectsFor, type Deployment, type Measured, type Running } from '../lib/deployment.ts';
import type { TargetKind } from '../lib/drivers.ts';
import { cdfPoints, decodeHist, newHist, recordUs, summarize, type LatencySummary } from '../lib/hist.ts';
import { withCentrifugo } from '../lib/peers.ts';
import { sleep, startClient, stopAll, type Child } from '../lib/proc.ts';
import type { Publishes, PublishCounter } from '../lib/publish-counter.ts';
import { row, type Plot, type Row, type ScenarioResult } from '../lib/report.ts';
import { groupRoom } from '../lib/rooms.ts';
import { LABEL } from '../lib/servers.ts';
import { TARGETS } from '../lib/targets.ts';

type Settings = { sizes: number[]; offered: number; durationMs: number; burstDeliveries: number; warmup: boolean };
type PerMessage = { publishes: number; per_message: number | null };
type Burst = {
  sent: number;
  deliveries: number;
  expected_deliveries: number;
  offered_deliveries_per_s: number;
  deliveries_per_s: number;
  time_to_last: LatencySummary;
  publishes?: PerMessage;
};
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
  publishes?: Publishes & { per_message: number | null };
  burst: Burst;
  setup_s: number;
};
type PerSize = Record<number, GroupFigures>;
type RxResult = { received: number; last_us: number; hist: string; max_lat_of: number[]; count_of: number[] };

const settings = (ctx: Ctx, d: Deployment): Settings =>
  d.name === 'cluster'
    ? {
        sizes: [ctx.quick ? 200 : 1000],
        offered: ctx.quick ? 10_000 : 20_000,
        durationMs: ctx.quick ? 2000 : 5000,
        burstDeliveries: ctx.quick ? 10_000 : 50_000,
        warmup: true,
      }
    : {
        sizes: [10, 100, 1000],
        offered: ctx.quick ? 10_000 : 20_000,
        durationMs: ctx.quick ? 1500 : 5000,
        burstDeliveries: ctx.quick ? 20_000 : 100_000,
        warmup: false,
      };

/** The messages every member received, and the latency of the last member to get each. */
const timeToLast = (got: RxResult[], sent: number, members: number) => {
  const hist = newHist();
  let complete = 0;
  for (let i = 0; i < sent; i++) {
    let count = 0,
      maxLat = -1;
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

const perMessage = (p: Publishes): number | null => (p.messages ? round(p.publishes / p.messages, 2) : null);

const oneGroup = async (ctx: Ctx, name: string, r: Running, size: number, o: Settings, tag: string): Promise<GroupFigures> => {
  const kids: Child[] = [];
  let counter: PublishCounter | undefined;
  const t0 = performance.now();
  try {
    const { sender, receivers } = await groupRoom(r, tag, size);
    const procs = size <= 10 ? 1 : size <= 5000 ? 2 : Math.ceil(size / 5000);
    const per = Math.ceil(receivers.length / procs);
    const txP = startClient('clients/sender.ts', { type: 'cmd', cmd: 'setup', target: r.senders[0], base: r.base, conns: [sender], tag: 'f' }).then(
      (c) => (kids.push(c.child), c),
    );
    const rx = await Promise.all(
      Array.from({ length: procs }, (_, p) =>
        startClient(
          'clients/receiver.ts',
          { type: 'cmd', cmd: 'setup', target: r.receivers[0], base: r.base, conns: receivers.slice(p * per, (p + 1) * per) },
          { timeoutMs: 180_000 },
        ).then((c) => (kids.push(c.child), c)),
      ),
    );
    const tx = await txP;
    const opened = rx.map((x) => Number(x.ready.opened));
    const members = opened.reduce((a, b) => a + b, 0);
    if (r.publishCounter && sender.room) counter = await r.publishCounter(sender.room);
    const setupS = round((performance.now() - t0) / 1000, 1);

    const phase = async (rate: number, ms: number, collectMs: number) => {
      await Promise.all(rx.map((x) => x.child.request({ type: 'cmd', cmd: 'reset' }, 'reset_ok', 10_000)));
      counter?.reset();
      const done = await tx.child.request({ type: 'cmd', cmd: 'start', mode: 'open', rate, durationMs: ms, drainMs: 30_000 }, 'done', ms + 90_000);
      const sent = Number(done.sent);
      const got = (await Promise.all(
        rx.map((x, p) => x.child.request({ type: 'cmd', cmd: 'collect', total: sent * opened[p]!, timeoutMs: collectMs }, 'result', collectMs + 30_000)),
      )) as unknown as RxResult[];
      const deliveries = got.reduce((a, g) => a + g.received, 0);
      const lastUs = Math.max(...got.map((g) => g.last_us));
      return {
        sent,
        got,
        deliveries,
        deliveriesPerS: lastUs > 0 ? Math.round(deliveries / ((lastUs - Number(done.start_us)) / 1e6)) : 0,
        ttl: timeToLast(got, sent, members),
      };
    };
    // not recorded: a few messages to every member (connections registered, the cluster's consumers, JIT)
    if (o.warmup) await phase(5, 600, 20_000);
    else await sleep(300);

    const rate = Math.min(5000, Math.max(1, o.offered / (size - 1)));
    ctx.log(`${name}: ${r.label}, group of ${size}, ${round(rate, 1)} msgs/s for ${o.durationMs / 1000}s`);
    const main = await phase(rate, o.durationMs, 20_000);
    const mainPublishes = counter?.read();
    const perDelivery = newHist();
    for (const g of main.got) perDelivery.add(decodeHist(g.hist));

    // `burstDeliveries` worth of messages offered within 100 ms, to find the delivery capacity
    const burstMsgs = Math.max(1, Math.ceil(o.burstDeliveries / (size - 1)));
    ctx.log(`${name}: ${r.label}, group of ${size}, burst of ${burstMsgs} messages within 0.1s`);
    const b = await phase(burstMsgs * 10, 100, 30_000);
    const bp = counter?.read();
    return {
      members: members + 1,
      msgs_per_s_offered: round(rate, 2),
      sent: main.sent,
      deliveries: main.deliveries,
      expected_deliveries: main.sent * members,
      deliveries_per_s: main.deliveriesPerS,
      complete_messages: main.ttl.complete,
      time_to_last: summarize(main.ttl.hist),
      per_delivery: summarize(perDelivery),
      cdf: cdfPoints(main.ttl.hist),
      ...(mainPublishes ? { publishes: { ...mainPublishes, per_message: perMessage(mainPublishes) } } : {}),
      burst: {
        sent: b.sent,
        deliveries: b.deliveries,
        expected_deliveries: b.sent * members,
        offered_deliveries_per_s: b.sent * members * 10,
        deliveries_per_s: b.deliveriesPerS,
        time_to_last: summarize(b.ttl.hist),
        ...(bp ? { publishes: { publishes: bp.publishes, per_message: perMessage(bp) } } : {}),
      },
      setup_s: setupS,
    };
  } finally {
    await counter?.close();
    await stopAll(kids);
  }
};

/** Each group size on one server of the subject; a failed size is reported under "<key>/<size>". */
const measure = async (ctx: Ctx, name: string, r: Running, key: string, o: Settings, errors: Record<string, string>): Promise<PerSize> => {
  const out: PerSize = {};
  for (const size of o.sizes) {
    try {
      out[size] = await oneGroup(ctx, name, r, size, o, `f${size}-${key}`);
    } catch (e) {
      errors[`${key}/${size}`] = errMsg(e);
      ctx.log(`${name}: ${r.label} group of ${size} failed: ${errMsg(e)}`);
    }
  }
  return out;
};

const strip = (x?: GroupFigures) => x && { ...x, cdf: undefined };

/** Natter beside the relays and Centrifugo, per group size. */
const embeddedReport = (o: Settings, m: Measured<PerSize>, peers: { kinds: TargetKind[]; notes: string[] }, errors: Record<string, string>): ScenarioResult => {
  const res = m.results;
  const rows: Row[] = [];
  const plots: Plot[] = [];
  const parts: string[] = [];
  for (const size of o.sizes) {
    const n = res.natter?.[size],
      w = res.ws?.[size],
      s = res.socketio?.[size],
      c = res.centrifugo?.[size];
    rows.push(row(`deliveries/s, group ${size}`, 'deliveries/s', n?.deliveries_per_s, w?.deliveries_per_s, 'ws relay', TARGETS.fanoutRateVsWs));
    rows.push(row(`deliveries/s, group ${size}`, 'deliveries/s', n?.deliveries_per_s, s?.deliveries_per_s, 'socket.io relay', TARGETS.fanoutRateVsSocketIo));
    rows.push(
      row(
        `burst capacity deliveries/s, group ${size}`,
        'deliveries/s',
        n?.burst.deliveries_per_s,
        w?.burst.deliveries_per_s,
        'ws relay',
        TARGETS.fanoutBurstVsWs,
      ),
    );
    rows.push(
      row(
        `burst capacity deliveries/s, group ${size}`,
        'deliveries/s',
        n?.burst.deliveries_per_s,
        s?.burst.deliveries_per_s,
        'socket.io relay',
        TARGETS.fanoutBurstVsSocketIo,
      ),
    );
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
  const figures = Object.fromEntries(Object.entries(res).map(([k, v]) => [k, Object.fromEntries(Object.entries(v ?? {}).map(([g, x]) => [g, strip(x)]))]));
  return {
    name: 'fanout',
    line: `fanout (time to last member at ${o.offered.toLocaleString('en-US')} deliveries/s offered; burst capacity): ${parts.join('; ')}`,
    figures: { offered_deliveries_per_s: o.offered, duration_s: o.durationMs / 1000, burst_deliveries: o.burstDeliveries, ...figures },
    rows,
    plots,
    ...(peers.notes.length ? { notes: peers.notes } : {}),
    ...(Object.keys(errors).length ? { errors } : {}),
  };
};

/** The cluster's group, its sockets over the gateways, beside the embedded profile. */
const clusterReport = (o: Settings, m: Measured<PerSize>, errors: Record<string, string>): ScenarioResult => {
  const size = o.sizes[0]!;
  const c = m.results.cluster?.[size],
    e = m.results.embedded?.[size];
  const ref = 'embedded, same run';
  const rows: Row[] = [
    row(
      `deliveries/s, group ${size}, ${o.offered.toLocaleString('en-US')}/s offered`,
      'deliveries/s',
      c?.deliveries_per_s,
      e?.deliveries_per_s,
      ref,
      TARGETS.clusterFanoutRateVsEmbedded,
    ),
    row(`time to last member p50, group ${size}`, 'ms', c?.time_to_last.p50_ms, e?.time_to_last.p50_ms, ref),
    row(`time to last member p99, group ${size}`, 'ms', c?.time_to_last.p99_ms, e?.time_to_last.p99_ms, ref, TARGETS.clusterFanoutLastP99VsEmbedded),
    row(`burst capacity deliveries/s, group ${size}`, 'deliveries/s', c?.burst.deliveries_per_s, e?.burst.deliveries_per_s, ref),
    row(`burst: time to last member p99, group ${size}`, 'ms', c?.burst.time_to_last.p99_ms, e?.burst.time_to_last.p99_ms, ref),
    row('gateway publishes per message (Redis)', 'publishes', c?.publishes?.per_message, 3, 'gateways holding members', TARGETS.clusterPublishesPerMessage),
  ];
  const f = (x?: GroupFigures): string =>
    x
      ? `${x.deliveries_per_s.toLocaleString('en-US')} deliveries/s, last member p50 ${x.time_to_last.p50_ms} / p99 ${x.time_to_last.p99_ms} ms, burst ${x.burst.deliveries_per_s.toLocaleString('en-US')}/s${x.deliveries < x.expected_deliveries ? `, ${x.expected_deliveries - x.deliveries} deliveries missing` : ''}`
      : 'n/a';
  return {
    name: 'cluster-fanout',
    line: `cluster-fanout (group ${size}): cluster ${f(c)}, ${c?.publishes?.per_message ?? '?'} publishes/msg; embedded ${f(e)}`,
    figures: {
      size,
      offered_deliveries_per_s: o.offered,
      duration_s: o.durationMs / 1000,
      burst_deliveries: o.burstDeliveries,
      cluster_setup: m.setup.cluster,
      cluster: strip(c),
      embedded: strip(e),
    },
    rows,
    plots: [
      {
        title: `cluster-fanout: time until the last of ${size} members has the message, cluster (3 gateways) vs embedded`,
        file: `cluster-fanout-${size}-cdf.svg`,
        series: [...(c ? [{ label: 'cluster, 3 gateways', points: c.cdf }] : []), ...(e ? [{ label: 'embedded', points: e.cdf }] : [])],
      },
    ],
    notes: [
      "publishes are counted by PSUBSCRIBE on the gateways' Redis channels (new_message envelopes of the group), not read from the projector workers, which expose no metric",
      ...m.log.map((l) => `cluster log: ${l}`),
    ],
    ...(Object.keys(errors).length ? { errors } : {}),
  };
};

export const fanout = (d: Deployment): Scenario => {
  const name = scenarioName(d, 'fanout');
  return {
    name,
    describe:
      d.name === 'cluster'
        ? 'group fan-out over 3 gateways: deliveries/s, time to last member, publishes per message'
        : 'group fan-out: deliveries/s and time until the last member has each message',
    usesCentrifugo: d.name === 'embedded',
    run: async (ctx): Promise<ScenarioResult> => {
      const o = settings(ctx, d);
      const peers = d.name === 'cluster' ? { kinds: [], notes: [] } : await withCentrifugo(ctx, ['ws', 'socketio'], { full: ['centrifugo'], quick: [] });
      const sizeErrors: Record<string, string> = {};
      const m = await measureEach(ctx, name, subjectsFor(d, peers.kinds), (r, key) => measure(ctx, name, r, key, o, sizeErrors));
      if (m.skipped) return { name, line: `${name}: skipped (${m.skipped})`, figures: {}, rows: [], skipped: m.skipped };
      const errors = { ...m.errors, ...sizeErrors };
      return d.name === 'cluster' ? clusterReport(o, m, errors) : embeddedReport(o, m, peers, errors);
    },
  };
};

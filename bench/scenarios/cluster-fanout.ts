// cluster-fanout: one sender (gateway 1), a group of 1,000 members (quick: 200) whose sockets are
// spread over the 3 gateways. A fixed offered delivery load, then a burst: deliveries/s, time until
// the last member has each message (p50/p99), and the projector's gateway publishes per message,
// counted on the gateways' Redis channels (one per gateway holding members, whatever the group size).
// BESIDE it in the same run: the embedded profile with the same group and load, as a ratio.
import type { Scenario } from '../lib/context.ts';
import { clusterThenEmbedded, measureFanout, publishCounter, type FanoutFigures } from '../lib/cluster.ts';
import { row, type Row, type ScenarioResult } from '../lib/report.ts';
import { TARGETS } from '../lib/targets.ts';

export const clusterFanout: Scenario = {
  name: 'cluster-fanout',
  describe: 'group fan-out over 3 gateways: deliveries/s, time to last member, publishes per message',
  run: async (ctx): Promise<ScenarioResult> => {
    const size = ctx.quick ? 200 : 1000;
    const offered = ctx.quick ? 10_000 : 20_000;
    const durationMs = ctx.quick ? 2000 : 5000;
    const burstDeliveries = ctx.quick ? 10_000 : 50_000;
    const r = await clusterThenEmbedded<FanoutFigures>(ctx, 'cluster-fanout', (d, which, c) =>
      measureFanout(ctx, d, size, offered, durationMs, burstDeliveries, `cfan-${which}`, c ? (conv) => publishCounter(c, conv) : undefined));
    if (r.skipped) return { name: 'cluster-fanout', line: `cluster-fanout: skipped (${r.skipped})`, figures: {}, rows: [], skipped: r.skipped };
    const c = r.cluster, e = r.embedded;
    const ref = 'embedded, same run';
    const rows: Row[] = [
      row(`deliveries/s, group ${size}, ${offered.toLocaleString('en-US')}/s offered`, 'deliveries/s', c?.deliveries_per_s, e?.deliveries_per_s, ref, TARGETS.clusterFanoutRateVsEmbedded),
      row(`time to last member p50, group ${size}`, 'ms', c?.time_to_last.p50_ms, e?.time_to_last.p50_ms, ref),
      row(`time to last member p99, group ${size}`, 'ms', c?.time_to_last.p99_ms, e?.time_to_last.p99_ms, ref, TARGETS.clusterFanoutLastP99VsEmbedded),
      row(`burst capacity deliveries/s, group ${size}`, 'deliveries/s', c?.burst?.deliveries_per_s, e?.burst?.deliveries_per_s, ref),
      row(`burst: time to last member p99, group ${size}`, 'ms', c?.burst?.time_to_last.p99_ms, e?.burst?.time_to_last.p99_ms, ref),
      row('gateway publishes per message (Redis)', 'publishes', c?.publishes?.per_message, 3, 'gateways holding members', TARGETS.clusterPublishesPerMessage),
    ];
    const f = (x?: FanoutFigures): string =>
      x ? `${x.deliveries_per_s.toLocaleString('en-US')} deliveries/s, last member p50 ${x.time_to_last.p50_ms} / p99 ${x.time_to_last.p99_ms} ms, burst ${x.burst?.deliveries_per_s.toLocaleString('en-US') ?? '?'}/s${x.deliveries < x.expected_deliveries ? `, ${x.expected_deliveries - x.deliveries} deliveries missing` : ''}` : 'n/a';
    const strip = (x?: FanoutFigures) => x && { ...x, cdf: undefined };
    return {
      name: 'cluster-fanout',
      line: `cluster-fanout (group ${size}): cluster ${f(c)}, ${c?.publishes?.per_message ?? '?'} publishes/msg; embedded ${f(e)}`,
      figures: { size, offered_deliveries_per_s: offered, duration_s: durationMs / 1000, burst_deliveries: burstDeliveries, cluster_setup: r.info, cluster: strip(c), embedded: strip(e) },
      rows,
      plots: [{
        title: `cluster-fanout: time until the last of ${size} members has the message, cluster (3 gateways) vs embedded`,
        file: `cluster-fanout-${size}-cdf.svg`,
        series: [...(c ? [{ label: 'cluster, 3 gateways', points: c.cdf }] : []), ...(e ? [{ label: 'embedded', points: e.cdf }] : [])],
      }],
      notes: ['publishes are counted by PSUBSCRIBE on the gateways\' Redis channels (new_message envelopes of the group), not read from the projector workers, which expose no metric', ...(r.log ?? []).map((l) => `cluster log: ${l}`)],
      ...(Object.keys(r.errors).length ? { errors: r.errors } : {}),
    };
  },
};

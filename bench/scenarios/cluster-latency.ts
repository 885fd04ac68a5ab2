// cluster-latency: cross-gateway send-to-receive latency. alice sends at fixed rates over a socket on
// gateway 1, bob receives on gateway 2 (separate processes); the message goes gateway 1 → PostgreSQL →
// relay → Kafka → projector worker (read models, then fan-out) → Redis → gateway 2. Measured from the
// intended send time (coordinated-omission free), p50/p99/p999. BESIDE it in the same run: the embedded
// profile (one `natter serve`) under the same load, as a ratio.
import type { Scenario } from '../lib/context.ts';
import { clusterThenEmbedded, measureLatency, type LatencyAtRate } from '../lib/cluster.ts';
import type { LatencySummary } from '../lib/hist.ts';
import { row, type Plot, type Row, type ScenarioResult } from '../lib/report.ts';
import { TARGETS } from '../lib/targets.ts';

export const clusterLatency: Scenario = {
  name: 'cluster-latency',
  describe: 'cross-gateway send-to-receive latency at fixed rates, cluster vs embedded',
  run: async (ctx): Promise<ScenarioResult> => {
    const rates = ctx.quick ? [100] : [100, 1000];
    const durationMs = ctx.quick ? 3000 : 8000;
    const r = await clusterThenEmbedded<Record<number, LatencyAtRate>>(ctx, 'cluster-latency', (d, which) =>
      measureLatency(ctx, d, rates, durationMs, `clat-${which}`));
    if (r.skipped) return { name: 'cluster-latency', line: `cluster-latency: skipped (${r.skipped})`, figures: {}, rows: [], skipped: r.skipped };
    const rows: Row[] = [];
    const plots: Plot[] = [];
    const parts: string[] = [];
    const ref = 'embedded, same run';
    for (const rate of rates) {
      const c = r.cluster?.[rate]?.latency, e = r.embedded?.[rate]?.latency;
      rows.push(row(`p50 gw1→gw2 @${rate}/s`, 'ms', c?.p50_ms, e?.p50_ms, ref));
      rows.push(row(`p99 gw1→gw2 @${rate}/s`, 'ms', c?.p99_ms, e?.p99_ms, ref, TARGETS.clusterLatencyP99VsEmbedded));
      rows.push(row(`p99 gw1→gw2 @${rate}/s`, 'ms', c?.p99_ms, null, '—', TARGETS.clusterLatencyP99Ms));
      rows.push(row(`p999 gw1→gw2 @${rate}/s`, 'ms', c?.p999_ms, e?.p999_ms, ref));
      plots.push({
        title: `cluster-latency: send (gateway 1) → receive (gateway 2) at ${rate} msgs/s, vs embedded (CO-corrected)`,
        file: `cluster-latency-${rate}-cdf.svg`,
        series: [
          ...(r.cluster?.[rate] ? [{ label: 'cluster, 3 gateways', points: r.cluster[rate]!.cdf }] : []),
          ...(r.embedded?.[rate] ? [{ label: 'embedded', points: r.embedded[rate]!.cdf }] : []),
        ],
      });
      const f = (x?: LatencySummary): string => (x ? `${x.p50_ms}/${x.p99_ms}/${x.p999_ms}` : 'n/a');
      const p99 = rows[rows.length - 3]!.ratio;
      parts.push(`@${rate}/s cluster ${f(c)}, embedded ${f(e)} → p99 ×${p99 ?? '?'}`);
    }
    const strip = (v?: Record<number, LatencyAtRate>) =>
      v && Object.fromEntries(Object.entries(v).map(([k, x]) => [k, { ...x.latency, sent: x.sent, received: x.received, generator_lag_p99_ms: x.generator_lag_p99_ms, sender: x.sender }]));
    return {
      name: 'cluster-latency',
      line: `cluster-latency p50/p99/p999 ms: ${parts.join('; ')}`,
      figures: { rates, duration_s: durationMs / 1000, cluster_setup: r.info, cluster: strip(r.cluster), embedded: strip(r.embedded) },
      rows,
      plots,
      ...(r.log?.length ? { notes: r.log.map((l) => `cluster log: ${l}`) } : {}),
      ...(Object.keys(r.errors).length ? { errors: r.errors } : {}),
    };
  },
};

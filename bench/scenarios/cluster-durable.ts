// cluster-durable: acked messages/s through the cluster's command side, sockets spread over the 3
// gateways, many direct conversations; closed loop with a window of sends in flight per sending
// socket, each acked once appended to PostgreSQL. Two variants with the same number of sending sockets:
//   both send    — both members of each conversation send, from two different gateways (as the
//                  embedded durable scenario, where both send too): the two gateways' writers race on
//                  the stream's expected revision;
//   one sender   — twice the conversations, only one member sends, the other only receives.
// Ack p50/p99. BESIDE each in the same run: the embedded profile under the same load, as a ratio.
import type { Scenario } from '../lib/context.ts';
import { clusterThenEmbedded, measureDurable, type DurableFigures } from '../lib/cluster.ts';
import { row, type Plot, type Row, type ScenarioResult } from '../lib/report.ts';
import { TARGETS } from '../lib/targets.ts';

type Both = { both: DurableFigures; one: DurableFigures };

export const clusterDurable: Scenario = {
  name: 'cluster-durable',
  describe: 'durable acked msgs/s and ack latency, sockets over 3 gateways, cluster vs embedded',
  run: async (ctx): Promise<ScenarioResult> => {
    const pairs = ctx.quick ? 50 : 100;
    const window = 4;
    const durationMs = ctx.quick ? 3000 : 10_000;
    const r = await clusterThenEmbedded<Both>(ctx, 'cluster-durable', async (d, which) => ({
      both: await measureDurable(ctx, d, { conversations: pairs, bothSend: true, window, durationMs, tag: `cd${which[0]}b` }),
      one: await measureDurable(ctx, d, { conversations: pairs * 2, bothSend: false, window, durationMs, tag: `cd${which[0]}o` }),
    }));
    if (r.skipped) return { name: 'cluster-durable', line: `cluster-durable: skipped (${r.skipped})`, figures: {}, rows: [], skipped: r.skipped };
    const ref = 'embedded, same run';
    const rows: Row[] = [];
    const plots: Plot[] = [];
    const parts: string[] = [];
    const f = (x?: DurableFigures): string => (x ? `${x.msgs_per_s.toLocaleString('en-US')} msgs/s (ack p50 ${x.ack_latency.p50_ms} / p99 ${x.ack_latency.p99_ms} ms${x.errors ? `, ${x.errors} sends refused: ${String(x.first_error)}` : ''})` : 'n/a');
    for (const v of ['one', 'both'] as const) {
      const c = r.cluster?.[v], e = r.embedded?.[v];
      const what = v === 'one' ? `one sender per conversation, ${pairs * 2} conversations` : `both members send, ${pairs} conversations`;
      rows.push(row(`acked msgs/s, ${what} (${pairs * 2} sending sockets × window ${window})`, 'msgs/s', c?.msgs_per_s, e?.msgs_per_s, ref, TARGETS.clusterDurableVsEmbedded));
      rows.push(row(`ack p50, ${what}`, 'ms', c?.ack_latency.p50_ms, e?.ack_latency.p50_ms, ref));
      rows.push(row(`ack p99, ${what}`, 'ms', c?.ack_latency.p99_ms, e?.ack_latency.p99_ms, ref));
      rows.push(row(`sends refused (error frames), ${what}`, 'sends', c?.errors, e?.errors, ref));
      plots.push({
        title: `cluster-durable: ack latency (send → durable ack), closed loop, ${what}`,
        file: `cluster-durable-${v}-ack-cdf.svg`,
        series: [...(c ? [{ label: 'cluster, 3 gateways', points: c.cdf }] : []), ...(e ? [{ label: 'embedded', points: e.cdf }] : [])],
      });
      parts.push(`${v === 'one' ? 'one sender' : 'both send'}: cluster ${f(c)}, embedded ${f(e)} → ×${rows[rows.length - 4]!.ratio ?? '?'}`);
    }
    const strip = (x?: Both) => x && { both: { ...x.both, cdf: undefined }, one: { ...x.one, cdf: undefined } };
    return {
      name: 'cluster-durable',
      line: `cluster-durable: ${parts.join('; ')}`,
      figures: { cluster_setup: r.info, cluster: strip(r.cluster), embedded: strip(r.embedded) },
      rows,
      plots,
      ...(r.log?.length ? { notes: r.log.map((l) => `cluster log: ${l}`) } : {}),
      ...(Object.keys(r.errors).length ? { errors: r.errors } : {}),
    };
  },
};

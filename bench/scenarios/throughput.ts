// throughput: achieved throughput and latency vs offered load. Open loop over direct conversations,
// the offered rate stepped up 500 → 20,000 msgs/s with a bounded time per step (bench/lib/load-rig.ts).
// Per step: msgs delivered and acked within the step, ack and send → receive p50/p99 (CO-free), the
// generator's own lag and the server's CPU time per 1,000 messages (Centrifugo may use both cores, the
// Node servers mostly one thread). PEERS in the same run: the bare ws relay and Centrifugo (without
// and with history). Every server stays up and the steps are interleaved (each rate on every server,
// in a rotating order), so that the shared machine's drifting load falls on all of them alike. Two
// saturated steps in a row end a server's run: past the knee the backlog only grows.
import type { Scenario } from '../lib/context.ts';
import { errMsg } from '../lib/context.ts';
import { startRig, KEEPS_UP, type Rig, type Step } from '../lib/load-rig.ts';
import { row, type Row, type ScenarioResult } from '../lib/report.ts';
import { LABEL } from '../lib/servers.ts';
import { hasAcks, type TargetKind } from '../lib/drivers.ts';
import { withCentrifugo } from '../lib/peers.ts';
import type { LoadSeries } from '../lib/svg-load.ts';

/** The knee: the most any step delivered within its time. */
const peak = (steps?: Step[]): number | null => (steps?.length ? Math.max(...steps.map((s) => s.delivered_per_s)) : null);
const peakAcked = (steps?: Step[]): number | null => (steps?.some((s) => s.acked_per_s != null) ? Math.max(...steps.map((s) => s.acked_per_s ?? 0)) : null);
/** the highest offered rate that was kept up with at a send → receive p99 within `ms` (0: none) */
const maxRateWithin = (steps: Step[] | undefined, ms: number): number | null =>
  steps ? Math.max(0, ...steps.filter((s) => !s.saturated && s.receive.p99_ms <= ms).map((s) => s.offered_per_s)) : null;

export const throughput: Scenario = {
  name: 'throughput',
  describe: 'achieved msgs/s and p50/p99 vs offered load (open loop, stepped) vs the ws relay and Centrifugo',
  usesCentrifugo: true,
  run: async (ctx): Promise<ScenarioResult> => {
    const rates = ctx.quick ? [1000, 5000] : [500, 1000, 2000, 5000, 10_000, 20_000];
    const stepMs = ctx.quick ? 1000 : 2000;
    const pairs = ctx.quick ? 5 : 10;
    const warmup = { rate: rates[0]!, ms: ctx.quick ? 500 : 1500 };
    const peers = await withCentrifugo(ctx, ['ws'], { full: ['centrifugo', 'centrifugo-history'], quick: ['centrifugo'] });
    const kinds: TargetKind[] = ['natter', ...peers.kinds];
    const res: Partial<Record<TargetKind, Step[]>> = {};
    const errors: Record<string, string> = {};
    const rigs = new Map<TargetKind, Rig>();
    const drop = async (kind: TargetKind): Promise<void> => {
      await rigs
        .get(kind)
        ?.stop()
        .catch(() => undefined);
      rigs.delete(kind);
    };
    try {
      // Started side by side: most of a rig's start is spawning node processes, and nothing is measured yet.
      await Promise.all(
        kinds.map(async (kind) => {
          try {
            ctx.log(`throughput: starting ${LABEL[kind]} with ${pairs} conversations`);
            rigs.set(kind, await startRig(ctx, kind, pairs, stepMs, warmup));
            res[kind] = [];
          } catch (e) {
            errors[kind] = errMsg(e);
            ctx.log(`throughput: ${LABEL[kind]} failed: ${errors[kind]}`);
          }
        }),
      );
      for (const [r, rate] of rates.entries()) {
        const order = [...rigs.keys()];
        for (const kind of [...order.slice(r % order.length), ...order.slice(0, r % order.length)]) {
          try {
            const steps = res[kind]!;
            steps.push(await rigs.get(kind)!.step(rate));
            if (steps.length >= 2 && steps.slice(-2).every((s) => s.saturated)) await drop(kind);
          } catch (e) {
            errors[`${kind}@${rate}`] = errMsg(e);
            ctx.log(`throughput: ${LABEL[kind]} at ${rate}/s failed: ${errMsg(e)}`);
            await drop(kind);
          }
        }
      }
    } finally {
      for (const kind of [...rigs.keys()]) await drop(kind);
    }

    const n = res.natter;
    const rows: Row[] = [];
    const refs = (
      [
        ['ws', 'ws relay'],
        ['centrifugo', 'Centrifugo'],
        ['centrifugo-history', 'Centrifugo, history on'],
      ] as Array<[TargetKind, string]>
    ).filter(([k]) => res[k]?.length);
    // A peer that kept up with the top step has a knee above it: the ratio is then an upper bound.
    const top = rates[rates.length - 1]!;
    const kneeOf = (k: TargetKind, name: string): string =>
      res[k]!.some((s) => s.saturated) ? name : `${name}, not saturated at ${top.toLocaleString('en-US')}/s`;
    for (const [k, name] of refs) rows.push(row('peak delivered msgs/s (knee of the curve)', 'msgs/s', peak(n), peak(res[k]), kneeOf(k, name)));
    for (const [k, name] of refs) if (hasAcks(k)) rows.push(row('peak acked msgs/s', 'msgs/s', peakAcked(n), peakAcked(res[k]), kneeOf(k, name)));
    for (const [k, name] of refs)
      rows.push(row('highest offered rate kept up with at p99 ≤ 10 ms', 'msgs/s', maxRateWithin(n, 10), maxRateWithin(res[k], 10), name));
    // The issue's target: p99 ≤ 10 ms at half of the saturating rate; the peers at that same offered rate.
    const knee = peak(n);
    const half = knee != null && n ? [...n].reverse().find((s) => s.offered_per_s <= knee / 2) : undefined;
    if (half) {
      const at = (k: TargetKind): Step | undefined => res[k]?.find((s) => s.offered_per_s === half.offered_per_s);
      const label = `send → receive p99 at ${half.offered_per_s.toLocaleString('en-US')}/s (≤ half of Natter's knee)`;
      rows.push(row(label, 'ms', half.receive.p99_ms, null, '—', { on: 'natter', op: '<=', value: 10 }));
      for (const [k, name] of refs) if (at(k)) rows.push(row(label, 'ms', half.receive.p99_ms, at(k)!.receive.p99_ms, name));
    }
    const costRate = rates.includes(1000) ? 1000 : rates[0]!;
    const cost = (steps?: Step[]): number | null => steps?.find((s) => s.offered_per_s === costRate)?.server_cpu_ms_per_1k ?? null;
    for (const [k, name] of refs) rows.push(row(`server CPU per 1,000 msgs at ${costRate.toLocaleString('en-US')}/s`, 'ms', cost(n), cost(res[k]), name));

    const load: LoadSeries[] = kinds
      .filter((k) => res[k]?.length)
      .map((k) => ({
        label: LABEL[k],
        points: res[k]!.map((s) => ({
          offered: s.offered_per_s,
          achieved: s.delivered_per_s,
          p50_ms: nz(s.receive.p50_ms),
          p99_ms: nz(s.receive.p99_ms),
          generatorBound: s.generator_bound,
        })),
      }));
    const notes = [...peers.notes];
    const lagging = kinds.flatMap((k) =>
      (res[k] ?? [])
        .filter((s) => s.generator_bound)
        .map((s) => `${LABEL[k]} @${s.offered_per_s.toLocaleString('en-US')}/s (lag p99 ${s.generator_lag_p99_ms} ms)`),
    );
    if (lagging.length)
      notes.push(
        `load generator ran late by more than 5% of the step (p99) at: ${lagging.join(', ')}; there, a shortfall is partly the machine's, not the server's`,
      );
    const f = (steps?: Step[]): string =>
      steps?.length ? steps.map((s) => `${s.offered_per_s / 1000}k→${(s.delivered_per_s / 1000).toFixed(1)}k p99 ${s.receive.p99_ms}`).join(', ') : 'n/a';
    return {
      name: 'throughput',
      line: `throughput (offered k msgs/s → delivered k msgs/s within the step, send→receive p99 ms): ${kinds.map((k) => `${LABEL[k]} ${f(res[k])}`).join('; ')}`,
      figures: {
        rates,
        step_s: stepMs / 1000,
        pairs,
        warmup_s: warmup.ms / 1000,
        keeps_up_share: KEEPS_UP,
        first_saturated_rate: Object.fromEntries(kinds.filter((k) => res[k]).map((k) => [k, res[k]!.find((s) => s.saturated)?.offered_per_s ?? null])),
        ...res,
      },
      rows,
      plots: [
        {
          title: `throughput vs offered load (${pairs} conversations, open loop, ${stepMs / 1000} s per step)`,
          file: 'throughput-vs-load.svg',
          series: [],
          kind: 'load',
          load,
        },
      ],
      ...(notes.length ? { notes } : {}),
      ...(Object.keys(errors).length ? { errors } : {}),
    };
  },
};

const nz = (v: number): number | null => (Number.isFinite(v) ? v : null);

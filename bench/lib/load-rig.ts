// One server under test with its load for the throughput scenario: `pairs` direct conversations (one
// sending and one receiving socket each; all senders in one process, all receivers in another), driven
// open loop one step at a time. Several rigs stay up side by side so that the scenario can interleave
// them step by step (an idle server costs next to nothing; a drifting load on a shared machine then
// hits every server at about the same time).
import os from 'node:os';
import type { Ctx } from './context.ts';
import { round } from './context.ts';
import { decodeHist, summarize, type LatencySummary } from './hist.ts';
import { startClient, stopAll, type Child } from './proc.ts';
import { pairRoom } from './rooms.ts';
import { LABEL, onOneServer, startServer, type RunningServer } from './servers.ts';
import { cpuSeconds } from './sys.ts';
import { hasAcks, type TargetKind } from './drivers.ts';
import type { ConnSpec } from '../clients/common.ts';

/** a step counts as saturated when less than this share of the offered messages arrived within it */
export const KEEPS_UP = 0.9;

export type Step = {
  offered_per_s: number;
  sent: number;
  /** messages whose intended send time + latency fell within the step */
  delivered_in_step: number;
  delivered_per_s: number;
  /** acks received within the step, per second (servers that ack) */
  acked_per_s: number | null;
  received_after_drain: number;
  unacked: number | null;
  send_errors: number;
  /** send → receive, from the intended send time (CO-free) */
  receive: LatencySummary;
  /** send → ack, from the intended send time */
  ack: LatencySummary | null;
  generator_lag_p99_ms: number;
  /** the load generator itself ran late by more than 5% of the step (p99): on a busy machine the
   * step's shortfall is then partly the generator's, not the server's */
  generator_bound: boolean;
  /** the server's CPU time (user + sys) over the step, per 1,000 messages received */
  server_cpu_ms_per_1k: number | null;
  loadavg_1m: number;
  saturated: boolean;
};

export type Rig = {
  kind: TargetKind;
  step(rate: number): Promise<Step>;
  stop(): Promise<void>;
};

export const startRig = async (ctx: Ctx, kind: TargetKind, pairs: number, stepMs: number, warmup: { rate: number; ms: number }): Promise<Rig> => {
  const server: RunningServer = await startServer(kind);
  const kids: Child[] = [];
  const stop = async (): Promise<void> => {
    await stopAll(kids);
    await server.stop();
  };
  try {
    const senders: ConnSpec[] = [],
      receivers: ConnSpec[] = [];
    for (let k = 0; k < pairs; k++) {
      const p = await pairRoom(onOneServer(server), `tp${k}`);
      senders.push(p.sender);
      receivers.push(p.receiver);
    }
    const base = server.natter?.base;
    const [rx, tx] = await Promise.all([
      startClient('clients/receiver.ts', { type: 'cmd', cmd: 'setup', target: server.target, base, conns: receivers }).then(
        (c) => (kids.push(c.child), c.child),
      ),
      startClient('clients/sender.ts', { type: 'cmd', cmd: 'setup', target: server.target, base, conns: senders, tag: 't' }).then(
        (c) => (kids.push(c.child), c.child),
      ),
    ]);
    const acks = hasAcks(kind);
    const drainMs = Math.max(2000, stepMs);

    const run = async (rate: number, durationMs: number): Promise<{ done: Record<string, unknown>; got: Record<string, unknown> }> => {
      await rx.request({ type: 'cmd', cmd: 'reset', dropStale: true }, 'reset_ok', 10_000);
      // no abort on outstanding sends: the step's time bounds the load, the drain bounds the wait
      const done = await tx.request(
        { type: 'cmd', cmd: 'start', mode: 'open', rate, durationMs, drainMs, maxOutstanding: Number.MAX_SAFE_INTEGER },
        'done',
        durationMs + drainMs + 60_000,
      );
      const got = await rx.request({ type: 'cmd', cmd: 'collect', total: Number(done.sent), timeoutMs: drainMs }, 'result', drainMs + 30_000);
      return { done, got };
    };
    // Not recorded: JIT, first statements, pools (a fresh Node server's first second is several times slower).
    await run(warmup.rate, warmup.ms);

    const step = async (rate: number): Promise<Step> => {
      ctx.log(`throughput: ${LABEL[kind]} offered ${rate.toLocaleString('en-US')} msgs/s for ${stepMs / 1000}s`);
      const loadavg = os.loadavg()[0]!;
      const cpu0 = cpuSeconds(server.pid);
      const { done, got } = await run(rate, stepMs);
      const cpu1 = cpuSeconds(server.pid);
      // message i was meant to leave at start + i/rate and arrived lat_i later
      const startUs = Number(done.start_us),
        endUs = startUs + stepMs * 1000,
        intervalUs = 1e6 / rate;
      const lat = got.max_lat_of as number[];
      let inStep = 0;
      for (let i = 0; i < lat.length; i++) if (lat[i]! >= 0 && Math.round(startUs + i * intervalUs) + lat[i]! <= endUs) inStep++;
      const received = Number(got.received);
      const deliveredPerS = Math.round(inStep / (stepMs / 1000));
      return {
        offered_per_s: rate,
        sent: Number(done.sent),
        delivered_in_step: inStep,
        delivered_per_s: deliveredPerS,
        acked_per_s: acks ? Math.round(Number(done.acked_in_window) / (stepMs / 1000)) : null,
        received_after_drain: received,
        unacked: acks ? Number(done.unacked) : null,
        send_errors: Number(done.errors),
        receive: summarize(decodeHist(got.hist as string)),
        ack: acks && done.hist ? summarize(decodeHist(done.hist as string)) : null,
        generator_lag_p99_ms: round(Number(done.lag_p99_ms), 3),
        generator_bound: Number(done.lag_p99_ms) > 0.05 * stepMs,
        server_cpu_ms_per_1k: cpu0 != null && cpu1 != null && received > 0 ? round(((cpu1 - cpu0) * 1e6) / received, 1) : null,
        loadavg_1m: round(loadavg, 2),
        saturated: deliveredPerS < KEEPS_UP * rate,
      };
    };
    return { kind, step, stop };
  } catch (e) {
    await stop();
    throw e;
  }
};

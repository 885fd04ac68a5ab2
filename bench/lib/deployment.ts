// What the latency, durable and fan-out scenarios measure: a deployment of Natter (embedded: one
// `natter serve`, bench/lib/natter.ts; cluster: relay, projector workers and gateways, bench/lib/cluster.ts)
// or a peer server, behind one shape, so that one scenario's code runs against each of them.
import { loadavg } from 'node:os';
import type { Ctx } from './context.ts';
import { errMsg, round } from './context.ts';
import type { Target, TargetKind } from './drivers.ts';
import { EnginesUnavailable } from './engines.ts';
import { embedded } from './natter.ts';
import { serverSubject } from './servers.ts';
import type { PublishCounter } from './publish-counter.ts';

/** A started deployment (or peer): where a scenario's sockets go. */
export type Running = {
  kind: TargetKind;
  /** in progress lines: 'embedded', 'cluster (3 gateways)', 'ws relay' */
  label: string;
  /** Natter: REST base for tokens and conversations */
  base?: string;
  /** sending socket k connects to senders[k % n] and its peer to receivers[k % n]: in the cluster a
   * different gateway, so that every delivery crosses gateways; elsewhere both are the one server */
  senders: Target[];
  receivers: Target[];
  /** facts for the report, taken when a scenario starts on it (the cluster's roles and namespace; measureEach adds the load average) */
  setup?: () => Record<string, unknown>;
  /** starts watching the processes' output, and returns what reads the warnings and errors printed
   * since, summarized (the cluster's roles: their own processes, not the bench's children) */
  watchLog?: () => () => string[];
  /** the processes serving it, by label, for CPU accounting (the cluster: each role and each engine) */
  processes?: () => Promise<Array<{ label: string; pid: number }>>;
  /** counts what is published to the gateways for one conversation (the cluster's fan-out) */
  publishCounter?: (conversationId: string) => Promise<PublishCounter>;
  stop: () => Promise<void>;
};

export type Deployment = {
  name: 'embedded' | 'cluster';
  start: (ctx: Ctx) => Promise<Running>;
  /** at the end of the bench run (the cluster is started once and shared by the scenarios) */
  end?: (ctx: Ctx) => Promise<void>;
};

/** One thing a scenario measures, under the key its figures are reported by ('natter', 'ws', 'cluster', …). */
export type Subject = { key: string; start: (ctx: Ctx) => Promise<Running> };

export type Measured<T> = {
  results: Partial<Record<string, T>>;
  errors: Record<string, string>;
  /** per subject that has a setup() */
  setup: Partial<Record<string, Record<string, unknown>>>;
  /** the warnings and errors the subjects' processes printed while measured */
  log: string[];
  /** a subject (the cluster) could not start for want of engines: the scenario is skipped */
  skipped?: string;
};

/**
 * What a scenario measures, in run order. Embedded profile: the peers, then Natter (key 'natter').
 * Cluster profile: the cluster, then the embedded profile beside it in the same run, as the reference.
 */
export const subjectsFor = (d: Deployment, peers: TargetKind[]): Subject[] =>
  d.name === 'cluster'
    ? [
        { key: 'cluster', start: d.start },
        { key: 'embedded', start: embedded.start },
      ]
    : [...peers.map(serverSubject), { key: 'natter', start: d.start }];

/** Runs `measure` on each subject in turn (started, measured, stopped); a failure is kept under its key. */
export const measureEach = async <T>(
  ctx: Ctx,
  scenario: string,
  subjects: Subject[],
  measure: (r: Running, key: string) => Promise<T>,
): Promise<Measured<T>> => {
  const out: Measured<T> = { results: {}, errors: {}, setup: {}, log: [] };
  for (const s of subjects) {
    let r: Running;
    try {
      r = await s.start(ctx);
    } catch (e) {
      if (e instanceof EnginesUnavailable) return { ...out, skipped: e.message };
      out.errors[s.key] = errMsg(e);
      ctx.log(`${scenario}: ${s.key} failed to start: ${errMsg(e)}`);
      continue;
    }
    if (r.setup) out.setup[s.key] = { ...r.setup(), load_avg_1m_at_start: round(loadavg()[0]!, 2) };
    const logSince = r.watchLog?.();
    try {
      out.results[s.key] = await measure(r, s.key);
    } catch (e) {
      out.errors[s.key] = errMsg(e);
      ctx.log(`${scenario}: ${r.label} failed: ${errMsg(e)}`);
    } finally {
      await r.stop();
    }
    const log = logSince?.() ?? [];
    if (log.length) ctx.log(`${scenario}: ${r.label} logged warnings/errors: ${log[0]}${log.length > 1 ? ` (+${log.length - 1} more kinds)` : ''}`);
    out.log.push(...log);
  }
  return out;
};

/** The report's name of a scenario: the cluster profile's carry a prefix. */
export const scenarioName = (d: Deployment, name: string): string => (d.name === 'cluster' ? `cluster-${name}` : name);

// npm run bench -- [--quick] [--only a,b] [--profile embedded|cluster] [--out dir] [--durable-rate n]
// Runs the scenarios one after another; each starts its own server under test and load processes,
// prints one line, and lands in report.json / summary.md / *.svg. Children are always killed.
// Profile cluster: latency, durable and fanout run against the cluster deployment (reported as
// cluster-*), which they share; cluster-search measures the OpenSearch adapter on the engines (engines, namespace, relay, 2 projector workers, 3 gateways;
// bench/lib/cluster.ts): started on first use and stopped at the end.
import { Command, Option } from 'commander';
import path from 'node:path';
import type { Ctx, Scenario } from './lib/context.ts';
import { errMsg, round } from './lib/context.ts';
import { BENCH_DIR, killAll } from './lib/proc.ts';
import { writeReport, type ScenarioResult } from './lib/report.ts';
import { gitCommit, machineInfo, nofileLimit } from './lib/sys.ts';
import { durable } from './scenarios/durable.ts';
import { latency } from './scenarios/latency.ts';
import { throughput } from './scenarios/throughput.ts';
import { fanout } from './scenarios/fanout.ts';
import { idle } from './scenarios/idle.ts';
import { rebuild } from './scenarios/rebuild.ts';
import { catchup } from './scenarios/catchup.ts';
import { presence } from './scenarios/presence.ts';
import { adapters } from './scenarios/adapters.ts';
import { search, clusterSearch } from './scenarios/search.ts';
import { cluster } from './lib/cluster.ts';
import { embedded, natterPresent } from './lib/natter.ts';
import { centrifugoAvailability } from './lib/centrifugo.ts';

/** Every scenario of a profile, in run order, and those that run when --only is not given. */
const PROFILES: Record<'embedded' | 'cluster', { scenarios: Scenario[]; byDefault: string[] }> = {
  // adapters needs the engines (scripts/engines.sh): only with --only in the embedded profile, so that
  // `npm run bench [-- --quick]` (and its smoke test) never depends on them.
  embedded: {
    scenarios: [durable(embedded), latency(embedded), throughput, fanout(embedded), idle, presence, rebuild, catchup, search, adapters],
    byDefault: ['durable', 'latency', 'throughput', 'fanout', 'idle', 'presence', 'rebuild', 'catchup', 'search'],
  },
  // the same latency, durable and fan-out code against the cluster deployment (names prefixed cluster-)
  cluster: {
    scenarios: [latency(cluster), durable(cluster), fanout(cluster), clusterSearch, adapters],
    byDefault: ['cluster-latency', 'cluster-durable', 'cluster-fanout', 'cluster-search', 'adapters'],
  },
};
const ALL_NAMES = [...new Set(Object.values(PROFILES).flatMap((p) => p.scenarios.map((s) => s.name)))];

const program = new Command()
  .name('bench')
  .description('Natter benchmark suite: Natter beside its physical limits and peers, measured in the same run')
  .option('--quick', 'small sizes, whole suite in about a minute', false)
  .option('--only <scenarios>', `comma-separated subset of: ${ALL_NAMES.join(', ')} (cluster-* and adapters in --profile cluster; adapters also in embedded)`)
  .addOption(new Option('--profile <profile>', 'deployment profile under test').choices(['embedded', 'cluster']).default('embedded'))
  .option('--out <dir>', 'output directory (default bench/results/<date>-<commit>/)')
  .option('--durable-rate <n>', 'offered rate of the open-loop durable variant (msgs/s)', (v) => Number(v))
  .parse();

const opts = program.opts<{ quick: boolean; only?: string; profile: 'embedded' | 'cluster'; out?: string; durableRate?: number }>();

const main = async (): Promise<number> => {
  const profile = PROFILES[opts.profile];
  const SCENARIOS = profile.scenarios;
  const selected = opts.only
    ? opts.only
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : profile.byDefault;
  const unknown = selected.filter((n) => !SCENARIOS.some((s) => s.name === n));
  if (unknown.length) {
    console.error(`unknown scenario(s) for profile ${opts.profile}: ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`);
    return 2;
  }
  const outDir = path.resolve(opts.out ?? path.join(BENCH_DIR, 'results', `${new Date().toISOString().slice(0, 10)}-${gitCommit().short}`));
  const meta = { ...machineInfo(), profile: opts.profile, quick: opts.quick, scenarios: selected };
  const results: ScenarioResult[] = [];
  console.log(`natter bench: ${opts.quick ? 'quick' : 'full'} run, profile ${opts.profile}, ${meta.cores} cores, node ${meta.node}, out ${outDir}`);
  const lim = nofileLimit();
  if (lim.soft < 20_000)
    console.log(`note: ulimit -n is ${lim.soft} (hard ${lim.hard}); the idle scenario raises it per spawned process, which needs root or a higher hard limit`);
  if (!natterPresent()) console.log('note: bin/natter.js is missing: Natter parts will be reported as errors or skipped; peers and limits still run');

  const ctx: Ctx = {
    quick: opts.quick,
    outDir,
    durableRate: opts.durableRate,
    log: (m) => process.stderr.write(`  · ${m}\n`),
  };
  // A missing Centrifugo is built here (full runs only), outside every scenario's time limit; the
  // outcome, a path or the reason it is skipped, is printed once.
  if (SCENARIOS.some((x) => x.usesCentrifugo && selected.includes(x.name))) await centrifugoAvailability({ build: !opts.quick, log: ctx.log });
  try {
    for (const s of SCENARIOS.filter((x) => selected.includes(x.name))) {
      const t0 = performance.now();
      let r: ScenarioResult;
      try {
        r = await withTimeout(s.run(ctx), (opts.quick ? 4 : 12) * 60_000, s.name);
      } catch (e) {
        r = { name: s.name, line: `${s.name}: ERROR ${errMsg(e)}`, figures: {}, rows: [], error: errMsg(e) };
      }
      killAll(); // whatever a scenario left behind (the cluster's roles are not in this set)
      r.duration_s = round((performance.now() - t0) / 1000, 1);
      results.push(r);
      console.log(`${r.line}  [${r.duration_s}s]`);
      for (const [k, v] of Object.entries(r.errors ?? {})) console.log(`  ! ${s.name}/${k}: ${v.split('\n')[0]}`);
    }
  } finally {
    await cluster.end?.(ctx);
  }
  const files = writeReport(outDir, meta, results);
  console.log(`report: ${files.map((f) => path.relative(process.cwd(), f)).join(', ')}`);
  return 0;
};

const withTimeout = <T>(p: Promise<T>, ms: number, name: string): Promise<T> => {
  let t: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<T>((_, reject) => {
      t = setTimeout(() => reject(new Error(`${name} did not finish within ${ms / 1000}s`)), ms);
    }),
  ]);
};

main()
  .then((code) => {
    killAll();
    process.exit(code);
  })
  .catch((e) => {
    console.error(e);
    killAll();
    process.exit(1);
  });

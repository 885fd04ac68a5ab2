// npm run bench -- [--quick] [--only a,b] [--profile embedded|cluster] [--out dir] [--durable-rate n]
// Runs the scenarios one after another; each starts its own server under test and load processes,
// prints one line, and lands in report.json / summary.md / *.svg. Children are always killed.
import { Command, Option } from 'commander';
import path from 'node:path';
import type { Ctx, Scenario } from './lib/context.js';
import { errMsg, round } from './lib/context.js';
import { BENCH_DIR, killAll } from './lib/proc.js';
import { writeReport, type ScenarioResult } from './lib/report.js';
import { gitCommit, machineInfo, nofileLimit } from './lib/sys.js';
import { natterPresent } from './lib/natter.js';
import { durable } from './scenarios/durable.js';
import { latency } from './scenarios/latency.js';
import { fanout } from './scenarios/fanout.js';
import { idle } from './scenarios/idle.js';
import { rebuild } from './scenarios/rebuild.js';
import { catchup } from './scenarios/catchup.js';

const SCENARIOS: Scenario[] = [durable, latency, fanout, idle, rebuild, catchup];

const program = new Command()
  .name('bench')
  .description('Natter benchmark suite: Natter beside its physical limits and peers, measured in the same run')
  .option('--quick', 'small sizes, whole suite in about a minute', false)
  .option('--only <scenarios>', `comma-separated subset of: ${SCENARIOS.map((s) => s.name).join(', ')}`)
  .addOption(new Option('--profile <profile>', 'deployment profile under test').choices(['embedded', 'cluster']).default('embedded'))
  .option('--out <dir>', 'output directory (default bench/results/<date>-<commit>/)')
  .option('--durable-rate <n>', 'offered rate of the open-loop durable variant (msgs/s)', (v) => Number(v))
  .parse();

const opts = program.opts<{ quick: boolean; only?: string; profile: 'embedded' | 'cluster'; out?: string; durableRate?: number }>();

async function main(): Promise<number> {
  const selected = opts.only ? opts.only.split(',').map((s) => s.trim()).filter(Boolean) : SCENARIOS.map((s) => s.name);
  const unknown = selected.filter((n) => !SCENARIOS.some((s) => s.name === n));
  if (unknown.length) {
    console.error(`unknown scenario(s): ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`);
    return 2;
  }
  const outDir = path.resolve(opts.out ?? path.join(BENCH_DIR, 'results', `${new Date().toISOString().slice(0, 10)}-${gitCommit().short}`));
  const meta = { ...machineInfo(), profile: opts.profile, quick: opts.quick, scenarios: selected };
  const results: ScenarioResult[] = [];
  console.log(`natter bench: ${opts.quick ? 'quick' : 'full'} run, profile ${opts.profile}, ${meta.cores} cores, node ${meta.node}, out ${outDir}`);
  const lim = nofileLimit();
  if (lim.soft < 20_000) console.log(`note: ulimit -n is ${lim.soft} (hard ${lim.hard}); the idle scenario raises it per spawned process, which needs root or a higher hard limit`);
  if (!natterPresent()) console.log('note: bin/natter.js is missing: Natter parts will be reported as errors or skipped; peers and limits still run');

  if (opts.profile === 'cluster') {
    console.log('profile cluster: not available yet, skipping every scenario');
    for (const name of selected) results.push({ name, line: `${name}: skipped (cluster profile not available yet)`, figures: {}, rows: [], skipped: 'cluster profile not available yet' });
  } else {
    const ctx: Ctx = {
      quick: opts.quick,
      outDir,
      profile: opts.profile,
      durableRate: opts.durableRate,
      log: (m) => process.stderr.write(`  · ${m}\n`),
    };
    for (const s of SCENARIOS.filter((x) => selected.includes(x.name))) {
      const t0 = performance.now();
      let r: ScenarioResult;
      try {
        r = await withTimeout(s.run(ctx), (opts.quick ? 4 : 12) * 60_000, s.name);
      } catch (e) {
        r = { name: s.name, line: `${s.name}: ERROR ${errMsg(e)}`, figures: {}, rows: [], error: errMsg(e) };
      }
      killAll(); // whatever a scenario left behind
      r.duration_s = round((performance.now() - t0) / 1000, 1);
      results.push(r);
      console.log(`${r.line}  [${r.duration_s}s]`);
      for (const [k, v] of Object.entries(r.errors ?? {})) console.log(`  ! ${s.name}/${k}: ${v.split('\n')[0]}`);
    }
  }
  const files = writeReport(outDir, meta, results);
  console.log(`report: ${files.map((f) => path.relative(process.cwd(), f)).join(', ')}`);
  return 0;
}

function withTimeout<T>(p: Promise<T>, ms: number, name: string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<T>((_, reject) => {
      t = setTimeout(() => reject(new Error(`${name} did not finish within ${ms / 1000}s`)), ms);
    }),
  ]);
}

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

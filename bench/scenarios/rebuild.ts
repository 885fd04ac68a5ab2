// rebuild: events/s of replaying the projections (`node bin/natter.js replay all`) over N events
// written first through the WebSocket API (full: up to 1,000,000 within a time cap; quick: 20,000).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Ctx, Scenario } from '../lib/context.ts';
import { errMsg, round } from '../lib/context.ts';
import { fill, type FillResult } from '../lib/fill.ts';
import { createDirect, devTokens, natterPresent, NATTER_BIN, startNatter, UNSEALED, type NatterServer } from '../lib/natter.ts';
import { REPO_DIR, spawnNode } from '../lib/proc.ts';
import { row, type ScenarioResult } from '../lib/report.ts';
import { TARGETS } from '../lib/targets.ts';
import type { ConnSpec } from '../clients/common.ts';
import { rmSync } from 'node:fs';

const run = promisify(execFile);

/** Run `node bin/natter.js <args>` as a tracked child (killed on SIGINT) and time it. */
const timeCmd = async (args: string[], env: Record<string, string>, timeoutMs: number): Promise<{ ms: number; stdout: string; stderr: string }> => {
  const t0 = performance.now();
  const child = spawnNode([NATTER_BIN, ...args], { name: `natter ${args[0]}`, quiet: true, env: { NATTER_LOG_LEVEL: 'warn', ...env } });
  let stdout = '',
    stderr = '';
  child.proc.stdout?.on('data', (b: Buffer) => (stdout += b.toString()));
  child.proc.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
  const code = await new Promise<number | null>((resolve) => {
    const t = setTimeout(() => void child.stop(500), timeoutMs);
    child.proc.on('exit', (c) => {
      clearTimeout(t);
      resolve(c);
    });
  });
  if (code !== 0) throw new Error(`natter ${args.join(' ')} exited with ${code}: ${(stderr || stdout).trim().slice(-500)}`);
  return { ms: performance.now() - t0, stdout, stderr };
};

const replayAvailable = async (): Promise<string | null> => {
  if (!natterPresent()) return 'bin/natter.js does not exist yet';
  try {
    const h = await run(process.execPath, [NATTER_BIN, '--help'], { cwd: REPO_DIR, timeout: 30_000 }).catch((e: { stdout?: string; stderr?: string }) => ({
      stdout: e.stdout ?? '',
      stderr: e.stderr ?? '',
    }));
    if (!/\breplay\b/.test(h.stdout + h.stderr)) return 'the `replay` command is not available yet (not in `natter --help`)';
  } catch (e) {
    return `natter --help failed: ${errMsg(e)}`;
  }
  return null;
};

export const directPairs = async (n: NatterServer, pairs: number, prefix: string): Promise<ConnSpec[]> => {
  const toks = await devTokens(
    n.base,
    Array.from({ length: pairs }, (_, k) => ({ userId: `${prefix}${k}a`, deviceId: 'd' })),
  );
  const specs: ConnSpec[] = [];
  for (let k = 0; k < pairs; k++) {
    const room = await createDirect(n.base, toks[k]!, `${prefix}${k}b`);
    specs.push({ room, userId: `${prefix}${k}a`, deviceId: 'd', token: toks[k] }, { room, userId: `${prefix}${k}b`, deviceId: 'd' });
  }
  return specs;
};

type Pass = {
  written: FillResult;
  events: number;
  events_source: string;
  projections: Array<{ name: string; events: number; seconds: number }>;
  events_per_s_sum_of_projection_times: number | null;
  replay_ms: number;
  cli_startup_ms: number;
  events_per_s: number;
  events_per_s_incl_startup: number;
  replay_output_tail: string;
};

/** Writes up to `target` messages through the API into a fresh server (with `env`), stops it, and times `replay all`. */
const writeAndReplay = async (ctx: Ctx, label: string, target: number, maxMs: number, env: Record<string, string>): Promise<Pass> => {
  let server: NatterServer | undefined;
  let dataDir = '';
  try {
    server = await startNatter({ env });
    dataDir = server.dataDir;
    const specs = await directPairs(server, 50, 'r');
    ctx.log(`rebuild${label}: writing up to ${target.toLocaleString('en-US')} messages (cap ${maxMs / 1000}s)`);
    const written = await fill(server, specs, { maxMessages: target, maxMs, window: 16 });
    await server.stop({ keepData: true });
    server = undefined;
    const startup = await timeCmd(['--help'], {}, 30_000);
    ctx.log(`rebuild${label}: replay all over ${written.acked.toLocaleString('en-US')} messages`);
    const r = await timeCmd(['replay', 'all'], { ...env, NATTER_DATA_DIR: dataDir }, 300_000);
    const out = (r.stdout + r.stderr).trim();
    // "replayed N events into <projections> in S s (R events/s)": one pass feeds every projection
    const projections = [...out.matchAll(/^replayed (\d+) events into (.+) in ([\d.]+) s/gm)].map((m) => ({
      name: m[2]!,
      events: Number(m[1]),
      seconds: Number(m[3]),
    }));
    const reported = projections.length ? Math.max(...projections.map((p) => p.events)) : null;
    const events = reported ?? written.acked;
    const projSeconds = projections.reduce((a, p) => a + p.seconds, 0);
    const netMs = Math.max(1, r.ms - startup.ms);
    return {
      written,
      events,
      events_source:
        reported != null
          ? 'replay output (events of the log; every projection replays all of them)'
          : 'acked messages (the replay printed no event count; conversation events not counted)',
      projections,
      events_per_s_sum_of_projection_times: projSeconds > 0 ? Math.round(events / projSeconds) : null,
      replay_ms: round(r.ms),
      cli_startup_ms: round(startup.ms),
      events_per_s: Math.round(events / (netMs / 1000)),
      events_per_s_incl_startup: Math.round(events / (r.ms / 1000)),
      replay_output_tail: out
        .split('\n')
        .filter((l) => !l.includes('['))
        .join('\n')
        .slice(-800),
    };
  } finally {
    await server?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }
};

export const rebuild: Scenario = {
  name: 'rebuild',
  describe: 'projection replay events/s (content sealed, and unsealed beside it)',
  run: async (ctx): Promise<ScenarioResult> => {
    const why = await replayAvailable();
    if (why) return { name: 'rebuild', line: `rebuild: skipped (${why})`, figures: {}, rows: [], skipped: why };
    const target = ctx.quick ? 20_000 : 1_000_000;
    const maxMs = ctx.quick ? 20_000 : 150_000;
    const sealed = await writeAndReplay(ctx, '', target, maxMs, {});
    // What opening sealed content costs the replay: the same number of messages, written and replayed unsealed.
    const unsealed = await writeAndReplay(ctx, ' (content unsealed)', sealed.written.acked, maxMs * 2, UNSEALED);
    const { events, events_per_s: eps, written, replay_ms } = sealed;
    return {
      name: 'rebuild',
      line: `rebuild: replay all of ${events.toLocaleString('en-US')} events in ${round(replay_ms / 1000, 2)} s → ${eps.toLocaleString('en-US')} events/s (written at ${written.msgs_per_s.toLocaleString('en-US')} msgs/s); content unsealed ${unsealed.events_per_s.toLocaleString('en-US')} events/s`,
      figures: { ...sealed, unsealed },
      rows: [
        row('replay events/s (CLI start-up subtracted)', 'events/s', eps, written.msgs_per_s, 'write rate through the API', TARGETS.rebuildEventsPerS),
        row(
          'replay events/s, content sealed (default)',
          'events/s',
          eps,
          unsealed.events_per_s,
          'content unsealed (NATTER_CONTENT_ENCRYPTION=false), same run',
        ),
      ],
      notes:
        written.acked < target
          ? [`wrote ${written.acked.toLocaleString('en-US')} of ${target.toLocaleString('en-US')} messages within the ${maxMs / 1000}s cap`]
          : [],
    };
  },
};

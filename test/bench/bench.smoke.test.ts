// Smoke test of the bench suite: `npm run bench -- --quick` must produce a report in which every
// scenario has at least one figure (a number; values are not checked — no timing assertions).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SCENARIOS = ['durable', 'latency', 'throughput', 'fanout', 'idle', 'presence', 'rebuild', 'catchup', 'search'];
// ~1.5–2 min alone; more when `npm test` runs other files beside it, or the shared machine is busy
const TIMEOUT_MS = 300_000;

interface Row {
  natter: number | null;
  ref: number | null;
}
interface Scenario {
  rows?: Row[];
  figures?: unknown;
  error?: string;
  errors?: Record<string, string>;
  skipped?: string;
}

function hasNumber(v: unknown): boolean {
  if (typeof v === 'number') return Number.isFinite(v);
  if (Array.isArray(v)) return v.some(hasNumber);
  if (v && typeof v === 'object') return Object.values(v).some(hasNumber);
  return false;
}

test('npm run bench -- --quick writes report.json and summary.md with a figure per scenario', { timeout: TIMEOUT_MS + 10_000 }, async (t) => {
  const out = mkdtempSync(path.join(tmpdir(), 'natter-bench-smoke-'));
  t.after(() => rmSync(out, { recursive: true, force: true }));
  const child = spawn('npm', ['run', 'bench', '--', '--quick', '--out', out], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let log = '';
  child.stdout.on('data', (b: Buffer) => (log += b.toString()));
  child.stderr.on('data', (b: Buffer) => (log += b.toString()));
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGINT');
      } catch {
        /* gone */
      }
    }, TIMEOUT_MS);
    child.on('exit', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  for (const l of log
    .split('\n')
    .filter((x) => x && !x.startsWith('  ·'))
    .slice(-12))
    t.diagnostic(l.slice(0, 400));
  assert.equal(code, 0, `bench exited with ${code}\n${log.slice(-3000)}`);

  const reportFile = path.join(out, 'report.json');
  assert.ok(existsSync(reportFile), 'report.json exists');
  const report = JSON.parse(readFileSync(reportFile, 'utf8')) as { meta: Record<string, unknown>; scenarios: Record<string, Scenario> };
  for (const k of ['cores', 'memory_bytes', 'node', 'os', 'git_commit', 'date']) assert.ok(report.meta[k] !== undefined, `meta.${k}`);
  for (const name of SCENARIOS) {
    const s = report.scenarios[name];
    assert.ok(s, `scenario ${name} is in the report`);
    assert.equal(s.error, undefined, `scenario ${name} failed: ${s.error}`);
    for (const [k, v] of Object.entries(s.errors ?? {})) t.diagnostic(`${name}/${k}: ${v}`);
    if (s.skipped !== undefined) {
      assert.ok(s.skipped.length > 0, `scenario ${name} skipped with a reason`);
      t.diagnostic(`${name} skipped: ${s.skipped}`);
      continue;
    }
    const rowNumbers = (s.rows ?? []).some((r) => hasNumber(r.natter) || hasNumber(r.ref));
    assert.ok(rowNumbers && hasNumber(s.figures), `scenario ${name} produced a figure`);
  }

  const summary = path.join(out, 'summary.md');
  assert.ok(existsSync(summary), 'summary.md exists');
  assert.match(readFileSync(summary, 'utf8'), /\| scenario \| metric \| Natter \|/);
});

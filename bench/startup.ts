// Start-up time and idle memory of `node bin/natter.js serve`, from the sources through tsx
// (NATTER_FROM_SOURCE=1) and from the compiled build (dist/, `npm run build` first), alternating so
// that both see the same load on the machine. Start-up: process spawn to the first 200 from
// /readyz. Idle RSS: the process and its children (tsx's esbuild service among them), 5 s later.
// Usage: node --import tsx bench/startup.ts [--runs 3]
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { freePort } from '../scripts/ports.ts';
import { NATTER_BIN } from './lib/natter.ts';
import { treeRss } from './lib/sys.ts';

type Mode = 'source' | 'compiled';
const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' } } });

const measure = async (mode: Mode) => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'natter-startup-'));
  const port = await freePort();
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  const started = performance.now();
  const child = spawn(process.execPath, [NATTER_BIN, 'serve'], {
    env: {
      ...env,
      NATTER_DATA_DIR: dataDir,
      NATTER_PORT: String(port),
      NATTER_HOST: '127.0.0.1',
      NATTER_LOG_LEVEL: 'warn',
      NATTER_FROM_SOURCE: mode === 'source' ? '1' : '0',
    },
    stdio: 'ignore',
  });
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`natter (${mode}) exited with ${child.exitCode}`);
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ready) break;
      await sleep(10);
    }
    const startupMs = performance.now() - started;
    await sleep(5_000);
    return { startupMs, rssMiB: treeRss(child.pid!) / 2 ** 20 };
  } finally {
    child.kill('SIGTERM');
    if (child.exitCode === null) await once(child, 'exit');
    rmSync(dataDir, { recursive: true, force: true });
  }
};

const results: Record<Mode, Array<{ startupMs: number; rssMiB: number }>> = { source: [], compiled: [] };
for (let run = 0; run < Number(values.runs); run++) {
  for (const mode of ['source', 'compiled'] as const) {
    const result = await measure(mode);
    results[mode].push(result);
    console.log(`run ${run + 1} ${mode.padEnd(8)} start-up ${result.startupMs.toFixed(0)} ms, idle RSS ${result.rssMiB.toFixed(1)} MiB`);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
for (const mode of ['source', 'compiled'] as const) {
  const rows = results[mode];
  console.log(
    `${mode.padEnd(8)} median start-up ${median(rows.map((r) => r.startupMs)).toFixed(0)} ms, median idle RSS ${median(rows.map((r) => r.rssMiB)).toFixed(1)} MiB`,
  );
}

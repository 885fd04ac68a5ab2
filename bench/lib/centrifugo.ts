// Centrifugo, the Go peer: find its binary (built once by bench/peers/centrifugo.sh from the Go module
// proxy) and start it on loopback with a minimal config. When it cannot be had, every scenario that
// would measure it says so in its notes, and the bench prints the reason once: no numbers are made up.
import { execFile, spawn } from 'node:child_process';
import { accessSync, constants, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from './natter.ts';
import { BENCH_DIR, Child, freePort, waitHttp200 } from './proc.ts';

export type CentrifugoKind = 'centrifugo' | 'centrifugo-history';

/** Channel namespace per kind: `relay` keeps nothing (a pure relay, like the ws and socket.io peers);
 * `hist` keeps a per-channel stream in memory with offsets, and subscribers recover from it — the
 * closest Centrifugo gets to Natter's ordered, resumable conversation log without an external engine
 * (it is not durable: the memory engine loses it with the process). */
export const NAMESPACE: Record<CentrifugoKind, string> = { centrifugo: 'relay', 'centrifugo-history': 'hist' };

const SCRIPT = path.join(BENCH_DIR, 'peers', 'centrifugo.sh');
// A build on 2 shared cores takes minutes; past this it is not going to finish in a bench run.
const BUILD_TIMEOUT_MS = 20 * 60_000;

export type Availability = { bin: string; version: string } | { skipped: string };

let found: Promise<Availability> | undefined;

/**
 * The Centrifugo binary, or why the peer is skipped. NATTER_BENCH_CENTRIFUGO=off skips it, =<path>
 * uses that binary. Otherwise the cached build is used; only when `build` is true (full runs) is it
 * built when missing, so that `--quick` (the smoke test) never spends minutes compiling.
 */
export const centrifugoAvailability = (opts: { build: boolean; log: (m: string) => void }): Promise<Availability> => {
  found ??= locate(opts).then((a) => {
    // stdout, not the progress log: whoever reads the run's output must see that a peer is missing.
    if ('skipped' in a) console.log(`peer Centrifugo skipped: ${a.skipped}`);
    else console.log(`peer Centrifugo ${a.version}: ${a.bin}`);
    return a;
  });
  return found;
};

const locate = async (opts: { build: boolean; log: (m: string) => void }): Promise<Availability> => {
  const env = process.env.NATTER_BENCH_CENTRIFUGO;
  if (env === 'off') return { skipped: 'NATTER_BENCH_CENTRIFUGO=off' };
  let bin: string;
  if (env) {
    try {
      accessSync(env, constants.X_OK);
    } catch {
      return { skipped: `NATTER_BENCH_CENTRIFUGO=${env} is not an executable file` };
    }
    bin = env;
  } else {
    const cached = await run('bash', [SCRIPT, '--check'], 10_000);
    if (cached.code === 0) bin = cached.stdout.trim();
    else if (!opts.build) return { skipped: `${lastLine(cached.stderr)}; --quick runs never build it` };
    else {
      opts.log('centrifugo: not cached, building it once from the Go module proxy (bench/peers/centrifugo.sh)');
      const b = await run('bash', [SCRIPT], BUILD_TIMEOUT_MS);
      if (b.code !== 0) return { skipped: `bench/peers/centrifugo.sh exited ${b.code}: ${b.stderr.trim().split('\n').slice(-6).join(' | ')}` };
      bin = b.stdout.trim().split('\n').pop()!;
    }
  }
  const v = await run(bin, ['version'], 10_000);
  if (v.code !== 0) return { skipped: `${bin} version exited ${v.code}: ${lastLine(v.stderr || v.stdout)}` };
  // `go install` sets no version ldflags (the binary says v0.0.0): the cache folder names the version.
  const version = /centrifugo-(v\d+\.\d+\.\d+)/.exec(bin)?.[1] ?? v.stdout.trim().slice(0, 60);
  return { bin, version };
};

const lastLine = (s: string): string => s.trim().split('\n').pop() ?? '';

const run = (cmd: string, args: string[], timeoutMs: number): Promise<{ code: number; stdout: string; stderr: string }> => {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) || (err && code === -1 ? err.message : '') });
    });
  });
};

export type CentrifugoServer = {
  child: Child;
  port: number;
  stop(): Promise<void>;
};

/** Start Centrifugo on a free loopback port: insecure client mode (anonymous connect, subscribe and
 * publish, no tokens: the bench measures the relay, not JWT checks), both namespaces, usage stats off. */
export const startCentrifugo = async (bin: string): Promise<CentrifugoServer> => {
  const port = await freePort();
  const dir = tempDir('centrifugo');
  const config = {
    http_server: { address: '127.0.0.1', port },
    log: { level: 'warn' },
    usage_stats: { disabled: true },
    health: { enabled: true },
    client: { insecure: true },
    channel: {
      namespaces: [{ name: NAMESPACE.centrifugo }, { name: NAMESPACE['centrifugo-history'], history_size: 1000, history_ttl: '300s', force_recovery: true }],
    },
  };
  const file = path.join(dir, 'config.json');
  writeFileSync(file, JSON.stringify(config, null, 2));
  const proc = spawn(bin, ['--config', file], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const child = new Child(proc, 'centrifugo'); // registered: killed with every other child of the bench
  proc.stderr?.on('data', (b: Buffer) => {
    const s = b.toString();
    if (/error|fatal|panic/i.test(s)) process.stderr.write(`[centrifugo] ${s.slice(0, 500)}`);
  });
  try {
    await waitHttp200(`http://127.0.0.1:${port}/health`, 30_000, child);
  } catch (e) {
    await child.stop(500);
    throw e;
  }
  return { child, port, stop: () => child.stop(3000) };
};

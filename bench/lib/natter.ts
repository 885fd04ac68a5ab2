// Starting the Natter server under test (the embedded deployment) and the few REST calls the scenarios need.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawnNode, freePort, sleep, waitHttp200, REPO_DIR, type Child } from './proc.ts';
import { round } from './context.ts';
import { pool } from './ipc.ts';
import type { Deployment } from './deployment.ts';

export const NATTER_BIN = path.join(REPO_DIR, 'bin', 'natter.js');

/** Load generators send far above a person's rate; the limits are measured elsewhere. */
export const BENCH_LIMITS: Record<string, string> = {
  NATTER_MESSAGES_PER_MINUTE: '1000000000',
  NATTER_EPHEMERAL_PER_SECOND: '100000000',
  NATTER_MAX_SOCKETS_PER_USER: '100000',
  NATTER_CONVERSATION_MESSAGES_PER_SECOND: '100000000',
  NATTER_CONVERSATION_BURST: '100000000',
};

export type NatterServer = {
  child: Child;
  port: number;
  base: string;
  dataDir: string;
  stop: (opts?: { keepData?: boolean }) => Promise<void>;
};

export const natterPresent = (): boolean => {
  return existsSync(NATTER_BIN);
};

const tempDirs = new Set<string>();
let cleanupInstalled = false;

/** A fresh temp dir, removed at exit (also on SIGINT) if the scenario did not remove it itself. */
export const tempDir = (prefix: string): string => {
  const d = mkdtempSync(path.join(tmpdir(), `natter-bench-${prefix}-`));
  tempDirs.add(d);
  if (!cleanupInstalled) {
    cleanupInstalled = true;
    process.on('exit', () => {
      for (const x of tempDirs) rmSync(x, { recursive: true, force: true });
    });
  }
  return d;
};

/** `node bin/natter.js serve` on a free loopback port with a fresh data dir (or the given one). */
export const startNatter = async (opts: { dataDir?: string; nofile?: number; env?: Record<string, string> } = {}): Promise<NatterServer> => {
  if (!natterPresent()) throw new Error('bin/natter.js does not exist yet');
  const port = await freePort();
  const dataDir = opts.dataDir ?? tempDir('data');
  const child = spawnNode([NATTER_BIN, 'serve'], {
    name: 'natter',
    nofile: opts.nofile,
    // e.g. NATTER_BENCH_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to see where a scenario's time goes
    // (node refuses --cpu-prof in NODE_OPTIONS)
    nodeFlags: process.env.NATTER_BENCH_NODE_FLAGS?.split(/\s+/).filter(Boolean),
    quiet: true,
    env: { NATTER_PORT: String(port), NATTER_HOST: '127.0.0.1', NATTER_DATA_DIR: dataDir, NATTER_LOG_LEVEL: 'warn', ...BENCH_LIMITS, ...opts.env },
  });
  child.proc.stderr?.on('data', (b: Buffer) => {
    const s = b.toString();
    if (/error|fatal/i.test(s)) process.stderr.write(`[natter] ${s.slice(0, 500)}`);
  });
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitHttp200(`${base}/healthz`, 30_000, child);
  } catch (e) {
    await child.stop(500);
    throw e;
  }
  return {
    child,
    port,
    base,
    dataDir,
    stop: async (o = {}) => {
      await child.stop(5000);
      if (!o.keepData) rmSync(dataDir, { recursive: true, force: true });
    },
  };
};

/** One `natter serve` per scenario (with `env` on top of the defaults): senders and receivers on the same server. */
export const embeddedWith = (env: Record<string, string> = {}, label = 'embedded'): Deployment => ({
  name: 'embedded',
  start: async () => {
    const server = await startNatter({ env });
    const target = { kind: 'natter' as const, host: '127.0.0.1', port: server.port };
    return {
      kind: 'natter',
      label,
      base: server.base,
      senders: [target],
      receivers: [target],
      processes: async () => [{ label: 'natter', pid: server.child.pid }],
      stop: () => server.stop(),
    };
  },
});

export const embedded: Deployment = embeddedWith();

/** Message content left unsealed in the log: only to measure what sealing costs (erasure needs it). */
export const UNSEALED: Record<string, string> = { NATTER_CONTENT_ENCRYPTION: 'false' };

const post = async <T>(url: string, body: unknown, token?: string): Promise<T> => {
  const r = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await r.text();
  if (r.status >= 300) throw new Error(`POST ${new URL(url).pathname} -> HTTP ${r.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
};

export const devToken = async (base: string, userId: string, deviceId: string): Promise<string> => {
  const r = await post<{ token: string }>(`${base}/v1/auth/dev-token`, { user_id: userId, device_id: deviceId });
  if (!r.token) throw new Error('dev-token: no token in answer');
  return r.token;
};

export const devTokens = async (base: string, who: Array<{ userId: string; deviceId: string }>, concurrency = 32): Promise<string[]> => {
  return pool(who, concurrency, (w) => devToken(base, w.userId, w.deviceId));
};

export const createDirect = async (base: string, token: string, peerId: string): Promise<string> => {
  const r = await post<{ conversation_id: string }>(`${base}/v1/conversations`, { type: 'direct', peer_id: peerId }, token);
  return r.conversation_id;
};

export const createGroup = async (base: string, token: string, title: string, memberIds: string[]): Promise<string> => {
  const r = await post<{ conversation_id: string }>(`${base}/v1/conversations`, { type: 'group', title, member_ids: memberIds }, token);
  return r.conversation_id;
};

/** One sample of a Prometheus /metrics endpoint (null when there is none, or not that sample). */
export const metricValue = async (base: string, name: string): Promise<number | null> => {
  try {
    const r = await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(3000) });
    if (r.status !== 200) return null;
    const m = new RegExp(`^${name}\\s+([0-9.e+-]+)`, 'm').exec(await r.text());
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
};

/** How far the read models were behind when a load stopped (events), and how long they took to hold all of it (null: not within the timeout). */
export type CaughtUp = { lag_at_end: number | null; caught_up_after_s: number | null };

/** Waits for the read models to hold every acked event (a gateway's natter_projector_lag_events at 0); a server without that gauge: no wait, and both figures null. */
export const readModelsCaughtUp = async (base: string, timeoutMs: number): Promise<CaughtUp> => {
  const lag = () => metricValue(base, 'natter_projector_lag_events');
  const began = performance.now();
  const lagAtEnd = await lag();
  if (lagAtEnd === null) return { lag_at_end: null, caught_up_after_s: null };
  // A read that fails or times out mid-wait (a saturated gateway) is not a caught-up: wait on.
  for (let now: number | null = lagAtEnd; now !== 0; now = await lag()) {
    if (performance.now() - began > timeoutMs) return { lag_at_end: lagAtEnd, caught_up_after_s: null };
    await sleep(100);
  }
  return { lag_at_end: lagAtEnd, caught_up_after_s: round((performance.now() - began) / 1000, 1) };
};

/** Heap used, from an optional Prometheus /metrics endpoint (null when there is none). */
export const natterHeapBytes = (base: string): Promise<number | null> => metricValue(base, 'nodejs_heap_size_used_bytes');

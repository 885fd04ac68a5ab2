// Spawning and tracking of child processes (servers under test, peers, load generators).
// Every child is registered so that it is killed when the bench ends, fails or gets SIGINT.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const BENCH_DIR = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
export const REPO_DIR = path.dirname(BENCH_DIR);

const live = new Set<ChildProcess>();

export const killAll = (): void => {
  for (const c of live) {
    try {
      if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
  live.clear();
};

let handlersInstalled = false;
const installHandlers = (): void => {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', killAll);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      process.stderr.write(`\nbench: ${sig}, stopping child processes\n`);
      killAll();
      process.exit(130);
    });
  }
};

export type IpcMsg = { type: string; [k: string]: unknown };

export type SpawnOpts = {
  env?: Record<string, string>;
  /** raise `ulimit -n` to this value in the spawning shell */
  nofile?: number;
  /** extra node flags (e.g. --expose-gc, --max-old-space-size=...) */
  nodeFlags?: string[];
  ipc?: boolean;
  /** label used in error messages */
  name?: string;
  /** where the child's stdout goes; default: inherit stderr of the bench (so scenario lines stay clean) */
  quiet?: boolean;
};

/** A spawned child process with a small request/response layer over IPC. */
export class Child {
  readonly proc: ChildProcess;
  readonly name: string;
  private inbox: IpcMsg[] = [];
  private waiters: Array<{ type: string; resolve: (m: IpcMsg) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }> = [];
  private exitInfo: string | null = null;
  private tail = '';

  constructor(proc: ChildProcess, name: string) {
    this.proc = proc;
    this.name = name;
    live.add(proc);
    proc.on('message', (m: IpcMsg) => {
      if (m && m.type === 'fatal') {
        this.failAll(new Error(`${name}: ${String(m.error)}`));
        return;
      }
      const i = this.waiters.findIndex((w) => w.type === m.type);
      if (i >= 0) {
        const [w] = this.waiters.splice(i, 1);
        clearTimeout(w!.timer);
        w!.resolve(m);
      } else this.inbox.push(m);
    });
    const keepTail = (b: Buffer): void => {
      this.tail = (this.tail + b.toString()).slice(-2000);
    };
    proc.stderr?.on('data', keepTail);
    proc.stdout?.on('data', keepTail);
    proc.on('exit', (code, sig) => {
      live.delete(proc);
      this.exitInfo = `exited (code ${code}, signal ${sig})`;
      this.failAll(new Error(`${name} ${this.exitInfo}${this.tail ? `; last output: ${this.tail.trim().slice(-600)}` : ''}`));
    });
    proc.on('error', (e) => this.failAll(new Error(`${name}: ${e.message}`)));
  }

  get pid(): number {
    return this.proc.pid ?? -1;
  }

  get exited(): boolean {
    return this.exitInfo !== null;
  }

  get output(): string {
    return this.tail;
  }

  private failAll(e: Error): void {
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(e);
    }
  }

  send(msg: IpcMsg): void {
    if (this.exited || !this.proc.connected) throw new Error(`${this.name} is not running (${this.exitInfo ?? 'no IPC'})`);
    this.proc.send(msg);
  }

  /** Wait for the next message of the given type. */
  wait(type: string, timeoutMs: number): Promise<IpcMsg> {
    const i = this.inbox.findIndex((m) => m.type === type);
    if (i >= 0) return Promise.resolve(this.inbox.splice(i, 1)[0]!);
    if (this.exited) return Promise.reject(new Error(`${this.name} ${this.exitInfo}; last output: ${this.tail.trim().slice(-600)}`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.timer !== timer);
        reject(new Error(`${this.name}: no '${type}' within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push({ type, resolve, reject, timer });
    });
  }

  async request(msg: IpcMsg, replyType: string, timeoutMs: number): Promise<IpcMsg> {
    const p = this.wait(replyType, timeoutMs);
    this.send(msg);
    return p;
  }

  /** Kill (SIGTERM, then SIGKILL after graceMs) and wait for exit. */
  async stop(graceMs = 2000): Promise<void> {
    if (this.exited) return;
    const done = new Promise<void>((r) => this.proc.once('exit', () => r()));
    try {
      this.proc.kill('SIGTERM');
    } catch {
      /* gone */
    }
    const t = setTimeout(() => {
      try {
        this.proc.kill('SIGKILL');
      } catch {
        /* gone */
      }
    }, graceMs);
    await done;
    clearTimeout(t);
  }
}

const shq = (s: string): string => {
  return `'${s.replace(/'/g, `'\\''`)}'`;
};

/** Spawn `node [flags] <args>` through sh so that `ulimit -n` can be raised first (exec keeps the pid). */
export const spawnNode = (args: string[], opts: SpawnOpts = {}): Child => {
  installHandlers();
  const node = [process.execPath, ...(opts.nodeFlags ?? []), ...args].map(shq).join(' ');
  const ulimit = opts.nofile ? `ulimit -n ${opts.nofile} 2>/dev/null || ulimit -n $(ulimit -Hn) 2>/dev/null; ` : '';
  const proc = spawn('/bin/sh', ['-c', `${ulimit}exec ${node}`], {
    cwd: REPO_DIR,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe', ...(opts.ipc ? (['ipc'] as const) : [])],
  });
  const child = new Child(proc, opts.name ?? path.basename(args[args.length - 1] ?? 'node'));
  if (!opts.quiet) proc.stderr?.on('data', (b: Buffer) => process.stderr.write(`[${child.name}] ${b}`));
  proc.stdout?.resume();
  return child;
};

/** Spawn a TypeScript file of the bench (`node --import tsx file`) with an IPC channel. */
export const spawnTs = (relFile: string, opts: SpawnOpts = {}): Child => {
  const file = path.join(BENCH_DIR, relFile);
  return spawnNode(['--import', 'tsx', file], { ipc: true, name: path.basename(relFile, '.ts'), ...opts, nodeFlags: [...(opts.nodeFlags ?? [])] });
};

export const freePort = (): Promise<number> => {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
};

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Poll an URL until it answers 200 or the time runs out. */
export const waitHttp200 = async (url: string, timeoutMs: number, child?: Child): Promise<void> => {
  const end = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < end) {
    if (child?.exited) throw new Error(`${child.name} exited before ready; last output: ${child.output.trim().slice(-800)}`);
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (r.status === 200) return;
      last = `HTTP ${r.status}`;
    } catch (e) {
      last = (e as Error).message;
    }
    await sleep(100);
  }
  throw new Error(`${url} not ready within ${timeoutMs} ms (${last})`);
};

/** Start a client process, send it a setup command and wait until it reports 'ready'. */
export const startClient = async (relFile: string, setup: IpcMsg, opts: SpawnOpts & { timeoutMs?: number } = {}): Promise<{ child: Child; ready: IpcMsg }> => {
  const child = spawnTs(relFile, opts);
  try {
    const ready = await child.request(setup, 'ready', opts.timeoutMs ?? 60_000);
    return { child, ready };
  } catch (e) {
    await child.stop(500);
    throw e;
  }
};

export const stopAll = async (children: Array<Child | undefined | null>): Promise<void> => {
  await Promise.all(children.map((c) => c?.stop().catch(() => undefined)));
};

// Machine facts and process memory, read from /proc.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import { round } from './context.ts';
import { REPO_DIR } from './proc.ts';

export const gitCommit = (): { commit: string; short: string; dirty: boolean } => {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: REPO_DIR }).toString().trim();
    const dirty = execFileSync('git', ['status', '--porcelain'], { cwd: REPO_DIR }).toString().trim().length > 0;
    return { commit, short: commit.slice(0, 7), dirty };
  } catch {
    return { commit: 'unknown', short: 'nogit', dirty: false };
  }
};

export const nofileLimit = (): { soft: number; hard: number } => {
  const read = (flag: string): number => {
    try {
      const v = execFileSync('/bin/sh', ['-c', `ulimit ${flag}`])
        .toString()
        .trim();
      return v === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(v);
    } catch {
      return NaN;
    }
  };
  return { soft: read('-Sn'), hard: read('-Hn') };
};

export const machineInfo = (): Record<string, unknown> & { cores: number; node: string } => {
  const cpus = os.cpus();
  const git = gitCommit();
  return {
    date: new Date().toISOString(),
    git_commit: git.commit,
    git_dirty: git.dirty,
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    cores: cpus.length,
    cpu_model: cpus[0]?.model ?? 'unknown',
    memory_bytes: os.totalmem(),
    free_memory_bytes: os.freemem(),
    loadavg_at_start: os.loadavg(),
    nofile: nofileLimit(),
  };
};

const statusField = (pid: number, field: string): number | null => {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
};

const childrenOf = (pid: number): number[] => {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(d));
    } catch {
      /* raced */
    }
  }
  return out;
};

/** A process and all its descendants, each once (children are found by their parent pid). */
const tree = function* (pid: number): Generator<number> {
  const stack = [pid];
  const seen = new Set<number>();
  while (stack.length) {
    const p = stack.pop()!;
    if (seen.has(p)) continue;
    seen.add(p);
    yield p;
    stack.push(...childrenOf(p));
  }
};

/** VmRSS of a process and all its descendants (in case `bin/natter.js` forks a worker), in bytes. */
export const treeRss = (pid: number): number => {
  let total = 0;
  for (const p of tree(pid)) total += statusField(p, 'VmRSS') ?? 0;
  return total;
};

export const availableMemory = (): number => {
  try {
    const m = /^MemAvailable:\s+(\d+)\s+kB/m.exec(readFileSync('/proc/meminfo', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    /* not linux */
  }
  return os.freemem();
};

/**
 * CPU time (user+sys, seconds) used so far by a process and its descendants: each one's own time and
 * that of its children that have exited (which the kernel adds to the parent once it reaps them, when
 * they are no longer in the tree, so nothing counts twice): PostgreSQL's backends, for one.
 */
export const treeCpuSeconds = (pid: number): number => {
  let ticks = 0;
  for (const p of tree(pid)) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    } catch {
      /* exited meanwhile */
    }
  }
  return ticks / 100;
};

/** The processes a deployment runs on, by label: a sample of their CPU seconds now. */
export const cpuSample = (processes: ReadonlyArray<{ label: string; pid: number }>): Record<string, number> =>
  Object.fromEntries(processes.map(({ label, pid }) => [label, treeCpuSeconds(pid)]));

/** CPU milliseconds per 1,000 operations of each process between two samples, and their total. */
export const cpuPer1k = (before: Record<string, number>, after: Record<string, number>, operations: number): Record<string, number> | undefined => {
  if (operations <= 0) return undefined;
  const ms = Object.keys(before).map((label) => [label, ((after[label]! - before[label]!) * 1e6) / operations] as const);
  const total = ms.reduce((a, [, v]) => a + v, 0);
  return { ...Object.fromEntries(ms.map(([label, v]) => [label, round(v, 1)])), total: round(total, 1) };
};

/** A cpuPer1k figure as "label ms, ...", the busiest process first (the total left out), at most `top` of them. */
export const cpuByProcess = (cpu: Record<string, number>, top = Number.POSITIVE_INFINITY): string =>
  Object.entries(cpu)
    .filter(([label]) => label !== 'total')
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([label, ms]) => `${label} ${ms}`)
    .join(', ');

/** CPU time (user+sys, seconds) used so far by a process, from /proc/<pid>/stat. */
export const cpuSeconds = (pid: number): number | null => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return null;
  }
};

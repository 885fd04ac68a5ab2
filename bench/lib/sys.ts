// Machine facts and process memory, read from /proc.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
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

/** VmRSS of a process and all its descendants (in case `bin/natter.js` forks a worker), in bytes. */
export const treeRss = (pid: number): number => {
  let total = 0;
  const stack = [pid];
  const seen = new Set<number>();
  while (stack.length) {
    const p = stack.pop()!;
    if (seen.has(p)) continue;
    seen.add(p);
    total += statusField(p, 'VmRSS') ?? 0;
    stack.push(...childrenOf(p));
  }
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

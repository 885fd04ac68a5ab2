import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** The pid of a live Natter process that holds the data directory, if any. */
export const dataDirHolder = (dataDir: string): number | null => {
  const file = join(dataDir, 'natter.pid');
  if (!existsSync(file)) return null;
  const pid = Number(readFileSync(file, 'utf8'));
  return Number.isSafeInteger(pid) && pid !== process.pid && alive(pid) ? pid : null;
};

/**
 * One server per data directory: SQLite would allow two, but each keeps conversation state in
 * memory and a second writer would only cause needless conflicts. A stale file (after kill -9) is
 * taken over.
 */
export const holdDataDirLock = (dataDir: string): (() => void) => {
  const holder = dataDirHolder(dataDir);
  if (holder) throw new Error(`data directory ${dataDir} is in use by process ${holder}`);
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, 'natter.pid');
  writeFileSync(file, String(process.pid));
  return () => rmSync(file, { force: true });
};

// Where the engines are: scripts/engines.sh starts those that are down and prints their addresses.
// Shared by test/ (through test/support/engines.ts) and bench/, which must not import from test/.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
// by path, not by the cwd: the bench and the adapter benches may run from anywhere
const script = fileURLToPath(new URL('./engines.sh', import.meta.url));

export type Engine = 'redis' | 'postgres' | 'kafka' | 'cassandra' | 'opensearch';
export type EngineEnv = {
  NATTER_REDIS_URL: string;
  NATTER_PG_URL: string;
  NATTER_KAFKA_BROKERS: string;
  NATTER_CASSANDRA_CONTACT_POINTS: string;
  NATTER_CASSANDRA_DC: string;
  NATTER_OPENSEARCH_URL: string;
};

/**
 * Starts the engines a test file (or a bench) needs with scripts/engines.sh (a no-op for those already up, as
 * after .ci/run's `up`) and returns their addresses. Tests about an engine run against the real
 * engine, so a test file that needs one fails when it cannot be started.
 */
export const requireEngines = async (...engines: Engine[]): Promise<EngineEnv> => {
  const { stdout } = await run('bash', [script, 'up', ...engines], { maxBuffer: 16 * 1024 * 1024, timeout: 600_000 });
  const { stdout: env } = await run('bash', [script, 'env'], { maxBuffer: 1024 * 1024 });
  const pairs = `${stdout}\n${env}`
    .split('\n')
    .map((line) => /^(NATTER_[A-Z_]+)=(.*)$/.exec(line.trim()))
    .filter((m) => m !== null);
  return Object.fromEntries(pairs.map((m) => [m[1], m[2]])) as EngineEnv;
};

/** The pid of each engine that is up (its main process; PostgreSQL's backends are its children), from `engines.sh status`. */
export const enginePids = async (): Promise<Partial<Record<Engine, number>>> => {
  // status exits 3 when an engine is down: its output is still the answer
  const stdout = await run('bash', [script, 'status'], { maxBuffer: 1024 * 1024 }).then(
    (r) => r.stdout,
    (e: { stdout?: string }) => e.stdout ?? '',
  );
  const pids = [...stdout.matchAll(/^(\w+)\s+up \(pid (\d+)\)/gm)].map((m) => [m[1], Number(m[2])]);
  return Object.fromEntries(pids) as Partial<Record<Engine, number>>;
};

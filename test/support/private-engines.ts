import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { freePort } from './ports.ts';

const run = promisify(execFile);

export type PrivateEngine = 'redis' | 'kafka' | 'postgres' | 'cassandra';

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

/** The processes whose parent is `pid` (PostgreSQL's backends, which a kill -9 of the postmaster alone would leave). */
const childrenOf = (pid: number): number[] =>
  readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .flatMap((entry) => {
      try {
        // The fields after the command name (which may hold spaces) start with the state, then the parent's pid.
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid ? [Number(entry)] : [];
      } catch {
        return [];
      }
    });

/**
 * Engines of one test's own (any of Redis, Kafka, PostgreSQL, Cassandra), started by
 * scripts/engines.sh on ports asked of the OS, with their data, pid and lock files in a temp folder:
 * the test may kill and restart them without touching the shared engines that other tests run
 * against. Redis keeps an append-only file, so a restart after kill -9 brings its data back (as a
 * production Redis with persistence would); PostgreSQL and Cassandra keep their data directories.
 */
export const startPrivateEngines = async (engines: PrivateEngine[] = ['redis', 'kafka']) => {
  const dir = await mkdtemp(join(tmpdir(), 'natter-private-engines-'));
  // PostgreSQL runs as its own user (scripts/engines.sh, as root), which must reach its folder in here.
  await chmod(dir, 0o755);
  const ports = {
    redis: await freePort(),
    kafka: await freePort(),
    controller: await freePort(),
    postgres: await freePort(),
    cassandra: await freePort(),
    storage: await freePort(),
  };
  const env = {
    ...process.env,
    NATTER_ENGINES_DIR: dir,
    NATTER_REDIS_APPENDONLY: 'yes',
    NATTER_REDIS_PORT: String(ports.redis),
    NATTER_KAFKA_PORT: String(ports.kafka),
    NATTER_KAFKA_CONTROLLER_PORT: String(ports.controller),
    NATTER_PG_PORT: String(ports.postgres),
    NATTER_CASSANDRA_PORT: String(ports.cassandra),
    NATTER_CASSANDRA_STORAGE_PORT: String(ports.storage),
  };
  const up = (...names: PrivateEngine[]) => run('bash', ['scripts/engines.sh', 'up', ...names], { env, timeout: 240_000, maxBuffer: 4 * 1024 * 1024 });
  const pidFile = (engine: PrivateEngine) => (engine === 'postgres' ? join(dir, 'postgres', 'data', 'postmaster.pid') : join(dir, engine, `${engine}.pid`));
  const pidOf = async (engine: PrivateEngine) => {
    const file = pidFile(engine);
    return existsSync(file) ? Number((await readFile(file, 'utf8')).split('\n')[0]!.trim()) : 0;
  };
  const portOf = (engine: PrivateEngine) => ({ redis: ports.redis, kafka: ports.kafka, postgres: ports.postgres, cassandra: ports.cassandra })[engine];
  const kill9 = async (engine: PrivateEngine) => {
    const pid = await pidOf(engine);
    if (pid > 0) {
      for (const victim of [pid, ...childrenOf(pid)]) {
        try {
          process.kill(victim, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
    }
    // The port closing is what clients notice; wait for it so that "down" really means down.
    for (const deadline = Date.now() + 10_000; (await listening(portOf(engine))) && Date.now() < deadline; ) await sleep(50);
  };
  /**
   * scripts/engines.sh runs PostgreSQL with synchronous_commit off, for speed: a commit is then
   * acknowledged before its WAL leaves the server's memory, and a kill -9 loses the last ones. A test
   * that kills it needs the production setting (on, PostgreSQL's default); fsync may stay off, since
   * only the machine crashing loses what the OS holds.
   */
  const durable = async () => {
    const pg = (await import('pg')).default;
    const client = new pg.Client({ connectionString: `postgres://natter:natter@127.0.0.1:${ports.postgres}/natter` });
    await client.connect();
    try {
      await client.query(`ALTER SYSTEM SET synchronous_commit = 'on'`);
      await client.query('SELECT pg_reload_conf()');
    } finally {
      await client.end();
    }
  };
  try {
    await up(...engines);
    if (engines.includes('postgres')) await durable();
  } catch (error) {
    await Promise.all(engines.map(kill9));
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    dir,
    env: {
      ...(engines.includes('redis') ? { NATTER_REDIS_URL: `redis://127.0.0.1:${ports.redis}` } : {}),
      ...(engines.includes('kafka') ? { NATTER_KAFKA_BROKERS: `127.0.0.1:${ports.kafka}` } : {}),
      ...(engines.includes('postgres') ? { NATTER_PG_URL: `postgres://natter:natter@127.0.0.1:${ports.postgres}/natter` } : {}),
      ...(engines.includes('cassandra') ? { NATTER_CASSANDRA_CONTACT_POINTS: `127.0.0.1:${ports.cassandra}` } : {}),
    } as Record<string, string>,
    kill9,
    /** Starts the engine again on the same port and data; resolves once it answers (Kafka and Cassandra: through a client). */
    start: async (engine: PrivateEngine) => {
      await up(engine);
    },
    close: async () => {
      await Promise.all(engines.map(kill9));
      await rm(dir, { recursive: true, force: true });
    },
  };
};
export type PrivateEngines = Awaited<ReturnType<typeof startPrivateEngines>>;

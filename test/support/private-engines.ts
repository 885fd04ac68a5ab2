import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { freePort } from './ports.ts';

const run = promisify(execFile);

export type PrivateEngine = 'redis' | 'kafka';

const listening = (port: number) => new Promise<boolean>((resolve) => {
  const socket = connect(port, '127.0.0.1');
  socket.once('connect', () => { socket.destroy(); resolve(true); });
  socket.once('error', () => resolve(false));
});

/**
 * A Redis and a Kafka of one test's own, started by scripts/engines.sh on ports asked of the OS,
 * with their data, pid and lock files in a temp folder: the test may kill and restart them without
 * touching the shared engines that other tests run against. Redis keeps an append-only file, so a
 * restart after kill -9 brings its data back (as a production Redis with persistence would).
 */
export const startPrivateEngines = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'natter-private-engines-'));
  const ports = { redis: await freePort(), kafka: await freePort(), controller: await freePort() };
  const env = {
    ...process.env,
    NATTER_ENGINES_DIR: dir, NATTER_REDIS_APPENDONLY: 'yes',
    NATTER_REDIS_PORT: String(ports.redis), NATTER_KAFKA_PORT: String(ports.kafka), NATTER_KAFKA_CONTROLLER_PORT: String(ports.controller),
  };
  const up = (...engines: PrivateEngine[]) => run('bash', ['scripts/engines.sh', 'up', ...engines], { env, timeout: 180_000, maxBuffer: 4 * 1024 * 1024 });
  const pidOf = async (engine: PrivateEngine) => {
    const file = join(dir, engine, `${engine}.pid`);
    return existsSync(file) ? Number((await readFile(file, 'utf8')).trim()) : 0;
  };
  const portOf = (engine: PrivateEngine) => engine === 'redis' ? ports.redis : ports.kafka;
  const kill9 = async (engine: PrivateEngine) => {
    const pid = await pidOf(engine);
    if (pid > 0) { try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ } }
    // The port closing is what clients notice; wait for it so that "down" really means down.
    for (const deadline = Date.now() + 10_000; await listening(portOf(engine)) && Date.now() < deadline;) await sleep(50);
  };
  try {
    await up('redis', 'kafka');
  } catch (error) {
    await Promise.all([kill9('redis'), kill9('kafka')]);
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    dir,
    env: { NATTER_REDIS_URL: `redis://127.0.0.1:${ports.redis}`, NATTER_KAFKA_BROKERS: `127.0.0.1:${ports.kafka}` },
    kill9,
    /** Starts the engine again on the same port and data; resolves once it answers (Kafka: its metadata, through a client). */
    start: async (engine: PrivateEngine) => { await up(engine); },
    close: async () => {
      await Promise.all([kill9('redis'), kill9('kafka')]);
      await rm(dir, { recursive: true, force: true });
    },
  };
};
export type PrivateEngines = Awaited<ReturnType<typeof startPrivateEngines>>;

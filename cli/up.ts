import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join, resolve } from 'node:path';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { migrateCommand } from '../adapters/cassandra/migrations.ts';
import { loadConfig, type Config } from '../app/config.ts';
import { loadClusterConfig, type ClusterConfig } from '../app/cluster/config.ts';
import { masked, renameDeprecated } from '../app/config/validate.ts';
import { packageRoot } from '../app/package-root.ts';

const bin = join(packageRoot, 'bin', 'natter.js');
const exitWithParent = new URL('./exit-with-parent.js', import.meta.url).href;

export type UpOptions = { gateways: number; projectors: number; engines?: boolean; dev?: boolean };

type Role = { name: string; args: string[]; env: NodeJS.ProcessEnv; where(readyLine: string): string };
type Running = Role & { child: ChildProcess; ready: Promise<string>; exited: Promise<void>; alive(): boolean };

/** What each role prints on stdout once it serves (see cli/roles.ts); the gateway's line carries its address. */
const readyLine = /listening on (\S+)|^(projector worker|relay|push worker) running/;

const fail = (message: string): never => {
  console.error(`natter up: ${message}`);
  process.exit(1);
};

/**
 * Engine addresses: what is already configured wins, and scripts/engines.sh (which starts the local
 * engines unless they are up, and then does nothing) fills in the rest. `up` never stops engines:
 * other processes may be using them, and it cannot tell whether it started them.
 */
const engineEnv = (options: UpOptions, configured: NodeJS.ProcessEnv): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...configured };
  if (options.engines === false) return env;
  let printed: string;
  try {
    printed = execFileSync('bash', [join(packageRoot, 'scripts', 'engines.sh'), 'up'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  } catch {
    return fail('scripts/engines.sh up failed (its output is above); or run `natter up --no-engines` with NATTER_* pointing at running engines');
  }
  for (const line of printed.split('\n')) {
    const match = /^(NATTER_[A-Z_]+)=(.*)$/.exec(line.trim());
    if (match && !env[match[1]!]) env[match[1]!] = match[2]!;
  }
  return env;
};

const roles = (options: UpOptions, base: number, cluster: ClusterConfig): Role[] => {
  const eventStore =
    cluster.eventStore === 'eventstoredb' ? `EventStoreDB ${cluster.eventStoreDbUrl}` : `PostgreSQL ${masked(cluster.pgUrl)} (schema ${cluster.pgSchema})`;
  const kafka = `Kafka ${cluster.kafkaBrokers.join(',')}`;
  const list: Role[] = [];
  for (let i = 0; i < options.gateways; i++) {
    const port = base + i;
    list.push({
      name: `gateway-${port}`,
      args: ['gateway'],
      env: { NATTER_PORT: String(port), NATTER_GATEWAY_ID: `gw-${port}` },
      where: (line) => {
        const url = readyLine.exec(line)?.[1] ?? `http://127.0.0.1:${port}`;
        return `${url} (REST) and ${url.replace(/^http/, 'ws')}/v1/ws (WebSocket)`;
      },
    });
  }
  for (let i = 0; i < options.projectors; i++) {
    list.push({
      name: `projector-${i + 1}`,
      args: ['projector'],
      env: {},
      where: () => `consumer group ${cluster.projectorGroup} on ${kafka} topic ${cluster.eventsTopic}`,
    });
  }
  list.push({ name: 'relay', args: ['relay'], env: {}, where: () => `${eventStore} -> ${kafka} topic ${cluster.eventsTopic}` });
  list.push({ name: 'push-worker', args: ['push-worker'], env: {}, where: () => `consumer group ${cluster.pushGroup} on ${kafka} topic ${cluster.pushTopic}` });
  return list;
};

const start = (role: Role, env: NodeJS.ProcessEnv): Running => {
  // Detached: its own process group, so Ctrl-C in a terminal reaches `up` alone and each role gets
  // exactly one SIGTERM from it (a role takes a second signal as "exit now, skip the drain").
  const child = spawn(process.execPath, ['--import', exitWithParent, bin, ...role.args], {
    env: { ...env, ...role.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let ready: (line: string) => void;
  let readyLineSeen = false;
  const running: Running = {
    ...role,
    child,
    ready: new Promise<string>((resolve, reject) => {
      ready = (line) => {
        readyLineSeen = true;
        resolve(line);
      };
      child.once('exit', (code, signal) => {
        if (!readyLineSeen) reject(new Error(`${role.name} exited during start-up (${signal ?? `code ${code}`}); its last lines are above`));
      });
      child.once('error', reject);
    }),
    exited: new Promise<void>((resolve) => child.once('exit', () => resolve())),
    alive: () => child.exitCode === null && child.signalCode === null,
  };
  running.ready.catch(() => {});
  for (const stream of [child.stdout!, child.stderr!]) {
    createInterface({ input: stream }).on('line', (line) => {
      console.log(`[${role.name}] ${line}`);
      if (!readyLineSeen && stream === child.stdout && !line.startsWith('{') && readyLine.test(line)) ready(line);
    });
  }
  return running;
};

/** A master key for a local cluster, made once into the data directory (production passes NATTER_MASTER_KEY). */
const localMasterKey = (dataDir: string): string => {
  const file = join(dataDir, 'master-key');
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600 });
  }
  return readFileSync(file, 'utf8').trim();
};

/** Checked once here rather than failing the same way in 7 processes. */
const settings = (env: NodeJS.ProcessEnv): { config: Config; cluster: ClusterConfig } => {
  try {
    return { config: loadConfig(env, 'cluster'), cluster: loadClusterConfig(env) };
  } catch (error) {
    return fail((error as Error).message);
  }
};

/**
 * `natter up`: the engines (scripts/engines.sh), the Cassandra schema, then 3 gateways on
 * NATTER_PORT..NATTER_PORT+2, 2 projector workers, a relay and a push worker on loopback, each
 * output line prefixed with its role. It prints where each one listens once all are ready; Ctrl-C
 * or SIGTERM stops them all (gateways drain first) and leaves the engines running.
 */
export const up = async (options: UpOptions) => {
  const began = performance.now();
  // The roles get the current names (PORT becomes NATTER_PORT…), so each old name warns once, here.
  // Dev tokens are on only when asked for with --dev, whatever NATTER_DEV_TOKENS says.
  const configured: NodeJS.ProcessEnv = { ...renameDeprecated(process.env), NATTER_DEV_TOKENS: options.dev ? 'true' : 'false' };
  // Every role must seal and open with one master key: the one given, or one kept in the data directory.
  configured.NATTER_MASTER_KEY ??= localMasterKey(resolve(configured.NATTER_DATA_DIR ?? './data'));
  const base = settings(configured).config.port;
  if (base < 1 || base + options.gateways - 1 > 65_535)
    fail(`NATTER_PORT must be a port number with room for ${options.gateways} gateways after it, got ${base}`);
  if (!(options.gateways >= 1 && options.projectors >= 1)) fail('--gateways and --projectors must be at least 1');

  const env = engineEnv(options, configured);
  const { config, cluster } = settings(env);
  try {
    await migrateCommand(cluster.cassandra, (line) => console.log(`[migrate] ${line}`));
  } catch (error) {
    fail(`cannot create the Cassandra schema at ${cluster.cassandra.contactPoints.join(',')}: ${String((error as Error).message).split('\n')[0]}`);
  }

  const running = roles(options, base, cluster).map((role) => start(role, env));
  const stopAfterMs = config.drainTimeoutMs + 15_000;
  let stopping = false;
  const stop = async (why: string): Promise<boolean> => {
    stopping = true;
    const alive = running.filter((r) => r.alive());
    console.log(`natter up: ${why}; stopping ${alive.length} processes (gateways drain first, at most ${Math.round(stopAfterMs / 1000)} s)`);
    for (const r of alive) r.child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const inTime = await Promise.race([
      Promise.all(alive.map((r) => r.exited)).then(() => true),
      new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), stopAfterMs);
      }),
    ]);
    clearTimeout(timer);
    const stuck = alive.filter((r) => r.alive());
    for (const r of stuck) {
      console.error(`natter up: ${r.name} did not stop within ${stopAfterMs} ms: SIGKILL`);
      r.child.kill('SIGKILL');
    }
    await Promise.all(stuck.map((r) => r.exited));
    const failed = alive.filter((r) => r.child.exitCode !== 0 && r.child.signalCode !== 'SIGTERM');
    for (const r of failed) console.error(`natter up: ${r.name} ended with ${r.child.signalCode ?? `code ${r.child.exitCode}`}`);
    console.log(`natter up: stopped; the engines keep running (npm run engines:down stops them)`);
    return inTime && failed.length === 0;
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      for (const r of running) if (r.alive()) r.child.kill('SIGKILL');
      process.exit(1);
    }
    void stop(`${signal}`).then((clean) => process.exit(clean ? 0 : 1));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // Last resort if `up` itself crashes; a kill -9 is handled by cli/exit-with-parent.js in each role.
  process.on('exit', () => {
    for (const r of running) if (r.alive()) r.child.kill('SIGTERM');
  });

  let timer: NodeJS.Timeout | undefined;
  const startTimeoutMs = cluster.upStartTimeoutMs;
  let lines: string[];
  try {
    lines = await Promise.race([
      Promise.all(running.map((r) => r.ready)),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new Error(
                `not ready after ${startTimeoutMs} ms: ${running
                  .filter((r) => r.alive())
                  .map((r) => r.name)
                  .join(', ')}`,
              ),
            ),
          startTimeoutMs,
        );
      }),
    ]);
  } catch (error) {
    if (stopping) return;
    console.error(`natter up: ${(error as Error).message}`);
    await stop('start-up failed');
    process.exit(1);
  } finally {
    clearTimeout(timer);
  }
  if (stopping) return;

  const width = Math.max(...running.map((r) => r.name.length));
  console.log(`natter up: ready in ${((performance.now() - began) / 1000).toFixed(1)} s`);
  running.forEach((r, i) => console.log(`  ${r.name.padEnd(width)}  pid ${String(r.child.pid).padEnd(7)}  ${r.where(lines[i]!)}`));
  console.log(
    `  engines: Redis ${masked(cluster.redisUrl)} (prefix ${cluster.redisPrefix}), Cassandra ${cluster.cassandra.contactPoints.join(',')} (keyspace ${cluster.cassandra.keyspace}), OpenSearch ${masked(cluster.opensearch.url)} (indices ${cluster.opensearch.index}-messages-v*)`,
  );
  console.log(
    config.devTokens
      ? '  dev tokens: on (--dev): anyone can mint a token for any user with POST /v1/auth/dev-token'
      : '  dev tokens: off (natter up --dev turns them on for trying the API)',
  );
  console.log('natter up: Ctrl-C or SIGTERM stops these processes; the engines keep running (npm run engines:down stops them).');

  for (const r of running) {
    void r.exited.then(() => {
      if (!stopping) console.error(`natter up: ${r.name} exited (${r.child.signalCode ?? `code ${r.child.exitCode}`}); the others keep running`);
    });
  }
};

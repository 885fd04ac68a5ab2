import { loadConfig } from '../app/config.ts';
import { loadClusterConfig } from '../app/cluster/config.ts';
import { createGateway } from '../app/cluster/gateway.ts';
import { startProjectorWorker } from '../app/cluster/projector.ts';
import { startClusterRelay } from '../app/cluster/relay.ts';
import { startPushWorker } from '../app/cluster/push-worker.ts';
import { EngineUnavailableError } from '../app/cluster/engines.ts';
import { ConfigError } from '../app/config/validate.ts';
import { getPriority, setPriority } from 'node:os';

type Stoppable = { stop(): Promise<unknown> };

/** Keeps a role running until SIGINT/SIGTERM; a second signal exits at once. */
const runUntilSignal = (name: string, stop: () => Promise<unknown>) => {
  let stopping = false;
  const onSignal = async () => {
    if (stopping) process.exit(1);
    stopping = true;
    try {
      await stop();
    } catch (error) {
      console.error(`${name}: stop failed`, error);
      process.exit(1);
    }
    process.exit(0);
  };
  process.on('SIGINT', () => void onSignal());
  process.on('SIGTERM', () => void onSignal());
};

/**
 * The durable path's roles (relay, projector workers, push workers) run at a lower CPU priority by
 * default: where they share a machine with gateways, the live path's frames go first and the read
 * models catch up a little later, as when each role has machines of its own (where the setting
 * changes nothing). NATTER_NICE sets any role's nice value; lowering one below what the process
 * started with needs CAP_SYS_NICE.
 */
const DURABLE_PATH_NICE = 10;
const setNice = (chosen: number | undefined, fallback: number | undefined) => {
  const current = getPriority();
  // Unset: a role started under `nice` by its supervisor keeps the lower priority.
  const target = chosen ?? Math.max(fallback ?? current, current);
  if (target === current) return;
  try {
    setPriority(target);
  } catch (error) {
    const why = (error as Error).message;
    // Only what was asked for is worth stopping for; a default the platform refuses is not.
    if (chosen === undefined) console.warn(`natter: runs at nice ${current}, not ${target} (${why})`);
    else throw new ConfigError(`NATTER_NICE=${target} cannot be set (${why}): raising a process's priority needs CAP_SYS_NICE`);
  }
};

/**
 * A role that cannot start prints one line naming the cause (`natter relay: cannot reach Redis at …`)
 * and exits 1 at once, rather than a driver's stack trace or a process half up. Plain errors are the
 * ones we throw on purpose (a bad setting, an engine out of reach) and say everything in their
 * message; any other kind is a bug and keeps its stack.
 */
const startRole =
  <A extends unknown[]>(name: string, start: (...args: A) => Promise<void>, nice?: number) =>
  async (...args: A) => {
    try {
      setNice(loadClusterConfig().nice, nice);
      await start(...args);
    } catch (error) {
      const deliberate = error instanceof EngineUnavailableError || error instanceof ConfigError || (error instanceof Error && error.constructor === Error);
      console.error(`natter ${name}: ${deliberate ? (error as Error).message : ((error as Error)?.stack ?? String(error))}`);
      process.exit(1);
    }
  };

/** The cluster roles' settings: dev tokens stay off unless NATTER_DEV_TOKENS=true is set. */
const settings = () => ({ config: loadConfig(process.env, 'cluster'), cluster: loadClusterConfig() });

export const gatewayRole = startRole('gateway', async () => {
  const { config, cluster } = settings();
  const gateway = await createGateway(config, cluster);
  const address = await gateway.app.listen({ host: config.host, port: config.port });
  console.log(`gateway ${cluster.gatewayId} listening on ${address}`);
  runUntilSignal('gateway', async () => {
    await gateway.drain();
    await gateway.close();
  });
});

export const projectorRole = startRole(
  'projector',
  async (names: string[]) => {
    const { config, cluster } = settings();
    const worker = await startProjectorWorker(config, cluster, names);
    console.log(`projector worker running${names.length ? ` (${names.join(', ')})` : ''}`);
    runUntilSignal('projector', worker.stop);
  },
  DURABLE_PATH_NICE,
);

export const relayRole = startRole(
  'relay',
  async () => {
    const { config, cluster } = settings();
    const relay = await startClusterRelay(cluster, config);
    console.log('relay running');
    runUntilSignal('relay', relay.stop);
  },
  DURABLE_PATH_NICE,
);

export const pushWorkerRole = startRole(
  'push-worker',
  async () => {
    const { config, cluster } = settings();
    const worker = await startPushWorker(config, cluster);
    // Printed once in the group: a test (and an operator) knows it takes its share of the partitions.
    await worker.joined;
    console.log('push worker running');
    runUntilSignal('push-worker', worker.stop);
  },
  DURABLE_PATH_NICE,
);

/** Every role in one process, on the cluster engines. */
export const allRoles = startRole('all', async () => {
  const { config, cluster } = settings();
  const parts: Stoppable[] = [];
  const relay = await startClusterRelay(cluster, config);
  parts.push(relay);
  parts.push(await startProjectorWorker(config, cluster));
  parts.push(await startPushWorker(config, cluster));
  const gateway = await createGateway(config, cluster);
  const address = await gateway.app.listen({ host: config.host, port: config.port });
  console.log(`natter (all roles) listening on ${address}`);
  runUntilSignal('all', async () => {
    await gateway.drain();
    await gateway.close();
    for (const part of parts.reverse()) await part.stop();
  });
});

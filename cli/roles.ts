import { loadConfig } from '../app/config.ts';
import { loadClusterConfig } from '../app/cluster/config.ts';
import { createGateway } from '../app/cluster/gateway.ts';
import { startProjectorWorker } from '../app/cluster/projector.ts';
import { startClusterRelay } from '../app/cluster/relay.ts';
import { startPushWorker } from '../app/cluster/push.ts';
import { connectKafka } from '../app/cluster/engines.ts';
import { ensureTopic } from '../adapters/kafka/topics.ts';
import { createLogger } from '../app/logger.ts';

type Stoppable = { stop(): Promise<unknown> };

/** Keeps a role running until SIGINT/SIGTERM; a second signal exits at once. */
const runUntilSignal = (name: string, stop: () => Promise<unknown>) => {
  let stopping = false;
  const onSignal = async () => {
    if (stopping) process.exit(1);
    stopping = true;
    try { await stop(); } catch (error) { console.error(`${name}: stop failed`, error); process.exit(1); }
    process.exit(0);
  };
  process.on('SIGINT', () => void onSignal());
  process.on('SIGTERM', () => void onSignal());
};

export const gatewayRole = async () => {
  const config = loadConfig();
  const gateway = await createGateway(config);
  const address = await gateway.app.listen({ host: config.host, port: config.port });
  console.log(`gateway ${loadClusterConfig().gatewayId} listening on ${address}`);
  runUntilSignal('gateway', async () => { await gateway.drain(); await gateway.close(); });
};

export const projectorRole = async (names: string[]) => {
  const worker = await startProjectorWorker(loadConfig(), loadClusterConfig(), names);
  console.log(`projector worker running${names.length ? ` (${names.join(', ')})` : ''}`);
  runUntilSignal('projector', worker.stop);
};

export const relayRole = async () => {
  const relay = await startClusterRelay();
  console.log('relay running');
  runUntilSignal('relay', relay.stop);
};

export const pushWorkerRole = async () => {
  const cluster = loadClusterConfig();
  const kafka = await connectKafka(cluster, 'natter-push-worker');
  await ensureTopic(kafka, { topic: cluster.pushTopic, partitions: cluster.partitions });
  const worker = await startPushWorker({ kafka, topic: cluster.pushTopic, groupId: cluster.pushGroup, log: createLogger(loadConfig().logLevel).child({ role: 'push-worker' }) });
  console.log('push worker running');
  runUntilSignal('push-worker', worker.stop);
};

/** Every role in one process, on the cluster engines. */
export const allRoles = async () => {
  const config = loadConfig();
  const parts: Stoppable[] = [];
  const relay = await startClusterRelay();
  parts.push(relay);
  parts.push(await startProjectorWorker(config));
  const cluster = loadClusterConfig();
  const kafka = await connectKafka(cluster, 'natter-push-worker');
  parts.push(await startPushWorker({ kafka, topic: cluster.pushTopic, groupId: cluster.pushGroup, log: createLogger(config.logLevel).child({ role: 'push-worker' }) }));
  const gateway = await createGateway(config);
  const address = await gateway.app.listen({ host: config.host, port: config.port });
  console.log(`natter (all roles) listening on ${address}`);
  runUntilSignal('all', async () => {
    await gateway.drain();
    await gateway.close();
    for (const part of parts.reverse()) await part.stop();
  });
};

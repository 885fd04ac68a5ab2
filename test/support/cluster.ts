import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../app/config.ts';
import { loadClusterConfig } from '../../app/cluster/config.ts';
import { createGateway, type Gateway } from '../../app/cluster/gateway.ts';
import { startProjectorWorker } from '../../app/cluster/projector.ts';
import { startClusterRelay } from '../../app/cluster/relay.ts';
import { startPushWorker } from '../../app/cluster/push-worker.ts';
import { clusterNamespace, type ClusterNamespace } from '../../scripts/cluster-namespace.ts';

// The namespace is shared with bench/ (scripts/cluster-namespace.ts); test files get it from here.
export { clusterNamespace, type ClusterNamespace };

export type RunningCluster = {
  gateways: Array<{ url: string; wsUrl: string; gateway: Gateway }>;
  env: ClusterNamespace;
  published(): number;
  close(): Promise<void>;
};

/** A relay, a projector worker, a push worker and `gateways` gateways, in this process, on real engines and real sockets. */
/** `env` overrides the namespace; a name set to undefined is removed from it (to test a default). */
export const startCluster = async (
  env: Record<string, string | undefined>,
  options: { gateways?: number; namespace?: ClusterNamespace } = {},
): Promise<RunningCluster> => {
  const namespace = options.namespace ?? (await clusterNamespace());
  const full = Object.fromEntries(Object.entries({ ...namespace, ...env }).filter((entry): entry is [string, string] => entry[1] !== undefined));
  const cluster = loadClusterConfig(full);
  const relay = await startClusterRelay(cluster, loadConfig(full, 'cluster'));
  const worker = await startProjectorWorker(loadConfig(full, 'cluster'), cluster);
  const pusher = await startPushWorker(loadConfig(full, 'cluster'), cluster);
  const gateways: RunningCluster['gateways'] = [];
  for (let i = 0; i < (options.gateways ?? 3); i++) {
    const config = loadConfig(full, 'cluster');
    const gateway = await createGateway(config, { ...cluster, gatewayId: `${namespace.NATTER_REDIS_PREFIX}-gw${i}` });
    const url = await gateway.app.listen({ host: '127.0.0.1', port: 0 });
    gateways.push({ url, wsUrl: url.replace('http', 'ws'), gateway });
  }
  return {
    gateways,
    env: full,
    published: worker.published,
    close: async () => {
      for (const g of gateways) await g.gateway.close();
      await worker.stop();
      await pusher.stop();
      await relay.stop();
    },
  };
};

/**
 * The shared end-to-end suite's `Server`, backed by a cluster: every read of `url` or `wsUrl` gives
 * the next gateway, so a test's users and devices spread over all of them without knowing it.
 */
export const clusterServer = async (env: Record<string, string | undefined>, dataDir: string) => {
  // The gateways share the data directory, as gateways on one machine share NATTER_MEDIA_DIR.
  const running = await startCluster({ NATTER_DATA_DIR: dataDir, ...env });
  writeFileSync(join(dataDir, 'jwt-secret'), running.env.NATTER_JWT_SECRET!);
  let next = 0;
  const pick = () => running.gateways[next++ % running.gateways.length]!;
  return {
    get url() {
      return pick().url;
    },
    get wsUrl() {
      return pick().wsUrl;
    },
    dataDir,
    env: running.env as Record<string, string>,
    close: running.close,
  };
};

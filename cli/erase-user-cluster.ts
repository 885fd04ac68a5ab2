import { loadConfig, commandLimits } from '../app/config.ts';
import { loadClusterConfig } from '../app/cluster/config.ts';
import { connectEventStore, connectPostgresFeatures } from '../app/cluster/engines.ts';
import { clusterContent } from '../app/cluster/content.ts';
import { createCommands } from '../command-side/commands.ts';

/** The cluster's `natter erase-user`: the same two steps, on the shared event store and key store. */
export const eraseUserInCluster = async (userId: string) => {
  const config = loadConfig(process.env, 'cluster');
  const cluster = loadClusterConfig();
  const eventStore = await connectEventStore(cluster);
  const postgres = await connectPostgresFeatures(cluster);
  try {
    const content = clusterContent(config, postgres, { logger: { error: (obj, msg) => console.error(msg, obj) } });
    const commands = createCommands(eventStore, { ...commandLimits(config), shred: content.shred });
    await commands.eraseUser(userId, 'operator');
    console.log(`erased ${userId}: their data keys are destroyed, and every running process has been told to drop them`);
  } finally {
    await eventStore.close();
    await postgres.close();
  }
};

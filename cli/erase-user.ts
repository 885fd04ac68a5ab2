import { loadConfig } from '../app/config.ts';
import { embeddedPaths } from '../app/embedded.ts';
import { openEmbeddedContent } from '../app/embedded-stores.ts';
import { createSqliteEventStore } from '../adapters/sqlite/event-store.ts';
import { createCommands } from '../command-side/commands.ts';
import { commandLimits } from '../app/config.ts';
import { dataDirHolder } from './data-dir-lock.ts';

/**
 * `natter erase-user <user_id>` (an operator's erasure): appends UserErased and destroys the user's
 * data keys. The embedded server must be stopped first (its projections react when it starts); in
 * the cluster (--cluster) the projector workers react at once (sockets closed, push registrations and
 * public keys removed, search entries deleted).
 */
export const eraseUser = async (userId: string, options: { cluster?: boolean }) => {
  if (options.cluster) return (await import('./erase-user-cluster.ts')).eraseUserInCluster(userId);
  const config = loadConfig();
  const holder = dataDirHolder(config.dataDir);
  if (holder) throw new Error(`a Natter server (pid ${holder}) is using ${config.dataDir}: erase through DELETE /v1/users/me, or stop it first`);
  const content = openEmbeddedContent(config);
  const eventStore = createSqliteEventStore({ path: embeddedPaths(config.dataDir).events, synchronous: 'FULL' });
  try {
    const commands = createCommands(eventStore, { ...commandLimits(config), shred: content.shred });
    const { position } = await commands.eraseUser(userId, 'operator');
    console.log(
      position > 0
        ? `erased ${userId}: their data keys are destroyed; the read models follow when the server starts`
        : `${userId} was already erased; their data keys are destroyed`,
    );
  } finally {
    await eventStore.close();
    await content.close();
  }
};

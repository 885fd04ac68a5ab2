import type { LiveDevices } from '../../ports/push.ts';
import type { SessionRegistry } from '../../ports/sessions.ts';

/** Users with a live session anywhere in the cluster: the gateways' sessions in Redis. */
export const sessionLiveDevices = (sessions: SessionRegistry, clock: () => number = Date.now): LiveDevices => ({
  liveUsers: async (userIds, since) => {
    const offline = new Set(await sessions.offline(userIds, clock(), since));
    return new Set(userIds.filter((userId) => !offline.has(userId)));
  },
});

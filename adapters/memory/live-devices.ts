import type { LiveDevices } from '../../ports/push.ts';

/**
 * The embedded answer: the gateway's own socket registry (every device is connected to this process).
 * `since` is not needed here: live frames and pushes both follow the read models in this process, so
 * a device that was online for a message got it before the push reactor asks.
 */
export const registryLiveDevices = (registry: { of(userId: string): readonly { open: boolean }[] }): LiveDevices => ({
  liveUsers: async (userIds) => new Set(userIds.filter((userId) => registry.of(userId).some((c) => c.open))),
});

import type { LiveDevices } from '../../ports/push.ts';

/** The embedded answer: the gateway's own socket registry (every device is connected to this process). */
export const registryLiveDevices = (registry: { of(userId: string): ReadonlySet<{ open: boolean }> }): LiveDevices => ({
  liveUsers: async (userIds) => new Set(userIds.filter((userId) => [...registry.of(userId)].some((c) => c.open))),
});

import type { KeyDirectory } from '../../ports/key-directory.ts';
import type { PushRegistry } from '../../ports/push.ts';
import type { Reactor } from '../../ports/projector.ts';

/**
 * An erased user leaves nothing behind in the stores outside the log: their devices' public keys and
 * their push registrations go. A reaction to UserErased, so the REST route and `natter erase-user`
 * (which only append it and destroy the data keys) get the same clean-up, in both profiles.
 */
export const erasureReactor = (stores: { keys: KeyDirectory; push: PushRegistry }): Reactor => ({
  name: 'erasure',
  react: async (events) => {
    for (const event of events) {
      if (event.type !== 'UserErased') continue;
      const userId = event.data.user_id;
      await stores.keys.removeUser(userId);
      for (const target of await stores.push.targetsOf([userId])) await stores.push.unregister(userId, target.device_id);
    }
  },
});

import type { Delivery, Outbound } from '../../ports/delivery.ts';
import type { Connection } from './connection.ts';

/** The gateway's live sockets by user; it is the embedded profile's delivery channel. */
export const createConnectionRegistry = () => {
  const byUser = new Map<string, Set<Connection>>();

  const delivery: Delivery = {
    deliver(userIds: readonly string[], frame: Outbound) {
      for (const userId of userIds) {
        const connections = byUser.get(userId);
        if (connections) for (const connection of connections) connection.push(frame);
      }
    },
  };

  return {
    delivery,
    add(connection: Connection) {
      let set = byUser.get(connection.userId);
      if (!set) byUser.set(connection.userId, (set = new Set()));
      set.add(connection);
    },
    remove(connection: Connection) {
      const set = byUser.get(connection.userId);
      if (!set) return;
      set.delete(connection);
      if (set.size === 0) byUser.delete(connection.userId);
    },
    of: (userId: string): ReadonlySet<Connection> => byUser.get(userId) ?? new Set(),
    all: function* () { for (const set of byUser.values()) yield* set; },
    get size() { let n = 0; for (const set of byUser.values()) n += set.size; return n; },
  };
};
export type ConnectionRegistry = ReturnType<typeof createConnectionRegistry>;

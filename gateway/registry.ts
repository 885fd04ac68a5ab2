import type { Delivery, Outbound } from '../ports/delivery.ts';
import type { Connection } from './connection.ts';
import type { Metrics } from '../ports/metrics.ts';

/** The gateway's live sockets by user; it is the embedded profile's delivery channel. */
export const createConnectionRegistry = (metrics: Pick<Metrics, 'framesOut'> = { framesOut() {} }) => {
  const byUser = new Map<string, Set<Connection>>();

  const delivery: Delivery = {
    deliver(userIds: readonly string[], frame: Outbound) {
      let pushed = 0;
      for (const userId of userIds) {
        const connections = byUser.get(userId);
        if (!connections) continue;
        for (const connection of connections) connection.push(frame);
        pushed += connections.size;
      }
      if (pushed > 0) metrics.framesOut(pushed);
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
    all: function* () {
      for (const set of byUser.values()) yield* set;
    },
    get size() {
      let n = 0;
      for (const set of byUser.values()) n += set.size;
      return n;
    },
  };
};
export type ConnectionRegistry = ReturnType<typeof createConnectionRegistry>;

import type { Delivery, Outbound } from '../ports/delivery.ts';
import type { Connection } from './connection.ts';
import type { Metrics } from '../ports/metrics.ts';

const none: readonly Connection[] = Object.freeze([]);

/**
 * The gateway's live sockets by user; it is the embedded profile's delivery channel. A user holds a
 * few sockets at most (maxSocketsPerUser), so each user's are an array: an idle socket should cost
 * few bytes, and a one-element array is about 150 bytes smaller than a Set.
 */
export const createConnectionRegistry = (metrics: Pick<Metrics, 'framesOut'> = { framesOut() {} }) => {
  const byUser = new Map<string, readonly Connection[]>();

  const delivery: Delivery = {
    deliver(userIds: readonly string[], frame: Outbound) {
      let pushed = 0;
      for (const userId of userIds) {
        const connections = byUser.get(userId);
        if (!connections) continue;
        for (const connection of connections) connection.push(frame);
        pushed += connections.length;
      }
      if (pushed > 0) metrics.framesOut(pushed);
    },
  };

  return {
    delivery,
    // Copied, not changed in place: an array that `of()` returned stays as it was for its caller.
    add(connection: Connection) {
      const connections = byUser.get(connection.userId) ?? none;
      if (!connections.includes(connection)) byUser.set(connection.userId, [...connections, connection]);
    },
    remove(connection: Connection) {
      const connections = byUser.get(connection.userId);
      if (!connections?.includes(connection)) return;
      if (connections.length === 1) byUser.delete(connection.userId);
      else
        byUser.set(
          connection.userId,
          connections.filter((c) => c !== connection),
        );
    },
    of: (userId: string): readonly Connection[] => byUser.get(userId) ?? none,
    all: function* () {
      for (const connections of byUser.values()) yield* connections;
    },
    get size() {
      let n = 0;
      for (const connections of byUser.values()) n += connections.length;
      return n;
    },
  };
};
export type ConnectionRegistry = ReturnType<typeof createConnectionRegistry>;

import { closeCodes } from '../contracts/close-codes.ts';
import type { ConnectionRegistry } from './registry.ts';
import type { Presence } from './presence.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Heartbeats and drain. Every tick pings each socket; one that has not answered (pong or any frame)
 * since the previous tick is closed with 4000, so a dead peer is noticed within two intervals. A tick
 * also cuts a socket whose backlog outlived its grace while nothing new was sent to it.
 * Draining tells every device to go away (with jitter, so they do not all reconnect at once) and
 * waits for them to leave; commands still in flight finish and are acked meanwhile.
 */
export const createGatewayLifecycle = (options: {
  registry: ConnectionRegistry;
  presence: Presence;
  heartbeatIntervalMs: number;
  onHeartbeatError(error: unknown): void;
}) => {
  const { registry, presence } = options;
  let draining = false;

  const tick = async () => {
    const live: Array<{ userId: string; sessionId: string }> = [];
    for (const connection of registry.all()) {
      if (connection.cutIfSlow()) continue;
      if (!connection.alive) {
        connection.closeReason = 'heartbeat_timeout';
        connection.socket.close(closeCodes.heartbeat_timeout, 'no heartbeat');
        setTimeout(() => connection.socket.terminate(), 1_000).unref();
        continue;
      }
      connection.alive = false;
      connection.socket.ping();
      live.push({ userId: connection.userId, sessionId: connection.sessionId });
    }
    await presence.heartbeat(live);
  };
  const timer = setInterval(() => void tick().catch(options.onHeartbeatError), options.heartbeatIntervalMs);
  timer.unref();

  return {
    isDraining: () => draining,
    async drain({ timeoutMs, jitterMs }: { timeoutMs: number; jitterMs: number }) {
      draining = true;
      for (const connection of registry.all()) {
        connection.sendFrame({ type: 'goaway', reconnect_after_ms: Math.floor(Math.random() * jitterMs) });
      }
      const deadline = Date.now() + timeoutMs;
      while (registry.size > 0 && Date.now() < deadline) await sleep(50);
      return { remaining: registry.size };
    },
    stop() {
      clearInterval(timer);
    },
  };
};
export type GatewayLifecycle = ReturnType<typeof createGatewayLifecycle>;

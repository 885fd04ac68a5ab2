import type { Logger } from 'pino';
import { commandLimits, type Config } from './config.ts';
import { buildApp, type AppDeps } from './build-app.ts';
import { createCommands, type Commands } from '../command-side/commands.ts';
import { startRetentionSweep } from '../command-side/retention-sweep.ts';
import type { EventStore } from '../ports/event-store.ts';
import type { LiveFeed } from '../ports/live-feed.ts';
import type { Features } from '../features/wire.ts';

export type GatewayParts = Omit<AppDeps, 'commands' | 'routes' | 'config' | 'logger'> & {
  eventStore: EventStore;
  /** The features wired from this profile's stores (features/wire.ts). */
  features: Features;
  /**
   * The cluster's single writer per conversation: wraps this process's commands so that each goes to
   * its conversation's owner. The embedded profile is its own owner of everything.
   */
  route?(local: Commands): Promise<Commands>;
  onConflict?(): void;
  /** Destroys an erased user's data keys (the profile's key store). */
  shred?(userId: string): Promise<void>;
  /** Whether this process writes the conversation (the cluster's owner); the retention sweep visits only those. */
  owns?(conversationId: string): boolean;
  /** The cluster's fast path: live frames published by the process that appended, right after the append. */
  live?: LiveFeed;
};

/**
 * One gateway (the embedded server, or any gateway of the cluster): the command side over the given
 * event store with the configured limits, the features' content rules in front of it, and the whole
 * HTTP and WebSocket API with the features' routes. Both profiles build their gateways here, so a
 * route or a rule added to one is in the other.
 */
export const composeGateway = async (config: Config, logger: Logger, parts: GatewayParts) => {
  const { eventStore, features, route, onConflict, shred, owns, live, ...app } = parts;
  const local = createCommands(eventStore, {
    ...commandLimits(config),
    limiter: parts.limiter,
    onRateLimited: parts.metrics.rateLimited,
    ...(onConflict ? { onConflict } : {}),
    ...(shred ? { shred } : {}),
    ...(live ? { live } : {}),
  });
  const commands = features.guard(route ? await route(local) : local);
  const built = await buildApp({ ...app, config, logger, commands, routes: [features.routes] });
  const sweep = startRetentionSweep({
    directory: app.readModels.directory,
    commands: local,
    defaultDays: config.content.retentionDays,
    intervalMs: config.content.retentionSweepMs,
    owns: owns ?? (() => true),
    log: logger,
  });
  return {
    ...built,
    commands,
    stop: () => {
      built.stop();
      void sweep.stop();
    },
  };
};

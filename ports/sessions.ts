/**
 * The session registry of the cluster: which gateway holds which device. A session lives until its
 * TTL lapses unless the gateway's heartbeat refreshes it, so a dead gateway's sessions vanish by
 * themselves (seed 003: user → devices → gateway). The cluster's delivery resolves users to gateways
 * in the same Redis script that publishes to them (adapters/redis/delivery.ts).
 */
export interface SessionRegistry {
  /**
   * Users among `userIds` with no live session (candidates for offline push); given `since`, only
   * those who also had none after it (their last session ended before `since`).
   */
  offline(userIds: readonly string[], now: number, since?: number): Promise<string[]>;
}

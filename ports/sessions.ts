/**
 * The session registry of the cluster: which gateway holds which device. A session lives until its
 * TTL lapses unless the gateway's heartbeat refreshes it, so a dead gateway's sessions vanish by
 * themselves (seed 003: user → devices → gateway).
 */
export interface SessionRegistry {
  /** For each gateway holding a live session of any of `userIds`: those users. */
  gatewaysOf(userIds: readonly string[], now: number): Promise<Map<string, string[]>>;
  /**
   * Users among `userIds` with no live session (candidates for offline push); given `since`, only
   * those who also had none after it (their last session ended before `since`).
   */
  offline(userIds: readonly string[], now: number, since?: number): Promise<string[]>;
}

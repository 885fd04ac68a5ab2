/**
 * What the capacity model is told about the product's use (everything it does not measure). Each
 * field is a flag of `natter capacity`; a seed preset (seeds.ts) sets the ones its seed states.
 */
export type GroupShare = { size: number; share: number };

export type Assumptions = {
  /** Daily active users. */
  dau: number;
  /** Messages each daily user sends per day. */
  msgsPerUserDay: number;
  /** Peak-hour message rate ÷ the day's average rate. */
  peakFactor: number;
  /** Share of the daily users online at the peak (concurrent users ÷ DAU); also the chance that a member is online. */
  onlineShare: number;
  /** Where the messages go: conversations of `size` members get `share` of all messages (shares sum to 1). */
  groupMix: GroupShare[];
  /** Connected devices per online user (each holds a socket and gets every delivery). */
  devicesPerUser: number;
  /** Average message content, bytes. */
  messageBytes: number;
  /** Heartbeat interval, seconds (Natter's default: NATTER_HEARTBEAT_INTERVAL_MS = 30 s). */
  heartbeatSeconds: number;
  /** How long history and the event log are kept, days. */
  retentionDays: number;
  /** Times a daily user opens a session per day (each is an online and an offline presence change). */
  sessionsPerUserDay: number;
  /** People a user shares a presence-carrying conversation with (direct, or a group of at most 100). */
  contacts: number;
  /** `mark_delivered` events per online recipient per message (the web client marks every live message). */
  deliveredMarks: number;
  /** `mark_read` events per online recipient per message. */
  readMarks: number;
  /** Typing frames (`start`) per message sent; Natter forwards at most one per 2 s per user and conversation. */
  typingPerMsg: number;
  /** Natter setting NATTER_STATUS_FANOUT_MAX_MEMBERS: up to this group size a receipt goes to every member's devices, above it to the marker's own. */
  statusFanoutMaxMembers: number;
  /** The Redis inbox adapter's fanoutMaxMembers (DEFAULT_INBOX_FANOUT_MAX_MEMBERS, 64): up to this group size a message updates every member's inbox list; above it the group is read-time ("pull"). */
  inboxFanoutMaxMembers: number;
  /** Conversations a registered user belongs to (Redis read models). */
  conversationsPerUser: number;
  /** Registered users ÷ daily users (the read models keep every user's inbox). */
  usersPerDau: number;
  /** Share of every measured capacity kept free (0.3: plan for 70% of what the bench measured). */
  headroom: number;
  /** Usable memory of one gateway process (one Node event loop, one core), GiB. */
  gatewayMemoryGb: number;
  /** Usable data per Cassandra node (after compaction space), TB. */
  cassandraDiskTb: number;
  /** Usable dataset per Redis primary (room left for fork and fragmentation), GB. */
  redisNodeGb: number;
  /** Usable disk per PostgreSQL event-log primary, TB. */
  pgDiskTb: number;
  /** Copies of the event log (primary + standbys). */
  pgCopies: number;
};

/** Used where neither a seed nor a flag says otherwise; each is an assumption of this model, not a measurement. */
export const defaultAssumptions: Assumptions = {
  dau: 10_000_000,
  msgsPerUserDay: 20,
  peakFactor: 3,
  onlineShare: 0.1,
  groupMix: [
    { size: 2, share: 0.8 },
    { size: 10, share: 0.15 },
    { size: 100, share: 0.05 },
  ],
  devicesPerUser: 1,
  messageBytes: 200,
  heartbeatSeconds: 30,
  retentionDays: 365,
  sessionsPerUserDay: 10,
  contacts: 50,
  deliveredMarks: 1,
  readMarks: 0.5,
  typingPerMsg: 1,
  statusFanoutMaxMembers: 256,
  inboxFanoutMaxMembers: 64,
  conversationsPerUser: 20,
  usersPerDau: 2,
  headroom: 0.3,
  gatewayMemoryGb: 4,
  cassandraDiskTb: 2,
  redisNodeGb: 25,
  pgDiskTb: 10,
  pgCopies: 2,
};

/** `2:0.8,10:0.15,100:0.05` → sizes and shares; shares must sum to 1. */
export const parseGroupMix = (text: string): GroupShare[] => {
  const mix = text.split(',').map((part) => {
    const [size, share] = part.split(':').map((v) => Number(v.trim()));
    if (!Number.isInteger(size) || size! < 2 || !Number.isFinite(share) || share! < 0) {
      throw new Error(`group mix: "${part}" is not <members ≥ 2>:<share of messages>`);
    }
    return { size: size!, share: share! };
  });
  checkGroupMix(mix);
  return mix;
};

export const checkGroupMix = (mix: GroupShare[]) => {
  const sum = mix.reduce((a, g) => a + g.share, 0);
  if (mix.length === 0 || Math.abs(sum - 1) > 0.001) throw new Error(`group mix: shares sum to ${sum}, not 1`);
};

import type { Assumptions } from './assumptions.ts';
import type { Measured } from './measured.ts';
import { publishesPerMessage, publishesPerPresenceChange, type Load } from './load.ts';
import { eventBytes, historyBytes, redisBytes } from './sizes.ts';

const DAY = 86_400;
const GiB = 2 ** 30;
/** The relay writes a `$watermark` record on every partition at most every 25 ms (adapters/kafka/relay.ts). */
export const WATERMARKS_PER_PARTITION_PER_S = 1000 / 25;
export const CASSANDRA_RF = 3;
const ceil = (x: number) => Math.max(1, Math.ceil(x - 1e-9));

export type Gateways = {
  count: number;
  byCpu: number;
  byMemory: number;
  socketsPerGateway: number;
  /** Cores of work per second at the peak, before headroom. */
  cpuCores: number;
  /** Redis publishes/s for fan-out and presence (one per gateway reached) and for forwarding commands to a conversation's owner. */
  publishesPerS: number;
  forwardsPerS: number;
};

/**
 * Gateways: enough memory for every socket and enough CPU for every command, frame and envelope,
 * each with the headroom kept free. A gateway is one Node process (one event loop, one core).
 * Publishes depend on the number of gateways and the number on publishes (each gateway parses the
 * envelopes it receives), so both are iterated to a fixed point.
 */
export const sizeGateways = (a: Assumptions, m: Measured, load: Load): Gateways => {
  const usable = 1 - a.headroom;
  const socketsPerGateway = Math.floor((a.gatewayMemoryGb * GiB * usable) / m.bytesPerSocket.value);
  const byMemory = ceil(load.sockets / socketsPerGateway);
  const commandsPerS = load.peakMsgsPerS + load.receiptEventsPerS;
  // Frames that are not commands (typing, heartbeats) and envelopes cost one delivery each.
  const fixedMs = commandsPerS * m.cpuMsPerMsg.value + (load.framesOutPerS + load.typingFramesPerS + load.heartbeatsPerS) * m.cpuMsPerDelivery.value;
  let count = byMemory,
    byCpu = 1,
    publishesPerS = 0,
    forwardsPerS = 0,
    cpuCores = 0;
  for (let i = 0; i < 50; i++) {
    publishesPerS = load.peakMsgsPerS * publishesPerMessage(a, count) + load.presenceChangesPerS * publishesPerPresenceChange(a, count);
    // A command for a conversation another gateway owns is forwarded there and answered: two publishes.
    forwardsPerS = (commandsPerS + load.typingFramesPerS) * 2 * (1 - 1 / count);
    cpuCores = (fixedMs + (publishesPerS + forwardsPerS) * m.cpuMsPerDelivery.value) / 1000;
    byCpu = ceil(cpuCores / usable);
    const next = Math.max(byMemory, byCpu);
    if (next === count) break;
    count = next;
  }
  return { count, byCpu, byMemory, socketsPerGateway, cpuCores, publishesPerS, forwardsPerS };
};

export type Pipeline = { kafkaEventsPerS: number; watermarksPerS: number; partitions: number; workers: number; workerCores: number };

/**
 * Kafka and the projector workers: every appended event, plus the relay's watermark records (one
 * per partition per round), goes through a partition and a worker, which also publishes the
 * fan-out. Partitions must take the events and their own watermarks: P ≥ appends ÷ (per-partition
 * rate − watermarks per partition); workers are at most one per partition.
 */
export const sizePipeline = (a: Assumptions, m: Measured, load: Load, gateways: number): Pipeline => {
  const usable = 1 - a.headroom;
  const perPartition = m.partitionEventsPerS.value * usable - WATERMARKS_PER_PARTITION_PER_S;
  if (perPartition <= 0)
    throw new Error(
      `a partition takes ${m.partitionEventsPerS.value * usable} events/s after headroom, no more than its own watermarks (${WATERMARKS_PER_PARTITION_PER_S}/s)`,
    );
  const envelopesPerS = load.peakMsgsPerS * publishesPerMessage({ ...a, typingPerMsg: 0 }, gateways);
  const byRate = ceil(load.appendsPerS / perPartition);
  let partitions = byRate;
  for (;;) {
    const kafkaEventsPerS = load.appendsPerS + partitions * WATERMARKS_PER_PARTITION_PER_S;
    const workerCores = kafkaEventsPerS / m.workerEventsPerS.value + (envelopesPerS * m.cpuMsPerDelivery.value) / 1000;
    const workers = ceil(workerCores / usable);
    if (workers <= partitions) return { kafkaEventsPerS, watermarksPerS: partitions * WATERMARKS_PER_PARTITION_PER_S, partitions, workers, workerCores };
    partitions = workers;
  }
};

export type EventLog = {
  appendsPerS: number;
  perLogAppendsPerS: number;
  perRelayEventsPerS: number;
  logs: number;
  byRate: number;
  byStorage: number;
  storageBytes: number;
  bytesPerDay: number;
};

/**
 * The event log: every message and every receipt is an append. One log is one PostgreSQL append
 * lock and one relay, which also writes the watermarks: logs for the rate, and for the disk.
 */
export const sizeEventLog = (a: Assumptions, m: Measured, load: Load, pipeline: Pipeline): EventLog => {
  const usable = 1 - a.headroom;
  const perLogAppendsPerS = m.pgAppendsPerS.value * usable;
  const perRelayEventsPerS = m.relayEventsPerS.value * usable;
  const sizes = eventBytes(a.messageBytes);
  const receiptsPerMsg = load.perMessage.deliveredMarks + load.perMessage.readMarks;
  const bytesPerDay = load.avgMsgsPerS * DAY * (sizes.message + receiptsPerMsg * sizes.receipt);
  const byRate = Math.max(ceil(load.appendsPerS / perLogAppendsPerS), ceil(pipeline.kafkaEventsPerS / perRelayEventsPerS));
  const byStorage = ceil((bytesPerDay * a.retentionDays) / (a.pgDiskTb * 1e12));
  return {
    appendsPerS: load.appendsPerS,
    perLogAppendsPerS,
    perRelayEventsPerS,
    logs: Math.max(byRate, byStorage),
    byRate,
    byStorage,
    storageBytes: bytesPerDay * a.retentionDays * a.pgCopies,
    bytesPerDay,
  };
};

export type Cassandra = { nodes: number; byWrites: number; byStorage: number; replicaWritesPerS: number; storageBytes: number; bytesPerMessage: number };

/** History: one message written on 3 replicas; nodes for the write rate and for the data kept over the retention period. */
export const sizeCassandra = (a: Assumptions, m: Measured, load: Load): Cassandra => {
  const bytesPerMessage = historyBytes(a.messageBytes);
  const replicaWritesPerS = load.peakMsgsPerS * CASSANDRA_RF;
  const storageBytes = load.avgMsgsPerS * DAY * a.retentionDays * bytesPerMessage * CASSANDRA_RF;
  const byWrites = ceil(replicaWritesPerS / (m.cassandraMsgsPerS.value * (1 - a.headroom)));
  const byStorage = ceil(storageBytes / (a.cassandraDiskTb * 1e12));
  return { nodes: Math.max(CASSANDRA_RF, byWrites, byStorage), byWrites, byStorage, replicaWritesPerS, storageBytes, bytesPerMessage };
};

export type Redis = {
  memory: { sessions: number; presence: number; readModels: number; rateLimits: number; total: number };
  ops: {
    heartbeats: number;
    sessions: number;
    presence: number;
    rateLimits: number;
    forwards: number;
    fanout: number;
    readModels: number;
    watermarks: number;
    total: number;
  };
  /** Operations on the one ses:expiry key (every heartbeat, connect and disconnect). */
  expiryKeyOpsPerS: number;
  nodes: number;
  byMemory: number;
  byOps: number;
};

/** Redis: what it holds (sizes.ts) and the commands each flow sends it, counted from the adapters. */
export const sizeRedis = (a: Assumptions, m: Measured, load: Load, gw: Gateways, pipeline: Pipeline): Redis => {
  const pm = load.perMessage;
  const users = a.dau * a.usersPerDau;
  const memberships = users * a.conversationsPerUser;
  const meanSize = a.groupMix.reduce((acc, g) => acc + g.share * g.size, 0);
  const perMembership = a.groupMix.reduce((acc, g) => acc + g.share * (g.size <= 128 ? redisBytes.membershipSmall : redisBytes.membershipLarge), 0);
  const commandsPerS = load.peakMsgsPerS + load.receiptEventsPerS + load.typingFramesPerS;
  // A bucket lives for its refill time plus a second: 61 s for sends (100/min), 3 s for other frames (20/s, 2 s burst).
  const rateKeys = Math.min(load.onlineUsers, load.peakMsgsPerS * 61) + Math.min(load.onlineUsers, (load.receiptEventsPerS + load.typingFramesPerS) * 3);
  const memory = {
    sessions: load.onlineUsers * redisBytes.sessionUser + load.sockets * redisBytes.sessionExpiry + (load.sockets - load.onlineUsers) * redisBytes.extraDevice,
    presence: a.dau * redisBytes.presenceAnnouncement + users * redisBytes.lastSeen,
    readModels: memberships * perMembership + (memberships / meanSize) * (redisBytes.conversation + Math.min(a.messageBytes, redisBytes.preview)),
    rateLimits: rateKeys * redisBytes.rateBucket,
    total: 0,
  };
  memory.total = memory.sessions + memory.presence + memory.readModels + memory.rateLimits;
  const ops = {
    // Per live session per tick: ZADD ses:user, PEXPIRE, ZADD ses:expiry (adapters/redis/sessions.ts refresh).
    heartbeats: load.heartbeatsPerS * 3,
    // Per device session: the socket count before the upgrade (ZCOUNT), the connect script (4), the disconnect script (about 5).
    sessions: load.sessionStartsPerS * (1 + 4 + 5),
    // Per change: get (2), claim (3), contacts (1 + a member list per conversation), their gateways (1 per contact); publishes are under fanout.
    presence: load.presenceChangesPerS * (5 + 1 + a.conversationsPerUser + a.contacts),
    // One token-bucket script (HMGET, HSET, PEXPIRE) per command or frame.
    rateLimits: commandsPerS * 3,
    forwards: gw.forwardsPerS,
    fanout: load.peakMsgsPerS * pm.memberLookups + gw.publishesPerS,
    // Inbox script per message: HMGET, HSET, SMEMBERS, a ZADD per push-mode member, the sender's read (2);
    // receipts: a max-merge (HGET, HSET) per receipt, and the inbox read (2) per read mark.
    readModels: load.peakMsgsPerS * (3 + pm.inboxListWrites + 2) + load.receiptEventsPerS * 2 + load.peakMsgsPerS * pm.readMarks * 2,
    watermarks: pipeline.watermarksPerS,
    total: 0,
  };
  ops.total = ops.heartbeats + ops.sessions + ops.presence + ops.rateLimits + ops.forwards + ops.fanout + ops.readModels + ops.watermarks;
  const expiryKeyOpsPerS = load.heartbeatsPerS + load.sessionStartsPerS * 2;
  const byMemory = ceil(memory.total / (a.redisNodeGb * 1e9));
  const byOps = ceil(ops.total / (m.redisCommandsPerS.value * (1 - a.headroom)));
  return { memory, ops, expiryKeyOpsPerS, nodes: Math.max(byMemory, byOps), byMemory, byOps };
};

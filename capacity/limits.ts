import type { Assumptions } from './assumptions.ts';
import type { Measured } from './measured.ts';
import type { Load } from './load.ts';
import type { EventLog, Gateways, Pipeline, Redis } from './fleet.ts';

/**
 * A part of Natter that is one instance by design: past its capacity, adding machines does not
 * help and the design must change. Every load in the model grows in proportion to DAU (publishes
 * and watermarks nearly so), so the DAU where it saturates is DAU ÷ utilization.
 */
export type Limit = {
  component: string;
  /** rate: saturates in the peak hour; memory: what it holds at any time; storage: fills over the retention period. */
  kind: 'rate' | 'memory' | 'storage';
  load: number;
  capacity: number;
  unit: string;
  /** load ÷ capacity (capacity after headroom): above 1, this DAU already needs the change. */
  utilization: number;
  designChangeDau: number;
  change: string;
};

/** Parts that scale out: more of them, no change of design, within the model. */
export type ScaleOut = { component: string; count: number; note: string };

export const designLimits = (a: Assumptions, m: Measured, load: Load, log: EventLog, pipeline: Pipeline, redis: Redis): Limit[] => {
  const usable = 1 - a.headroom;
  const limit = (component: string, kind: Limit['kind'], loadValue: number, capacity: number, unit: string, change: string): Limit => {
    const utilization = loadValue / capacity;
    return { component, kind, load: loadValue, capacity, unit, utilization, designChangeDau: a.dau / utilization, change };
  };
  const perLogEvents = pipeline.kafkaEventsPerS;
  return [
    limit(
      'event log: appends to one PostgreSQL log',
      'rate',
      load.appendsPerS,
      m.pgAppendsPerS.value * usable,
      'appends/s',
      'split the log by conversation hash: N PostgreSQL logs (schemas or databases), each with its own append lock, relay and positions; the event-store port, checkpoints and the low watermark then carry a position per log',
    ),
    limit(
      'relay: one process per log',
      'rate',
      perLogEvents,
      m.relayEventsPerS.value * usable,
      'events/s',
      'the same split (one relay per log); a single relay cannot be parallelized without giving up the log order it relies on',
    ),
    limit(
      'event log: storage of one log',
      'storage',
      log.bytesPerDay * a.retentionDays,
      a.pgDiskTb * 1e12,
      'bytes',
      'the same split, or archive expired conversations out of the log',
    ),
    limit(
      'Redis: one primary (ops/s)',
      'rate',
      redis.ops.total,
      m.redisCommandsPerS.value * usable,
      'commands/s',
      'shard Redis: the inbox script derives keys from its arguments, which Redis Cluster refuses, so shard by conversation and user hash in the adapter (one primary per shard) and split sessions/pub-sub from the read models',
    ),
    limit(
      'Redis: one primary (memory)',
      'memory',
      redis.memory.total,
      a.redisNodeGb * 1e9,
      'bytes',
      'shard Redis as for its commands, or move cold inboxes, member lists and receipts out of memory (a Cassandra user_conversations table, as seed 004 has)',
    ),
    limit(
      'Redis: the one ses:expiry key',
      'rate',
      redis.expiryKeyOpsPerS,
      m.redisCommandsPerS.value * usable,
      'commands/s',
      'one sorted set holds every session; even a sharded Redis keeps it on one shard: split it per gateway or by user hash',
    ),
  ];
};

export const scaleOut = (gw: Gateways, pipeline: Pipeline, cassandraNodes: number): ScaleOut[] => [
  { component: 'gateways', count: gw.count, note: gw.byCpu >= gw.byMemory ? 'bound by CPU' : 'bound by socket memory' },
  { component: 'projector workers', count: pipeline.workers, note: 'at most one per partition' },
  {
    component: 'Kafka partitions',
    count: pipeline.partitions,
    note: 'fixed at topic creation: adding partitions later moves conversations and breaks their order',
  },
  { component: 'Cassandra nodes', count: cassandraNodes, note: 'replication factor 3' },
];

/**
 * The single-instance part that saturates first as DAU grows, at the peak hour. Storage limits are
 * left out: when one disk fills depends on how long data is kept, and is reported in days instead.
 */
export const firstBottleneck = (limits: Limit[]): Limit => limits.filter((l) => l.kind !== 'storage').reduce((a, b) => (b.utilization > a.utilization ? b : a));

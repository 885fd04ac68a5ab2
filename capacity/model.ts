import { checkGroupMix, type Assumptions } from './assumptions.ts';
import type { Measured, ReportMeta } from './measured.ts';
import { peakLoad, type Load } from './load.ts';
import {
  sizeCassandra,
  sizeEventLog,
  sizeGateways,
  sizePipeline,
  sizeRedis,
  type Cassandra,
  type EventLog,
  type Gateways,
  type Pipeline,
  type Redis,
} from './fleet.ts';
import { designLimits, firstBottleneck, scaleOut, type Limit, type ScaleOut } from './limits.ts';
import type { SeedPreset } from './seeds.ts';

export type Comparison = { metric: string; seed: number; natter: number; says: string };

export type Capacity = {
  assumptions: Assumptions;
  measured: Measured;
  reports: ReportMeta[];
  load: Load;
  gateways: Gateways;
  eventLog: EventLog;
  pipeline: Pipeline;
  cassandra: Cassandra;
  redis: Redis;
  limits: Limit[];
  scaleOut: ScaleOut[];
  firstBottleneck: Limit;
  seed?: { id: string; title: string; sources: SeedPreset['sources']; comparisons: Comparison[] };
};

/** The whole model: assumptions and measured costs in, the peak load and the fleet out. Pure. */
export const runCapacity = (assumptions: Assumptions, measured: Measured, reports: ReportMeta[] = [], seed?: SeedPreset): Capacity => {
  checkGroupMix(assumptions.groupMix);
  for (const [key, value] of Object.entries(assumptions)) {
    if (typeof value === 'number' && !(Number.isFinite(value) && value >= 0)) throw new Error(`${key} must be a number ≥ 0, got ${value}`);
  }
  if (assumptions.headroom >= 1) throw new Error('headroom must be below 1');
  const load = peakLoad(assumptions);
  const gateways = sizeGateways(assumptions, measured, load);
  const pipeline = sizePipeline(assumptions, measured, load, gateways.count);
  const eventLog = sizeEventLog(assumptions, measured, load, pipeline);
  const cassandra = sizeCassandra(assumptions, measured, load);
  const redis = sizeRedis(assumptions, measured, load, gateways, pipeline);
  const limits = designLimits(assumptions, measured, load, eventLog, pipeline, redis);
  const result: Capacity = {
    assumptions,
    measured,
    reports,
    load,
    gateways,
    eventLog,
    pipeline,
    cassandra,
    redis,
    limits,
    scaleOut: scaleOut(gateways, pipeline, cassandra.nodes),
    firstBottleneck: firstBottleneck(limits),
  };
  if (seed) result.seed = { id: seed.id, title: seed.title, sources: seed.sources, comparisons: compareWithSeed(seed, result) };
  return result;
};

/** The seed's own estimates beside the model's figure of the same quantity. */
export const compareWithSeed = (seed: SeedPreset, c: Omit<Capacity, 'seed'>): Comparison[] => {
  const natter: Record<SeedPreset['estimates'][number]['metric'], number> = {
    peakMsgsPerS: c.load.peakMsgsPerS,
    heartbeatsPerS: c.load.heartbeatsPerS,
    sockets: c.load.sockets,
    gateways: c.gateways.count,
    // The seeds size one copy of the messages; the model's history is at replication factor 3.
    historyStorageTb: c.cassandra.storageBytes / 3 / 1e12,
    fanoutPerS: c.load.deliveriesPerS,
    bytesInPerS: c.load.bytesInPerS,
  };
  return seed.estimates.map((e) => ({ metric: e.metric, seed: e.value, natter: natter[e.metric], says: e.says }));
};

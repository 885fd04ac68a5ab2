import type { Assumptions } from './assumptions.ts';

/** A figure a seed estimates itself, lined up with the model's output of the same name. */
export type SeedEstimate = {
  /** Key of the model's output it compares with (see compareWithSeed in model.ts). */
  metric: 'peakMsgsPerS' | 'heartbeatsPerS' | 'sockets' | 'gateways' | 'historyStorageTb' | 'fanoutPerS' | 'bytesInPerS';
  value: number;
  /** The seed's words. */
  says: string;
};

export type SeedPreset = {
  id: string;
  title: string;
  assumptions: Partial<Assumptions>;
  /** Where each figure comes from: the seed's own words, or "added:" when the seed is silent. */
  sources: Partial<Record<keyof Assumptions, string>>;
  estimates: SeedEstimate[];
};

/** The five seeds in /work/shared/seeds (the designs the brief names), read for their numbers. */
export const seeds: Record<string, SeedPreset> = {
  '000': {
    id: '000',
    title: 'Scalable real-time chat (10M DAU, 1:1)',
    assumptions: {
      dau: 10_000_000,
      msgsPerUserDay: 20,
      peakFactor: 10,
      onlineShare: 0.1,
      groupMix: [{ size: 2, share: 1 }],
      messageBytes: 200,
      heartbeatSeconds: 30,
      retentionDays: 365,
    },
    sources: {
      dau: '10M DAU',
      msgsPerUserDay: '10M DAU × 20 messages/day',
      peakFactor: '"Peak could be 10x"',
      onlineShare: '1M concurrent connections (PCU)',
      groupMix: '1:1 only ("Group chat … secondary")',
      messageBytes: '200 bytes',
      heartbeatSeconds: 'ping/pong every 30s',
      retentionDays: 'stored indefinitely; the seed sizes one year (14.6 TB)',
    },
    estimates: [
      { metric: 'peakMsgsPerS', value: 23_000, says: '2,300 msgs/s average, peak 10x (23k msgs/s)' },
      { metric: 'sockets', value: 1_000_000, says: '1M concurrent connections' },
      { metric: 'gateways', value: 20, says: '50k connections per server → ~20 gateway nodes' },
      { metric: 'historyStorageTb', value: 14.6, says: '40 GB/day, ~14.6 TB/year' },
    ],
  },
  '001': {
    id: '001',
    title: 'Real-time chat & presence (100M DAU)',
    assumptions: {
      dau: 100_000_000,
      msgsPerUserDay: 10,
      peakFactor: 3,
      onlineShare: 0.1,
      groupMix: [
        { size: 2, share: 0.8 },
        { size: 10, share: 0.15 },
        { size: 100, share: 0.05 },
      ],
      messageBytes: 500,
      heartbeatSeconds: 30,
      retentionDays: 365,
    },
    sources: {
      dau: '100M DAU',
      msgsPerUserDay: '10 messages/day',
      peakFactor: 'Peak Message QPS (3x)',
      onlineShare: '10M+ concurrent connections',
      groupMix: 'added: the seed has 1:1 and groups up to 100 but no mix',
      messageBytes: '500-byte average message',
      heartbeatSeconds: 'heartbeats (30s interval)',
      retentionDays: 'stored indefinitely; the seed sizes one year (180 TB)',
    },
    estimates: [
      { metric: 'peakMsgsPerS', value: 35_000, says: '11.5k QPS average, peak (3x) ≈ 35k QPS' },
      { metric: 'heartbeatsPerS', value: 3_300_000, says: '100M users / 30s heartbeat = 3.3M QPS' },
      { metric: 'sockets', value: 10_000_000, says: '10M+ concurrent connections' },
      { metric: 'historyStorageTb', value: 180, says: '500 GB/day, ≈180 TB/year' },
      { metric: 'bytesInPerS', value: 17_500_000, says: 'Ingress: 35k pk QPS × 500 bytes ≈ 17.5 MB/s' },
    ],
  },
  '002': {
    id: '002',
    title: 'Chat with groups and multi-device (50M DAU)',
    assumptions: {
      dau: 50_000_000,
      msgsPerUserDay: 40,
      peakFactor: 1,
      onlineShare: 0.1,
      groupMix: [
        { size: 2, share: 0.8 },
        { size: 10, share: 0.15 },
        { size: 500, share: 0.05 },
      ],
      devicesPerUser: 1.5,
      messageBytes: 200,
      heartbeatSeconds: 30,
      retentionDays: 5 * 365,
    },
    sources: {
      dau: '50 million DAU',
      msgsPerUserDay: '40 messages/user/day',
      peakFactor: 'the seed sizes on its 23,000 msg/s average (no peak factor)',
      onlineShare: '~10% of DAU online at peak',
      groupMix: 'added: the seed has groups up to 500 members but no mix',
      devicesPerUser: 'added: "a user can be logged in on phone and laptop simultaneously"',
      messageBytes: '~200 bytes',
      heartbeatSeconds: 'heartbeats every 30 seconds',
      retentionDays: 'stored permanently; the seed sizes 5 years (730 TB)',
    },
    estimates: [
      { metric: 'peakMsgsPerS', value: 23_000, says: '2B / 86,400 = ~23,000 msg/sec' },
      { metric: 'sockets', value: 5_000_000, says: '10% of DAU online = 5 million WebSocket connections' },
      { metric: 'gateways', value: 75, says: '50K–100K connections per server → 50–100 chat servers' },
      { metric: 'historyStorageTb', value: 730, says: '400 GB/day, 5-year storage ~730 TB' },
    ],
  },
  '003': {
    id: '003',
    title: 'Global chat at 500M DAU (groups of 1,000)',
    assumptions: {
      dau: 500_000_000,
      msgsPerUserDay: 2,
      peakFactor: 3,
      onlineShare: 0.1,
      // The seed's own fan-out arithmetic: 1,000 groups of 1,000 members sending 1 msg/s each, of 35,000 msgs/s.
      groupMix: [
        { size: 2, share: 1 - 1_000 / 35_000 },
        { size: 1_000, share: 1_000 / 35_000 },
      ],
      messageBytes: 200,
      heartbeatSeconds: 20,
      retentionDays: 5 * 365,
    },
    sources: {
      dau: '500 Million DAU',
      msgsPerUserDay: '1 Billion messages/day',
      peakFactor: '11,600 msgs/s average, peak 35,000 msgs/s',
      onlineShare: 'added: the seed gives no concurrency',
      groupMix: '1,000 groups × 1,000 members × 1 msg/s (its fan-out math) out of 35,000 msgs/s; the rest 1:1',
      messageBytes: 'added: the seed gives no size',
      heartbeatSeconds: 'heartbeats every 20 seconds, TTL 30 s',
      retentionDays: 'history spanning up to 5 years',
    },
    estimates: [
      { metric: 'peakMsgsPerS', value: 35_000, says: 'average 11,600 messages/sec, peak 35,000' },
      { metric: 'fanoutPerS', value: 1_000_000, says: '1,000 groups × 1,000 members = 1,000,000 fan-out writes/sec' },
    ],
  },
  '004': {
    id: '004',
    title: 'WhatsApp/Slack-style chat (50M DAU, 50K peak msgs/s)',
    assumptions: {
      dau: 50_000_000,
      msgsPerUserDay: 10,
      peakFactor: 50_000 / (500_000_000 / 86_400),
      onlineShare: 0.2,
      groupMix: [
        { size: 2, share: 0.7 },
        { size: 8, share: 0.25 },
        { size: 256, share: 0.05 },
      ],
      messageBytes: 200,
      heartbeatSeconds: 30,
      retentionDays: 365,
    },
    sources: {
      dau: '50M DAU',
      msgsPerUserDay: '500M messages/day',
      peakFactor: '~5.8K msg/sec avg, 50K peak',
      onlineShare: 'its table: 100M concurrent of 500M DAU',
      groupMix: 'added: the seed says average group size 8, max 256, but not the share of group messages',
      messageBytes: '200 bytes (text)',
      heartbeatSeconds: 'heartbeats (every 30 seconds)',
      retentionDays: 'Messages retained 1 year',
    },
    estimates: [
      { metric: 'peakMsgsPerS', value: 50_000, says: '~5.8K msg/sec avg, 50K peak' },
      { metric: 'gateways', value: 100, says: '~100K connections per server (its 1,000 servers are for 100M connections; 10M here)' },
      { metric: 'historyStorageTb', value: 90, says: 'Cassandra storage: 500M msgs/day × 500 bytes × 365 days ≈ 90 TB/year' },
    ],
  },
};

export const seedIds = Object.keys(seeds);

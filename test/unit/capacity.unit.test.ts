import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { defaultAssumptions, parseGroupMix, type Assumptions } from '../../capacity/assumptions.ts';
import { measuredFromReports, MissingFigure, type Measured } from '../../capacity/measured.ts';
import { runCapacity, type Capacity } from '../../capacity/model.ts';
import { seeds } from '../../capacity/seeds.ts';
import { assumptionFlags } from '../../cli/capacity.ts';

// Trimmed copies of the quick bench reports the model was first run on (docs/capacity.md), so that
// the test needs no bench/results/ in a fresh clone.
const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/bench-reports/${name}`, import.meta.url));
const embedded: unknown = JSON.parse(readFileSync(fixture('embedded-quick.json'), 'utf8'));
const cluster: unknown = JSON.parse(readFileSync(fixture('cluster-quick.json'), 'utf8'));

const close = (actual: number, expected: number, what: string) =>
  assert.ok(Math.abs(actual - expected) <= Math.abs(expected) * 1e-9 + 1e-9, `${what}: ${actual}, expected ${expected}`);

describe('capacity model on the quick bench reports', () => {
  it('given both reports, then every measured cost is read from its figure or derived as documented', () => {
    const m = measuredFromReports(embedded, cluster);
    close(m.bytesPerSocket.value, 11_809, 'RSS per idle socket at 1,000 sockets');
    close(m.cpuMsPerDelivery.value, 1000 / 38_429, 'one core ÷ burst deliveries/s, group 1,000');
    close(m.cpuMsPerMsg.value, 400 / 1000 - 1000 / 38_429, 'CPU per 1,000 msgs at 1,000/s ÷ 1,000, less one delivery');
    close(m.workerEventsPerS.value, 26_733, 'replay events/s over the projection pass');
    close(m.relayEventsPerS.value, 13_029, 'relay, batch-1000');
    close(m.partitionEventsPerS.value, 13_029 / 8, 'relay ÷ 8 partitions');
    close(m.pgAppendsPerS.value, 22_016, 'PostgreSQL appends/s at 256 streams');
    close(m.cassandraMsgsPerS.value, 10_028, 'Cassandra history writes/s, batch 1000');
    close(m.redisCommandsPerS.value, (57_672 / 2) * 10, 'inbox push mode: ops/s ÷ 2 per message × 10 commands');
  });

  it('given each seed preset, when the model runs, then every figure is finite and positive and the first bottleneck is the most used single part at the peak', () => {
    const m = measuredFromReports(embedded, cluster);
    for (const seed of Object.values(seeds)) {
      const c = runCapacity({ ...defaultAssumptions, ...seed.assumptions }, m, [], seed);
      for (const v of [
        c.load.peakMsgsPerS,
        c.load.deliveriesPerS,
        c.load.heartbeatsPerS,
        c.load.bytesOutPerS,
        c.gateways.count,
        c.pipeline.partitions,
        c.pipeline.workers,
        c.cassandra.nodes,
        c.redis.nodes,
        c.redis.memory.total,
        c.eventLog.logs,
      ])
        assert.ok(Number.isFinite(v) && v > 0, `seed ${seed.id}: ${v}`);
      assert.equal(c.firstBottleneck.utilization, Math.max(...c.limits.filter((l) => l.kind !== 'storage').map((l) => l.utilization)));
      assert.equal(c.seed?.comparisons.length, seed.estimates.length);
    }
  });

  it('given a cluster report without the adapter figures, then the model names the missing figure and the flag that supplies it', () => {
    assert.throws(
      () => measuredFromReports(embedded, { meta: {}, scenarios: {} }),
      (e: unknown) => e instanceof MissingFigure && /--measured relayEventsPerS=/.test(e.message),
    );
    const m = measuredFromReports(
      embedded,
      { meta: {}, scenarios: {} },
      {
        relayEventsPerS: 1,
        partitionEventsPerS: 1,
        pgAppendsPerS: 1,
        cassandraMsgsPerS: 1,
        redisCommandsPerS: 1,
      },
    );
    assert.equal(m.pgAppendsPerS.value, 1);
  });

  it('given a group mix whose shares do not sum to 1, then it is refused', () => {
    assert.deepEqual(parseGroupMix('2:0.5,10:0.5'), [
      { size: 2, share: 0.5 },
      { size: 10, share: 0.5 },
    ]);
    assert.throws(() => parseGroupMix('2:0.5,10:0.4'), /sum to 0.9/);
    assert.throws(() => parseGroupMix('1:1'), /members ≥ 2/);
  });
});

describe('capacity model arithmetic, checked by hand', () => {
  // 864,000 DAU × 10 msgs/day = 100 msgs/s on average, 200 at the peak; half of them online, one
  // device each; only direct conversations; one delivered mark per online recipient, no read
  // marks, no typing; half of every capacity kept free.
  const a: Assumptions = {
    ...defaultAssumptions,
    dau: 864_000,
    msgsPerUserDay: 10,
    peakFactor: 2,
    onlineShare: 0.5,
    groupMix: [{ size: 2, share: 1 }],
    devicesPerUser: 1,
    messageBytes: 200,
    heartbeatSeconds: 30,
    retentionDays: 10,
    sessionsPerUserDay: 1,
    contacts: 10,
    deliveredMarks: 1,
    readMarks: 0,
    typingPerMsg: 0,
    conversationsPerUser: 2,
    usersPerDau: 1,
    headroom: 0.5,
    gatewayMemoryGb: 16,
    cassandraDiskTb: 1,
    redisNodeGb: 10,
    pgDiskTb: 1,
    pgCopies: 2,
  };
  const f = (value: number) => ({ value, source: 'hand' });
  const m: Measured = {
    bytesPerSocket: f(10_000),
    cpuMsPerMsg: f(0.1),
    cpuMsPerDelivery: f(0.001),
    workerEventsPerS: f(10_000),
    relayEventsPerS: f(800),
    partitionEventsPerS: f(100),
    pgAppendsPerS: f(1_000),
    cassandraMsgsPerS: f(100),
    redisCommandsPerS: f(10_000),
  };
  let c: Capacity;
  before(() => {
    c = runCapacity(a, m);
  });

  it('then the peak load is 200 msgs/s, 100 deliveries, 100 receipts, 150 receipt frames, 14,400 heartbeats and 200 presence updates per second', () => {
    close(c.load.avgMsgsPerS, 100, 'average');
    close(c.load.peakMsgsPerS, 200, 'peak');
    close(c.load.sockets, 432_000, 'sockets');
    close(c.load.deliveriesPerS, 100, 'a message reaches the recipient when online: 200 × 0.5');
    close(c.load.receiptEventsPerS, 100, 'one delivered mark per online recipient');
    close(c.load.appendsPerS, 300, 'messages + receipts');
    close(c.load.statusDeliveriesPerS, 150, 'each receipt to the sender (online) and the marker: 100 × (1 + 0.5)');
    close(c.load.heartbeatsPerS, 14_400, '432,000 sockets / 30 s');
    close(c.load.presenceChangesPerS, 40, '864,000 × 1 session × 2 changes / 86,400 × 2');
    close(c.load.presenceUpdatesPerS, 200, '40 × 10 contacts × 0.5 online');
    // Frames (capacity/sizes.ts, counted separately): send_message 354 B, mark 105, pong 6; ack 219, new_message 650 (with `"erased":false`), status 199, presence 115, ping 2.
    close(c.load.bytesInPerS, 200 * (354 + 0.5 * 105) + 14_400 * 6, 'bytes in');
    close(c.load.bytesOutPerS, 200 * 219 + 100 * 650 + 150 * 199 + 200 * 115 + 14_400 * 2, 'bytes out');
  });

  it('then one gateway holds every socket (858,993 fit in 8 GiB) and its CPU does 45.19 ms of work per second', () => {
    assert.equal(c.gateways.socketsPerGateway, 858_993);
    assert.equal(c.gateways.count, 1);
    // One gateway: every frame is one publish (message 1, receipt 0.5 per message, presence 40/s); nothing is forwarded.
    close(c.gateways.publishesPerS, 200 * 1.5 + 40, 'publishes');
    close(c.gateways.forwardsPerS, 0, 'forwards');
    close(c.gateways.cpuCores, (300 * 0.1 + (450 + 14_400) * 0.001 + 340 * 0.001) / 1000, 'cores');
  });

  it('then 30 partitions carry the 300 appends/s and their own 1,200 watermarks/s, and the relay needs 4 logs', () => {
    // Each partition takes 100 × 0.5 = 50 events/s, 40 of them its own watermarks: 300 / 10 = 30.
    assert.equal(c.pipeline.partitions, 30);
    close(c.pipeline.watermarksPerS, 1_200, 'watermarks');
    close(c.pipeline.kafkaEventsPerS, 1_500, 'events');
    assert.equal(c.pipeline.workers, 1);
    // PostgreSQL: 300 of 500/s is one log; the relay: 1,500 of 400/s needs 4.
    assert.equal(c.eventLog.byRate, 4);
    // 100 msgs/s × 86,400 × (751 B message event + 0.5 × 352 B receipt event), 10 days, 2 copies.
    close(c.eventLog.bytesPerDay, 8_640_000 * (751 + 0.5 * 352), 'log bytes per day');
    close(c.eventLog.storageBytes, 8_640_000 * 927 * 10 * 2, 'log storage');
    assert.equal(c.eventLog.logs, 4);
  });

  it('then Cassandra needs 12 nodes for 600 replica writes/s and holds 15.4 GB', () => {
    close(c.cassandra.replicaWritesPerS, 600, 'writes × RF 3');
    assert.equal(c.cassandra.byWrites, 12);
    // 596 B per message per replica: a 494 B messages row and a 102 B position row (capacity/sizes.ts).
    close(c.cassandra.storageBytes, 100 * 86_400 * 10 * 596 * 3, 'storage');
    assert.equal(c.cassandra.nodes, 12);
  });

  it('then Redis holds 2.46 GB and takes 48,760 commands/s, 10 primaries at 5,000/s each', () => {
    close(c.redis.memory.sessions, 432_000 * (184 + 193), 'sessions');
    close(c.redis.memory.presence, 864_000 * (168 + 120), 'presence');
    // 1,728,000 memberships × 412 B and 864,000 direct conversations × (1,440 + a 100 B preview).
    close(c.redis.memory.readModels, 1_728_000 * 412 + 864_000 * 1_540, 'read models');
    close(c.redis.memory.rateLimits, (200 * 61 + 100 * 3) * 168, 'rate limits');
    close(c.redis.memory.total, 2_456_292_000, 'memory');
    const ops = {
      heartbeats: 43_200,
      sessions: 200,
      presence: 720,
      rateLimits: 900,
      forwards: 0,
      fanout: 940,
      readModels: 1_600,
      watermarks: 1_200,
      total: 48_760,
    };
    for (const [k, v] of Object.entries(ops)) close(c.redis.ops[k as keyof typeof ops], v, `redis ${k}`);
    assert.equal(c.redis.nodes, 10);
    close(c.redis.expiryKeyOpsPerS, 14_440, 'ses:expiry');
  });

  it('then the first bottleneck is the one Redis primary, which needs sharding past 88,597 DAU', () => {
    const byName = Object.fromEntries(c.limits.map((l) => [l.component, l]));
    close(byName['event log: appends to one PostgreSQL log']!.designChangeDau, 864_000 / 0.6, 'log');
    close(byName['relay: one process per log']!.designChangeDau, 864_000 / 3.75, 'relay');
    close(byName['Redis: one primary (ops/s)']!.utilization, 9.752, 'redis');
    assert.equal(c.firstBottleneck.component, 'Redis: one primary (ops/s)');
    close(c.firstBottleneck.designChangeDau, 864_000 / 9.752, 'change at');
  });
});

describe('natter capacity', () => {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const run = (args: string[]) => promisify(execFile)('node', ['bin/natter.js', 'capacity', ...args], { cwd: root });

  it("given seed 000 and the two reports, when run with --json, then it prints the model with the seed's figures and comparisons", async () => {
    const { stdout } = await run([
      '--seed',
      '000',
      '--json',
      '--embedded-report',
      fixture('embedded-quick.json'),
      '--cluster-report',
      fixture('cluster-quick.json'),
    ]);
    const c = JSON.parse(stdout);
    close(c.load.peakMsgsPerS, (10_000_000 * 20 * 10) / 86_400, 'seed 000 peak');
    assert.equal(c.seed.id, '000');
    assert.equal(c.reports.length, 2);
  });

  it('given every assumption flag, then each sets its own assumption', async () => {
    const args = assumptionFlags.flatMap(([, flag], i) => [flag.split(' ')[0]!, String((i + 1) / 100)]);
    const { stdout } = await run([
      ...args,
      '--group-mix',
      '2:0.5,8:0.5',
      '--json',
      '--embedded-report',
      fixture('embedded-quick.json'),
      '--cluster-report',
      fixture('cluster-quick.json'),
    ]);
    const { assumptions } = JSON.parse(stdout);
    assert.deepEqual(
      assumptionFlags.map(([key]) => assumptions[key]),
      assumptionFlags.map((_, i) => (i + 1) / 100),
    );
    assert.deepEqual(assumptions.groupMix, [
      { size: 2, share: 0.5 },
      { size: 8, share: 0.5 },
    ]);
  });

  it('given a flag beside the seed, then the flag wins; given --measured, then it replaces the report figure; given an unknown seed, a bad group mix or an unknown figure, then it exits non-zero and says why', async () => {
    const reports = ['--embedded-report', fixture('embedded-quick.json'), '--cluster-report', fixture('cluster-quick.json')];
    const { stdout } = await run(['--seed', '000', '--dau', '1000000', '--json', ...reports]);
    assert.equal(JSON.parse(stdout).assumptions.dau, 1_000_000);
    await assert.rejects(run(['--seed', '042', ...reports]), (e: { code?: number; stderr?: string }) => e.code === 1 && /042/.test(e.stderr ?? ''));
    await assert.rejects(
      run(['--group-mix', '2:0.3', ...reports]),
      (e: { code?: number; stderr?: string }) => e.code === 2 && /sum to 0.3/.test(e.stderr ?? ''),
    );
    await assert.rejects(
      run(['--measured', 'cpuPerNothing=1', ...reports]),
      (e: { code?: number; stderr?: string }) => e.code === 2 && /cpuPerNothing" is not one of/.test(e.stderr ?? ''),
    );
    const given = JSON.parse((await run(['--measured', 'pgAppendsPerS=5000', '--json', ...reports])).stdout);
    assert.deepEqual(given.measured.pgAppendsPerS, { value: 5000, source: '--measured (given on the command line)' });
  });
});

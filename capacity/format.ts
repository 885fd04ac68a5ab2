import type { Assumptions } from './assumptions.ts';
import type { Capacity } from './model.ts';

/** 1,234,567 for big numbers, 3 significant digits below 100. */
export const n = (v: number): string => {
  if (!Number.isFinite(v)) return '∞';
  if (Math.abs(v) >= 100) return Math.round(v).toLocaleString('en-US');
  if (v === 0) return '0';
  return Number(v.toPrecision(3)).toString();
};

export const bytes = (v: number): string => {
  const units = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];
  let i = 0;
  while (Math.abs(v) >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${Number(v.toPrecision(3))} ${units[i]}`;
};

const dau = (v: number) => (v >= 1e9 ? `${Number((v / 1e9).toPrecision(3))}B` : v >= 1e6 ? `${Number((v / 1e6).toPrecision(3))}M` : n(v));

/** Columns aligned: the first to the left, numbers to the right; a trailing note column (starting with spaces) is left as is. */
const table = (rows: string[][]): string[] => {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const note = (i: number) => i === widths.length - 1 && rows.every((r) => (r[i] ?? '') === '' || r[i]!.startsWith('  '));
  return rows.map((r) =>
    r
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : note(i) ? c : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
};

const assumptionText = (a: Assumptions, key: keyof Assumptions): string => {
  const v = a[key];
  return key === 'groupMix' ? a.groupMix.map((g) => `${g.size}:${Number(g.share.toPrecision(3))}`).join(',') : n(v as number);
};

/** The model's result as the text table `natter capacity` prints. */
export const formatCapacity = (c: Capacity): string => {
  const L: string[] = [];
  const { load, gateways: gw, eventLog: log, pipeline: pl, cassandra: cs, redis: rd } = c;
  L.push(`Natter capacity model${c.seed ? ` — seed ${c.seed.id}: ${c.seed.title}` : ''}`);
  for (const r of c.reports)
    L.push(
      `  bench report (${r.profile}): ${r.date.slice(0, 16)} commit ${r.commit}${r.quick ? ', quick run (noisier)' : ', full run'}${r.path ? ` — ${r.path}` : ''}`,
    );
  L.push('', 'Assumptions');
  L.push(
    ...table(
      (Object.keys(c.assumptions) as Array<keyof Assumptions>).map((k) => {
        const source = c.seed?.sources[k];
        return [`  ${k}`, assumptionText(c.assumptions, k), source ? `  (${source})` : ''];
      }),
    ),
  );
  L.push('', 'Measured costs (bench)');
  L.push(...table(Object.entries(c.measured).map(([k, f]) => [`  ${k}`, n(f.value), `  ${f.source}${f.derived ? `; derived: ${f.derived}` : ''}`])));
  L.push('', 'Peak load');
  L.push(
    ...table([
      ['  messages/s (day average → peak)', `${n(load.avgMsgsPerS)} → ${n(load.peakMsgsPerS)}`],
      ['  online users / sockets', `${n(load.onlineUsers)} / ${n(load.sockets)}`],
      ['  deliveries/s (new_message frames)', n(load.deliveriesPerS)],
      ['  receipt events/s (appended)', n(load.receiptEventsPerS)],
      ['  receipt deliveries/s (message_status frames)', n(load.statusDeliveriesPerS)],
      ['  typing deliveries/s', n(load.typingDeliveriesPerS)],
      ['  heartbeats/s', n(load.heartbeatsPerS)],
      ['  presence changes/s → updates/s delivered', `${n(load.presenceChangesPerS)} → ${n(load.presenceUpdatesPerS)}`],
      ['  bytes/s in / out (WebSocket payload + framing)', `${bytes(load.bytesInPerS)}/s / ${bytes(load.bytesOutPerS)}/s`],
    ]),
  );
  L.push(
    '',
    `Fleet (headroom ${Math.round(c.assumptions.headroom * 100)}%: every measured capacity used at most ${Math.round((1 - c.assumptions.headroom) * 100)}%)`,
  );
  L.push(
    ...table([
      [
        '  gateways (1 core each)',
        n(gw.count),
        `  CPU ${n(gw.byCpu)} (${n(gw.cpuCores)} cores of work), memory ${n(gw.byMemory)} (${n(gw.socketsPerGateway)} sockets each)`,
      ],
      ['  event log appends/s', n(log.appendsPerS), `  one log takes ${n(log.perLogAppendsPerS)} appends/s, its relay ${n(log.perRelayEventsPerS)} events/s`],
      [
        '  event logs (and relays)',
        n(log.logs),
        `  rate ${n(log.byRate)}, storage ${n(log.byStorage)}: ${bytes(log.storageBytes)} over ${n(c.assumptions.retentionDays)} days × ${n(c.assumptions.pgCopies)} copies`,
      ],
      ['  Kafka events/s', n(pl.kafkaEventsPerS), `  of which watermarks ${n(pl.watermarksPerS)}`],
      ['  Kafka partitions', n(pl.partitions), ''],
      ['  projector workers', n(pl.workers), `  ${n(pl.workerCores)} cores of work`],
      [
        '  Cassandra nodes (RF 3)',
        n(cs.nodes),
        `  writes ${n(cs.byWrites)} (${n(cs.replicaWritesPerS)} replica writes/s), storage ${n(cs.byStorage)} (${bytes(cs.storageBytes)}, ${n(cs.bytesPerMessage)} B per message per replica)`,
      ],
      [
        '  Redis memory',
        bytes(rd.memory.total),
        `  sessions ${bytes(rd.memory.sessions)}, presence ${bytes(rd.memory.presence)}, inbox/directory/receipts ${bytes(rd.memory.readModels)}, rate limits ${bytes(rd.memory.rateLimits)}`,
      ],
      [
        '  Redis commands/s',
        n(rd.ops.total),
        `  heartbeats ${n(rd.ops.heartbeats)}, sessions ${n(rd.ops.sessions)}, presence ${n(rd.ops.presence)}, rate limits ${n(rd.ops.rateLimits)}, forwards ${n(rd.ops.forwards)}, fan-out ${n(rd.ops.fanout)}, read models ${n(rd.ops.readModels)}, watermarks ${n(rd.ops.watermarks)}`,
      ],
      ['  Redis primaries', n(rd.nodes), `  memory ${n(rd.byMemory)}, commands ${n(rd.byOps)}`],
    ]),
  );
  L.push('', 'Single-instance parts: utilization at this DAU, and the DAU where each needs a change of design');
  L.push(
    ...table([
      ['  part', 'load', 'capacity', 'used', 'change at DAU'],
      ...c.limits.map((l) => [
        `  ${l.component}`,
        l.unit === 'bytes' ? bytes(l.load) : `${n(l.load)}/s`,
        l.unit === 'bytes' ? bytes(l.capacity) : `${n(l.capacity)}/s`,
        `${n(l.utilization * 100)}%`,
        dau(l.designChangeDau),
      ]),
    ]),
  );
  for (const s of c.scaleOut) L.push(`  ${s.component}: scale out (${n(s.count)}; ${s.note})`);
  const f = c.firstBottleneck;
  for (const l of c.limits.filter((x) => x.kind === 'storage')) {
    L.push(
      `  ${l.component}: one disk holds ${n(l.capacity / (l.load / c.assumptions.retentionDays))} days of it (retention ${n(c.assumptions.retentionDays)} days)`,
    );
  }
  L.push(
    '',
    `First bottleneck at the peak: ${f.component}, ${n(f.utilization * 100)}% used at ${dau(c.assumptions.dau)} DAU${f.utilization > 1 ? ' (already past it)' : ''}; needs a change at ${dau(f.designChangeDau)} DAU:`,
    `  ${f.change}`,
  );
  if (c.seed?.comparisons.length) {
    L.push('', `Seed ${c.seed.id}'s own estimates beside the model`);
    L.push(...table([['  metric', 'seed', 'Natter', ''], ...c.seed.comparisons.map((x) => [`  ${x.metric}`, n(x.seed), n(x.natter), `  ${x.says}`])]));
  }
  return L.join('\n');
};

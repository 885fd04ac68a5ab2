// adapters: the four standalone adapter benches (bench/adapters/*.ts), each as a child process with
// modest sizes, one after the other: appends/s and p99 append latency SQLite vs PostgreSQL
// (event-store-appends), history writes/s SQLite vs Cassandra (history-writes), inbox updates/s SQLite
// vs Redis (inbox-updates), relay events/s into Kafka (relay-throughput). Each prints lines and a JSON
// object on its last line, which is parsed here (event-store-appends prints a console.table, parsed as
// a fallback). Needs only the engines (scripts/engines.sh up, or running ones), no Natter process, so
// it runs in both profiles; skipped with the reason when the engines cannot be started.
import path from 'node:path';
import type { Ctx, Scenario } from '../lib/context.ts';
import { errMsg, round } from '../lib/context.ts';
import { engines, EnginesUnavailable } from '../lib/engines.ts';
import { BENCH_DIR, spawnNode } from '../lib/proc.ts';
import { row, type Row, type ScenarioResult } from '../lib/report.ts';

type Json = Record<string, unknown>;

/** Runs one adapter bench; resolves with its stdout. */
const runScript = async (ctx: Ctx, file: string, args: string[], env: Record<string, string>, timeoutMs: number): Promise<string> => {
  ctx.log(`adapters: ${file} ${args.join(' ')}`);
  const child = spawnNode(['--import', 'tsx', path.join(BENCH_DIR, 'adapters', file), ...args], { env, quiet: true, name: file });
  let out = '',
    err = '';
  child.proc.stdout?.on('data', (b: Buffer) => (out += b.toString()));
  child.proc.stderr?.on('data', (b: Buffer) => (err = (err + b.toString()).slice(-4000)));
  const code = await new Promise<number | null>((resolve) => {
    const t = setTimeout(() => {
      err += `\n(killed after ${timeoutMs / 1000}s)`;
      child.proc.kill('SIGKILL');
    }, timeoutMs);
    child.proc.once('exit', (c) => (clearTimeout(t), resolve(c)));
  });
  if (code !== 0) throw new Error(`${file} exited with ${code}: ${(err || out).trim().split('\n').slice(-3).join(' / ').slice(0, 400)}`);
  return out;
};

/** The JSON object on the last non-empty line. */
const lastJson = (out: string): Json | null => {
  const last =
    out
      .trim()
      .split('\n')
      .filter((l) => l.trim())
      .pop() ?? '';
  try {
    const v = JSON.parse(last) as unknown;
    return v && typeof v === 'object' ? (v as Json) : null;
  } catch {
    return null;
  }
};

/** Rows of a console.table (box drawing) as objects keyed by the header; quotes stripped, numbers parsed. */
const parseConsoleTable = (out: string): Json[] => {
  const lines = out.split('\n').filter((l) => l.startsWith('│'));
  if (lines.length < 2) return [];
  const cells = (l: string): string[] =>
    l
      .split('│')
      .slice(1, -1)
      .map((c) => c.trim().replace(/^'(.*)'$/, '$1'));
  const head = cells(lines[0]!);
  return lines.slice(1).map((l) => Object.fromEntries(cells(l).map((v, i) => [head[i]!, v !== '' && Number.isFinite(Number(v)) ? Number(v) : v])));
};

type AppendRow = { store: string; callers: number; appendsPerSecond: number; p50ms: number; p99ms: number };

export const adapters: Scenario = {
  name: 'adapters',
  describe: 'adapter benches: event store, history, inbox, relay (embedded adapters vs cluster engines)',
  run: async (ctx): Promise<ScenarioResult> => {
    const q = ctx.quick;
    let env: Record<string, string>;
    try {
      env = await engines();
    } catch (e) {
      const reason = e instanceof EnginesUnavailable ? e.message : `engines: ${errMsg(e)}`;
      console.log(`adapters: skipped: ${reason}`);
      return { name: 'adapters', line: `adapters: skipped (${reason})`, figures: {}, rows: [], skipped: reason };
    }
    const sizes = {
      appends_seconds_per_case: q ? 1 : 2,
      history_messages: q ? 2000 : 10_000,
      inbox: q ? { messages: 5000, conversations: 200, lists: 200, runs: 1 } : { messages: 20_000, conversations: 1000, lists: 1000, runs: 3 },
      relay_events: q ? 2000 : 10_000,
    };
    const errors: Record<string, string> = {};
    const figures: Json = { sizes };
    const t = q ? 120_000 : 240_000;

    let appends: AppendRow[] = [];
    try {
      const out = await runScript(ctx, 'event-store-appends.ts', [String(sizes.appends_seconds_per_case)], env, t);
      const j = lastJson(out);
      appends = (Array.isArray(j?.results) ? j!.results : parseConsoleTable(out)) as unknown as AppendRow[];
      if (!appends.length) throw new Error('no result table in its output');
      figures.event_store_appends = appends;
    } catch (e) {
      errors.event_store_appends = errMsg(e);
    }
    let history: Json | null = null;
    try {
      history = lastJson(await runScript(ctx, 'history-writes.ts', ['--messages', String(sizes.history_messages)], env, t));
      if (!history) throw new Error('no JSON on its last line');
      figures.history_writes = history;
    } catch (e) {
      errors.history_writes = errMsg(e);
    }
    let inbox: Json | null = null;
    try {
      const i = sizes.inbox;
      inbox = lastJson(
        await runScript(
          ctx,
          'inbox-updates.ts',
          ['--messages', String(i.messages), '--conversations', String(i.conversations), '--lists', String(i.lists), '--runs', String(i.runs)],
          env,
          t,
        ),
      );
      if (!inbox) throw new Error('no JSON on its last line');
      figures.inbox_updates = inbox;
    } catch (e) {
      errors.inbox_updates = errMsg(e);
    }
    let relay: Json | null = null;
    try {
      relay = lastJson(await runScript(ctx, 'relay-throughput.ts', ['--events', String(sizes.relay_events)], env, t));
      if (!relay) throw new Error('no JSON on its last line');
      figures.relay_throughput = relay;
    } catch (e) {
      errors.relay_throughput = errMsg(e);
    }

    const rows: Row[] = [];
    const ap = (store: RegExp, callers: number): AppendRow | undefined => appends.find((a) => store.test(String(a.store)) && Number(a.callers) === callers);
    const callers = [...new Set(appends.map((a) => Number(a.callers)))].sort((a, b) => a - b);
    for (const c of callers) {
      const pg = ap(/postgres/i, c),
        lite = ap(/sqlite/i, c);
      rows.push(
        row(
          `event store appends/s, ${c} concurrent streams: PostgreSQL`,
          'appends/s',
          pg?.appendsPerSecond,
          lite?.appendsPerSecond,
          'SQLite (synchronous=FULL)',
        ),
      );
      rows.push(row(`event store append p99, ${c} concurrent streams: PostgreSQL`, 'ms', num(pg?.p99ms), num(lite?.p99ms), 'SQLite (synchronous=FULL)'));
    }
    const hres = (history?.results ?? []) as Json[];
    for (const b of [...new Set(hres.map((h) => Number(h.batch)))]) {
      const hw = (k: string) => num(hres.find((h) => h.case === k && Number(h.batch) === b)?.writes_per_s);
      rows.push(row(`history writes/s, batch ${b}: Cassandra`, 'writes/s', hw('cassandra'), hw('sqlite'), 'SQLite'));
    }
    const ires = (inbox?.results ?? []) as Json[];
    const iw = (k: string) => ires.find((x) => x.adapter === k);
    for (const k of ['redis', 'redis-pull']) {
      if (!iw(k)) continue;
      rows.push(
        row(
          `inbox updates/s (ops, batch ${inbox?.batch_ops ?? '?'}): ${k === 'redis' ? 'Redis' : 'Redis, pull mode'}`,
          'ops/s',
          num(iw(k)?.ops_per_s),
          num(iw('sqlite')?.ops_per_s),
          'SQLite',
        ),
      );
    }
    if (iw('redis')) rows.push(row('inbox first page reads/s: Redis', 'lists/s', num(iw('redis')?.list_per_s), num(iw('sqlite')?.list_per_s), 'SQLite'));
    for (const x of (relay?.results ?? []) as Json[])
      rows.push(
        row(`relay events/s into Kafka (${String(x.case)}, ${relay?.partitions ?? '?'} partitions, acks=all)`, 'events/s', num(x.events_per_s), null, '—'),
      );

    const r = (m: RegExp) => rows.find((x) => m.test(x.metric));
    const fmt = (v: number | null | undefined) => (v == null ? '?' : Math.round(v).toLocaleString('en-US'));
    const top = callers[callers.length - 1];
    const a = r(new RegExp(`appends/s, ${top} `)),
      ap99 = r(new RegExp(`append p99, ${top} `));
    const h = r(/history writes\/s, batch 1000/) ?? r(/history writes/),
      ib = r(/inbox updates\/s .*: Redis$/),
      rl = rows.filter((x) => /relay/.test(x.metric)).pop();
    const parts = [
      a
        ? `appends/s @${top} PG ${fmt(a.natter)} vs SQLite ${fmt(a.ref)} (×${a.ratio ?? '?'}), p99 ${ap99?.natter ?? '?'} vs ${ap99?.ref ?? '?'} ms`
        : 'appends n/a',
      h ? `history writes/s Cassandra ${fmt(h.natter)} vs SQLite ${fmt(h.ref)} (×${h.ratio ?? '?'})` : 'history n/a',
      ib ? `inbox ops/s Redis ${fmt(ib.natter)} vs SQLite ${fmt(ib.ref)} (×${ib.ratio ?? '?'})` : 'inbox n/a',
      rl ? `relay ${fmt(rl.natter)} events/s into Kafka` : 'relay n/a',
    ];
    return {
      name: 'adapters',
      line: `adapters: ${parts.join('; ')}`,
      figures,
      rows,
      notes: [
        'PostgreSQL from scripts/engines.sh runs with fsync off, SQLite with synchronous=FULL: the append rows compare a durable embedded log with a non-durable test engine',
      ],
      ...(Object.keys(errors).length ? { errors } : {}),
    };
  },
};

const num = (v: unknown): number | null => {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) ? round(n, 3) : null;
};

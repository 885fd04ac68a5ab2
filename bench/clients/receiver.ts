// Load generator, receiving side: holds connections that only receive chat messages and measures
// send-to-receive latency from the intended send time carried in the content (µs, monotonic clock
// shared by all processes of the machine). For fan-out it also keeps, per message index, the latency of
// the last of this process's connections to receive it, and how many received it.
import type { Conn, Target } from '../lib/drivers.ts';
import { newHist, nowUs, recordUs, encodeHist } from '../lib/hist.ts';
import { onCommand, reply, lifetime } from '../lib/ipc.ts';
import { openAll, parseContent, type ConnSpec } from './common.ts';

type Setup = { target: Target; base?: string; conns: ConnSpec[]; lifetimeMs?: number; concurrency?: number };

let conns: Array<Conn | null> = [];
let hist = newHist();
let received = 0;
let foreign = 0;
/** reset with dropStale: messages meant to be sent before the reset are a previous step's backlog */
let staleBeforeUs = 0;
let stale = 0;
let firstUs = 0,
  lastUs = 0;
let maxLatOf: number[] = [];
let countOf: number[] = [];
let waiter: { total: number; resolve: () => void } | null = null;

const onChat = (content: string): void => {
  const now = nowUs();
  const p = parseContent(content);
  if (!p) {
    foreign++;
    return;
  }
  if (p.t < staleBeforeUs) {
    stale++;
    return;
  }
  received++;
  if (!firstUs) firstUs = now;
  lastUs = now;
  const lat = now - p.t;
  recordUs(hist, lat);
  if (maxLatOf[p.i] === undefined || maxLatOf[p.i]! < lat) maxLatOf[p.i] = lat;
  countOf[p.i] = (countOf[p.i] ?? 0) + 1;
  if (waiter && received >= waiter.total) waiter.resolve();
};

const result = (): { type: string; [k: string]: unknown } => {
  return {
    type: 'result',
    received,
    foreign,
    stale,
    first_us: firstUs,
    last_us: lastUs,
    hist: encodeHist(hist),
    max_lat_of: Array.from(maxLatOf, (v) => v ?? -1),
    count_of: Array.from(countOf, (v) => v ?? 0),
  };
};

onCommand(async (c) => {
  if (c.cmd === 'setup') {
    const s = c as unknown as Setup;
    lifetime(s.lifetimeMs ?? 600_000);
    const r = await openAll(s.target, s.base, s.conns, () => ({ onChat }), s.concurrency ?? 100);
    conns = r.conns;
    if (r.opened === 0) throw new Error(`no connection opened: ${r.firstError}`);
    reply({ type: 'ready', opened: r.opened, failed: r.failed, first_error: r.firstError, token_ms: r.tokenMs, connect_ms: r.connectMs });
  } else if (c.cmd === 'reset') {
    hist = newHist();
    received = foreign = stale = firstUs = lastUs = 0;
    staleBeforeUs = c.dropStale ? nowUs() : 0;
    maxLatOf = [];
    countOf = [];
    reply({ type: 'reset_ok' });
  } else if (c.cmd === 'collect') {
    // wait until `total` messages arrived here, or the timeout, then report
    const total = Number(c.total ?? 0);
    const timeoutMs = Number(c.timeoutMs ?? 10_000);
    if (received < total)
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, timeoutMs);
        waiter = { total, resolve: () => (clearTimeout(t), resolve()) };
      });
    waiter = null;
    reply(result());
  } else if (c.cmd === 'stop') {
    for (const x of conns) x?.close();
    process.exit(0);
  }
});

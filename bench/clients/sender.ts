// Load generator: sends chat messages over a set of connections.
//   closed loop: each connection keeps `window` sends in flight (Natter: until the durable ack).
//   open loop:   a fixed total rate, round-robin over the connections; latency is measured from the
//                intended send time of the schedule (coordinated-omission free).
// Ack latency goes into an HdrHistogram (µs) for servers that ack (Natter: durable ack; Centrifugo:
// publish reply). The ws and socket.io relays have no acks: they only send.
import { hasAcks, type Conn, type Frame, type Target } from '../lib/drivers.ts';
import { newHist, nowUs, recordUs, encodeHist } from '../lib/hist.ts';
import { onCommand, reply, lifetime } from '../lib/ipc.ts';
import { openAll, makeContent, type ConnSpec } from './common.ts';

type Setup = { target: Target; base?: string; conns: ConnSpec[]; lifetimeMs?: number; tag?: string };
type Start = {
  mode: 'closed' | 'open';
  window?: number;
  rate?: number;
  durationMs: number;
  /** stop after this many messages in total */
  maxMessages?: number;
  /** after the last send, wait up to this long for outstanding acks */
  drainMs?: number;
  padBytes?: number;
  /** open loop: abort when more than this many sends are unacked */
  maxOutstanding?: number;
  /**
   * Natter only: besides sends, edits of one's last acked message and reactions toggled on it, in
   * these shares of the operations (each acked once durable), and a mark_read after every 4th ack.
   */
  mix?: { edit: number; react: number };
};

let setup: Setup;
let conns: Array<Conn | null> = [];
const inflight = new Map<string, number>(); // client_msg_id -> reference time (µs)
let onAckHook: (connIdx: number) => void = () => undefined;
let hist = newHist();
/** open loop: how late the generator itself sent, vs the schedule (µs) */
let lag = newHist();
let acked = 0,
  ackedInWindow = 0,
  errors = 0,
  windowEndUs = Infinity;
let firstError: string | undefined;
let tag = 'b';
let runNo = 0;
/** Per connection: the seq of its last acked send, and the seq its reaction is on (the mixed workload). */
const lastSeq: number[] = [];
const reactedOn: number[] = [];
let opsCount = { send: 0, edit: 0, react: 0, read: 0 };

const handleAck = (id: string, connIdx: number, frame?: Frame): void => {
  if (typeof frame?.seq === 'number') {
    lastSeq[connIdx] = frame.seq;
    // Reading up to one's own message is what a person in a conversation does; it is not acked.
    if (mix && acked % 4 === 0) {
      conns[connIdx]?.sendFrame({ type: 'mark_read', conversation_id: setup.conns[connIdx]!.room, up_to_seq: frame.seq });
      opsCount.read++;
    }
  }
  const ref = inflight.get(id);
  if (ref === undefined) return;
  inflight.delete(id);
  const now = nowUs();
  recordUs(hist, now - ref);
  acked++;
  if (now <= windowEndUs) ackedInWindow++;
  onAckHook(connIdx);
};

const handleError = (f: Frame, connIdx: number): void => {
  errors++;
  firstError ??= `${f.code}: ${f.message}`;
  const id = f.client_msg_id as string | undefined;
  if (id && inflight.delete(id)) onAckHook(connIdx);
};

let mix: Start['mix'];

const run = async (s: Start): Promise<void> => {
  runNo++;
  mix = s.mix;
  opsCount = { send: 0, edit: 0, react: 0, read: 0 };
  hist = newHist();
  lag = newHist();
  acked = ackedInWindow = errors = 0;
  firstError = undefined;
  inflight.clear();
  const acks = hasAcks(setup.target.kind);
  const pad = 'x'.repeat(s.padBytes ?? 0);
  const live = conns.map((c, i) => ({ c, i })).filter((x): x is { c: Conn; i: number } => x.c !== null);
  if (live.length === 0) throw new Error('no open connection');
  const max = s.maxMessages ?? Infinity;
  let sent = 0;
  let overloaded = false;
  const startUs = nowUs();
  const endUs = startUs + s.durationMs * 1000;
  windowEndUs = endUs;
  const sendOn = (k: number, ref: number, intended: number): void => {
    const { c, i } = live[k]!;
    const id = `${tag}${runNo}.${i}.${sent}`; // unique across runs: Natter deduplicates client_msg_id
    if (acks) inflight.set(id, ref);
    const seq = lastSeq[i] ?? 0;
    const dice = mix && seq > 0 ? Math.random() : 1;
    const room = setup.conns[i]!.room;
    if (mix && dice < mix.edit) {
      c.sendFrame({ type: 'edit_message', conversation_id: room, seq, content: makeContent(sent, intended, pad), request_id: id });
      opsCount.edit++;
    } else if (mix && dice < mix.edit + mix.react) {
      // A toggle on the last message: each reaction op appends one event (an add, then its removal).
      const on = reactedOn[i] === seq;
      reactedOn[i] = on ? 0 : seq;
      c.sendFrame({ type: 'react', conversation_id: room, seq, emoji: '👍', op: on ? 'remove' : 'add', request_id: id });
      opsCount.react++;
    } else {
      c.sendChat(id, makeContent(sent, intended, pad));
      opsCount.send++;
    }
    sent++;
  };

  if (s.mode === 'closed') {
    const w = s.window ?? 1;
    if (!acks) throw new Error(`closed loop needs acks (Natter, Centrifugo), not ${setup.target.kind}`);
    let stopped = false;
    const liveIdx = new Map(live.map(({ i }, k) => [i, k]));
    onAckHook = (connIdx) => {
      if (stopped) return;
      const now = nowUs();
      if (now >= endUs || sent >= max) {
        stopped = true;
        return;
      }
      sendOn(liveIdx.get(connIdx)!, now, now);
    };
    for (let r = 0; r < w; r++) for (let k = 0; k < live.length && sent < max; k++) sendOn(k, nowUs(), nowUs());
    // wait until the time is over or the message budget is spent and acked
    while (!stopped && nowUs() < endUs && !(sent >= max && inflight.size === 0)) await sleep(20);
    stopped = true;
  } else {
    const rate = s.rate ?? 100;
    const intervalUs = 1e6 / rate;
    const total = Math.min(max, Math.floor((s.durationMs / 1000) * rate));
    onAckHook = () => undefined;
    let k = 0;
    await new Promise<void>((resolve) => {
      const tick = (): void => {
        const now = nowUs();
        while (sent < total && startUs + sent * intervalUs <= now) {
          const intended = Math.round(startUs + sent * intervalUs);
          recordUs(lag, now - intended);
          sendOn(k, intended, intended);
          k = (k + 1) % live.length;
        }
        if (acks && inflight.size > (s.maxOutstanding ?? 50_000)) {
          overloaded = true;
          resolve();
          return;
        }
        if (sent >= total) {
          resolve();
          return;
        }
        // Timers have 1 ms granularity: at low rates spin (setImmediate) through the last millisecond
        // before a send so that the generator itself adds little; at high rates batch per timer tick.
        const wait = (startUs + sent * intervalUs - nowUs()) / 1000;
        if (wait > 1.2) setTimeout(tick, Math.floor(wait - 1));
        else if (rate <= 500) setImmediate(tick);
        else setTimeout(tick, 1);
      };
      tick();
    });
  }
  const lastSendUs = nowUs();
  const drainEnd = lastSendUs + (s.drainMs ?? 10_000) * 1000;
  while (acks && inflight.size > 0 && nowUs() < drainEnd) await sleep(10);
  const doneUs = nowUs();
  reply({
    type: 'done',
    sent,
    acked,
    acked_in_window: ackedInWindow,
    unacked: inflight.size,
    errors,
    first_error: firstError,
    overloaded,
    start_us: startUs,
    last_send_us: lastSendUs,
    done_us: doneUs,
    hist: acks ? encodeHist(hist) : undefined,
    lag_p50_ms: s.mode === 'open' ? lag.getValueAtPercentile(50) / 1000 : undefined,
    lag_p99_ms: s.mode === 'open' ? lag.getValueAtPercentile(99) / 1000 : undefined,
    ops: opsCount,
  });
};

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

onCommand(async (c) => {
  if (c.cmd === 'setup') {
    setup = c as unknown as Setup;
    tag = setup.tag ?? 'b';
    lifetime(setup.lifetimeMs ?? 600_000);
    const r = await openAll(setup.target, setup.base, setup.conns, (i) => ({
      onAck: (id, frame) => handleAck(id, i, frame),
      onError: (f) => handleError(f, i),
    }));
    conns = r.conns;
    if (r.opened === 0) throw new Error(`no connection opened: ${r.firstError}`);
    reply({ type: 'ready', opened: r.opened, failed: r.failed, first_error: r.firstError });
  } else if (c.cmd === 'start') {
    await run(c as unknown as Start);
  } else if (c.cmd === 'stop') {
    for (const x of conns) x?.close();
    process.exit(0);
  }
});

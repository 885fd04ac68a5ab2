// idle: open 1,000 / 10,000 / 100,000 (full run, when the fd limit and memory allow) idle sockets against the server and measure its
// resident memory (VmRSS of the process tree) and heap before/after: bytes per idle socket.
// Reference: the bare ws server under the same sockets. Client sockets are spread over source
// addresses 127.0.0.2, 127.0.0.3, ... (≤ 5,000 per client process) to stay clear of ephemeral-port limits.
import type { Ctx, Scenario } from '../lib/context.ts';
import { errMsg, round } from '../lib/context.ts';
import { startClient, stopAll, sleep, type Child } from '../lib/proc.ts';
import { row, type Row, type ScenarioResult } from '../lib/report.ts';
import { LABEL, startServer, type RunningServer } from '../lib/servers.ts';
import { TARGETS } from '../lib/targets.ts';
import { availableMemory, nofileLimit } from '../lib/sys.ts';
import type { TargetKind } from '../lib/drivers.ts';

const PER_PROC = 5000;
/** An idle socket's cost is what it holds once idle, not the garbage of the handshakes that opened it: read again after this. */
const SETTLE_MS = Number(process.env.BENCH_IDLE_SETTLE_MS ?? 15_000);

type IdleFigures = {
  sockets: number;
  failed: number;
  first_error?: string;
  rss_before: number;
  rss_after: number;
  heap_before: number | null;
  heap_after: number | null;
  /** (RSS with the sockets − RSS before any socket) / sockets */
  bytes_per_socket_rss: number;
  /** The same after the sockets stayed idle for SETTLE_MS more: the garbage of 10,000 handshakes is collected by then. */
  bytes_per_socket_rss_settled: number;
  /** RSS growth per socket since the previous step (baseline noise cancels out) */
  marginal_bytes_per_socket_rss: number | null;
  bytes_per_socket_heap: number | null;
  open_s: number;
};

/** One server; grow the number of idle sockets step by step (fresh client processes for each increment). */
const oneTarget = async (ctx: Ctx, kind: TargetKind, sizes: number[]): Promise<Record<number, IdleFigures>> => {
  let server: RunningServer | undefined;
  const kids: Child[] = [];
  const out: Record<number, IdleFigures> = {};
  try {
    server = await startServer(kind, { nofile: Math.max(...sizes) + 2048 });
    const base = server.natter?.base;
    await sleep(1500);
    const before = await server.mem();
    let opened = 0,
      failed = 0,
      procIdx = 0,
      prev: { rss: number; opened: number } | null = null;
    let firstError: string | undefined;
    for (const size of sizes) {
      ctx.log(`idle: ${LABEL[kind]}, opening sockets up to ${size.toLocaleString('en-US')}`);
      const t0 = Date.now();
      const chunks: number[] = [];
      for (let left = size - opened; left > 0; left -= PER_PROC) chunks.push(Math.min(PER_PROC, left));
      const ready = await Promise.all(
        chunks.map((n) => {
          const p = procIdx++;
          return startClient(
            'clients/idle.ts',
            {
              type: 'cmd',
              cmd: 'setup',
              target: server!.target,
              base,
              count: n,
              userPrefix: `idle${p}-`,
              room: 'idle',
              localAddress: `127.0.0.${2 + (p % 250)}`,
            },
            { nofile: n + 1024, timeoutMs: 300_000 },
          ).then((r) => {
            kids.push(r.child);
            return r.ready;
          });
        }),
      );
      const openS = (Date.now() - t0) / 1000;
      opened += ready.reduce((a, r) => a + Number(r.opened), 0);
      failed += ready.reduce((a, r) => a + Number(r.failed), 0);
      firstError ??= ready.find((r) => r.first_error)?.first_error as string | undefined;
      if (opened === 0) throw new Error(`no socket opened: ${firstError}`);
      await sleep(2000);
      const after = await server.mem();
      await sleep(SETTLE_MS);
      const settled = await server.mem();
      out[size] = {
        sockets: opened,
        failed,
        ...(firstError ? { first_error: firstError } : {}),
        rss_before: before.rss,
        rss_after: after.rss,
        heap_before: before.heap,
        heap_after: after.heap,
        bytes_per_socket_rss: Math.round((after.rss - before.rss) / opened),
        bytes_per_socket_rss_settled: Math.round((settled.rss - before.rss) / opened),
        marginal_bytes_per_socket_rss: prev && opened > prev.opened ? Math.round((after.rss - prev.rss) / (opened - prev.opened)) : null,
        bytes_per_socket_heap: before.heap != null && after.heap != null ? Math.round((after.heap - before.heap) / opened) : null,
        open_s: round(openS, 2),
      };
      prev = { rss: after.rss, opened };
    }
    return out;
  } finally {
    await stopAll(kids);
    await server?.stop();
  }
};

export const idle: Scenario = {
  name: 'idle',
  describe: 'server memory per idle socket vs the bare ws server',
  run: async (ctx): Promise<ScenarioResult> => {
    const sizes = process.env.BENCH_IDLE_SIZES ? process.env.BENCH_IDLE_SIZES.split(',').map(Number) : ctx.quick ? [1000] : [1000, 10_000, 100_000];
    const notes: string[] = [];
    const lim = nofileLimit();
    // The server holds one fd per socket: the soft limit is raised in each spawned shell, but only up to the hard limit.
    const fits = (n: number): boolean => !(lim.hard < n + 2048);
    for (const n of sizes.filter((x) => !fits(x))) {
      notes.push(
        `${n.toLocaleString('en-US')} sockets skipped: ulimit -n hard limit is ${lim.hard} (soft ${lim.soft}), the server needs about ${(n + 2048).toLocaleString('en-US')} descriptors`,
      );
      ctx.log(`idle: note: ${notes[notes.length - 1]}`);
    }
    sizes.splice(0, sizes.length, ...sizes.filter(fits));
    if (sizes.length === 0) sizes.push(Math.max(100, lim.hard - 2048));
    if (sizes.includes(100_000) && availableMemory() < 12 * 2 ** 30) {
      notes.push('100,000 sockets skipped: less than 12 GiB of memory available');
      sizes.splice(sizes.indexOf(100_000), 1);
    }
    const res: Partial<Record<TargetKind, Record<number, IdleFigures>>> = {};
    const errors: Record<string, string> = {};
    for (const kind of ['ws', 'natter'] as TargetKind[]) {
      try {
        res[kind] = await oneTarget(ctx, kind, sizes);
      } catch (e) {
        errors[kind] = errMsg(e);
        ctx.log(`idle: ${LABEL[kind]} failed: ${errMsg(e)}`);
      }
    }
    const rows: Row[] = [];
    const parts: string[] = [];
    for (const size of sizes) {
      const n = res.natter?.[size],
        w = res.ws?.[size];
      rows.push(
        row(
          `RSS bytes per idle socket @${size.toLocaleString('en-US')}`,
          'B',
          n?.bytes_per_socket_rss,
          w?.bytes_per_socket_rss,
          'bare ws server',
          TARGETS.idleBytesVsWs,
        ),
      );
      rows.push(
        row(
          `RSS bytes per idle socket @${size.toLocaleString('en-US')}, after ${SETTLE_MS / 1000} s more`,
          'B',
          n?.bytes_per_socket_rss_settled,
          w?.bytes_per_socket_rss_settled,
          'bare ws server',
          TARGETS.idleBytesVsWs,
        ),
      );
      if (n?.marginal_bytes_per_socket_rss != null || w?.marginal_bytes_per_socket_rss != null)
        rows.push(
          row(
            `marginal RSS bytes per socket, ${sizes[sizes.indexOf(size) - 1]?.toLocaleString('en-US')} → ${size.toLocaleString('en-US')}`,
            'B',
            n?.marginal_bytes_per_socket_rss,
            w?.marginal_bytes_per_socket_rss,
            'bare ws server',
            TARGETS.idleBytesVsWs,
          ),
        );
      if (n?.bytes_per_socket_heap != null)
        rows.push(row(`heap bytes per idle socket @${size.toLocaleString('en-US')}`, 'B', n.bytes_per_socket_heap, w?.bytes_per_socket_heap, 'bare ws server'));
      const f = (x?: IdleFigures): string =>
        x
          ? `${Math.round(x.bytes_per_socket_rss).toLocaleString('en-US')} B/socket (RSS ${Math.round(x.rss_after / 2 ** 20)} MiB), ${Math.round(x.bytes_per_socket_rss_settled).toLocaleString('en-US')} after ${SETTLE_MS / 1000} s`
          : 'n/a';
      parts.push(`@${size}: Natter ${f(n)}, ws ${f(w)}`);
    }
    return {
      name: 'idle',
      line: `idle: ${parts.join('; ')}`,
      figures: { sizes, ...res },
      rows,
      notes,
      ...(Object.keys(errors).length ? { errors } : {}),
    };
  },
};

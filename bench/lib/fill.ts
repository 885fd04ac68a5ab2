// Write many messages into a running Natter server through its WebSocket API (closed loop).
import type { ConnSpec } from '../clients/common.ts';
import type { NatterServer } from './natter.ts';
import { startClient, stopAll, type Child } from './proc.ts';

export type FillResult = {
  sent: number;
  acked: number;
  errors: number;
  first_error?: string;
  seconds: number;
  msgs_per_s: number;
};

/** Send until `maxMessages` are acked or `maxMs` has passed, spread over `specs` sockets and `procs` client processes. */
export const fill = async (
  server: NatterServer,
  specs: ConnSpec[],
  o: { maxMessages: number; maxMs: number; window: number; procs?: number; padBytes?: number },
): Promise<FillResult> => {
  const procs = Math.min(o.procs ?? 2, specs.length);
  const per = Math.ceil(specs.length / procs);
  const kids: Child[] = [];
  try {
    for (let p = 0; p < procs; p++) {
      const { child } = await startClient('clients/sender.ts', {
        type: 'cmd',
        cmd: 'setup',
        target: { kind: 'natter', host: '127.0.0.1', port: server.port },
        base: server.base,
        conns: specs.slice(p * per, (p + 1) * per),
        tag: `w${p}-`,
        lifetimeMs: o.maxMs + 120_000,
      });
      kids.push(child);
    }
    const t0 = performance.now();
    const done = await Promise.all(
      kids.map((c, p) => {
        const share = Math.floor(o.maxMessages / procs) + (p < o.maxMessages % procs ? 1 : 0);
        return c.request(
          { type: 'cmd', cmd: 'start', mode: 'closed', window: o.window, durationMs: o.maxMs, maxMessages: share, drainMs: 30_000, padBytes: o.padBytes ?? 0 },
          'done',
          o.maxMs + 90_000,
        );
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    const acked = done.reduce((a, d) => a + Number(d.acked), 0);
    return {
      sent: done.reduce((a, d) => a + Number(d.sent), 0),
      acked,
      errors: done.reduce((a, d) => a + Number(d.errors), 0),
      first_error: done.find((d) => d.first_error)?.first_error as string | undefined,
      seconds: Math.round(seconds * 100) / 100,
      msgs_per_s: Math.round(acked / seconds),
    };
  } finally {
    await stopAll(kids);
  }
};

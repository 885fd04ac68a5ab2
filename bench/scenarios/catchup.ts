// catchup: a device is offline while N messages are sent to its conversations; it then connects,
// sends {"type":"sync"} (repeating with the cursor while has_more) and we time it until sync_done.
import type { Scenario } from '../lib/context.ts';
import { round } from '../lib/context.ts';
import { fill } from '../lib/fill.ts';
import { createDirect, devTokens, natterPresent, startNatter, type NatterServer } from '../lib/natter.ts';
import { startClient, type Child } from '../lib/proc.ts';
import { row, type ScenarioResult } from '../lib/report.ts';
import { TARGETS } from '../lib/targets.ts';
import type { ConnSpec } from '../clients/common.ts';

export const catchup: Scenario = {
  name: 'catchup',
  describe: 'offline device catch-up with sync',
  run: async (ctx): Promise<ScenarioResult> => {
    if (!natterPresent())
      return {
        name: 'catchup',
        line: 'catchup: skipped (bin/natter.js does not exist yet)',
        figures: {},
        rows: [],
        skipped: 'bin/natter.js does not exist yet',
      };
    const n = ctx.quick ? 1000 : 10_000;
    const convs = 10;
    let server: NatterServer | undefined;
    let dev: Child | undefined;
    try {
      server = await startNatter();
      const toks = await devTokens(
        server.base,
        Array.from({ length: convs }, (_, k) => ({ userId: `cu${k}`, deviceId: 'd' })),
      );
      const specs: ConnSpec[] = [];
      for (let k = 0; k < convs; k++) specs.push({ room: await createDirect(server.base, toks[k]!, 'bob'), userId: `cu${k}`, deviceId: 'd', token: toks[k] });
      const c = await startClient('clients/catchup.ts', {
        type: 'cmd',
        cmd: 'setup',
        target: { kind: 'natter', host: '127.0.0.1', port: server.port },
        base: server.base,
        userId: 'bob',
        deviceId: 'tablet',
      });
      dev = c.child;
      // the device exists and is up to date, then goes offline
      const first = await dev.request({ type: 'cmd', cmd: 'sync' }, 'synced', 60_000);
      ctx.log(`catchup: device offline, sending ${n.toLocaleString('en-US')} messages over ${convs} conversations`);
      const w = await fill(server, specs, { maxMessages: n, maxMs: ctx.quick ? 30_000 : 120_000, window: 8, procs: 1 });
      ctx.log(`catchup: device back, syncing`);
      const r = await dev.request({ type: 'cmd', cmd: 'sync', cursor: first.cursor ?? null, timeoutMs: 120_000 }, 'synced', 150_000);
      const messages = Number(r.messages);
      const ms = Number(r.ms);
      const mps = Math.round(messages / (ms / 1000));
      return {
        name: 'catchup',
        line: `catchup: ${messages.toLocaleString('en-US')} messages (of ${w.acked.toLocaleString('en-US')} sent) in ${round(ms)} ms over ${r.rounds} sync rounds → ${mps.toLocaleString('en-US')} msgs/s`,
        figures: {
          sent: w.acked,
          received: messages,
          ms: round(ms, 1),
          rounds: r.rounds,
          first_msg_ms: round(Number(r.first_msg_ms), 1),
          msgs_per_s: mps,
          initial_cursor: first.cursor ?? null,
        },
        rows: [row('catch-up msgs/s', 'msgs/s', mps, null, '—', TARGETS.catchupMsgsPerS), row('catch-up time', 'ms', round(ms, 1), null, '—')],
        notes: messages < w.acked ? [`received ${messages} of ${w.acked} messages sent while offline`] : [],
      };
    } finally {
      await dev?.stop();
      await server?.stop();
    }
  },
};

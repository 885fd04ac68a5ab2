// presence: how many presence changes per second the server turns into frames for contacts, with
// the throttle off (NATTER_PRESENCE_THROTTLE_MS=0) so that every online/offline change counts.
import type { Scenario } from '../lib/context.ts';
import { errMsg, round } from '../lib/context.ts';
import { natterPresent, startNatter, type NatterServer } from '../lib/natter.ts';
import { spawnTs, type Child } from '../lib/proc.ts';
import { row, type ScenarioResult } from '../lib/report.ts';

export const presence: Scenario = {
  name: 'presence',
  describe: 'presence updates/s delivered to contacts',
  run: async (ctx): Promise<ScenarioResult> => {
    if (!natterPresent()) return { name: 'presence', line: 'presence: skipped (no server)', figures: {}, rows: [], skipped: 'no server' };
    let server: NatterServer | undefined;
    let client: Child | undefined;
    try {
      server = await startNatter({ env: { NATTER_PRESENCE_THROTTLE_MS: '0' } });
      client = spawnTs('clients/presence.ts');
      await client.request({ type: 'cmd', cmd: 'noop' }, 'ready', 30_000).catch(() => undefined);
      const durationMs = ctx.quick ? 3_000 : 10_000;
      const r = await client.request({ type: 'cmd', cmd: 'run', base: server.base, users: 200, durationMs, concurrency: 20 }, 'done', durationMs + 120_000);
      const flaps = Number(r.flaps);
      const frames = Number(r.frames);
      const seconds = Number(r.seconds);
      const updates = Math.round(frames / seconds);
      return {
        name: 'presence',
        line: `presence: ${updates.toLocaleString('en-US')} presence updates/s delivered (${flaps.toLocaleString('en-US')} connect/close cycles, ${frames.toLocaleString('en-US')} frames in ${round(seconds, 1)} s)`,
        figures: { flaps, frames, seconds: round(seconds, 2), updates_per_s: updates, changes_per_s: Math.round((2 * flaps) / seconds) },
        rows: [row('presence updates/s (throttle off)', 'updates/s', updates, Math.round((2 * flaps) / seconds), 'online/offline changes offered')],
      };
    } catch (e) {
      return { name: 'presence', line: `presence: error ${errMsg(e)}`, figures: { error: errMsg(e) }, rows: [], error: errMsg(e) };
    } finally {
      await client?.stop(500);
      await server?.stop();
    }
  },
};

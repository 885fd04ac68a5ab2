// Load generator: one device that was offline catches up with `sync` (repeated while has_more).
import { connect, type Conn, type Frame, type Target } from '../lib/drivers.ts';
import { devToken } from '../lib/natter.ts';
import { onCommand, reply, lifetime } from '../lib/ipc.ts';

type Setup = { target: Target; base: string; userId: string; deviceId: string; lifetimeMs?: number };
let s: Setup;
let token = '';

/** Connect, sync from `cursor` until has_more is false; returns what it saw. */
const syncAll = async (cursor: string | undefined, timeoutMs: number): Promise<Record<string, unknown>> => {
  let messages = 0,
    rounds = 0,
    firstMsgMs = -1;
  let conn: Conn | undefined;
  const t0 = performance.now();
  let last: string | undefined = cursor;
  const done = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sync not done within ${timeoutMs} ms (${messages} messages, ${rounds} rounds)`)), timeoutMs);
    const onFrame = (f: Frame): void => {
      if (f.type !== 'sync_done') return;
      if (f.cursor != null) last = String(f.cursor);
      if (f.has_more) {
        rounds++;
        conn!.sendFrame({ type: 'sync', cursor: last });
      } else {
        clearTimeout(timer);
        resolve();
      }
    };
    connect(
      s.target,
      { room: '', token, deviceId: s.deviceId },
      {
        onChat: (_c, f) => {
          messages++;
          if (firstMsgMs < 0) firstMsgMs = performance.now() - t0;
          if (f?.cursor != null) last = String(f.cursor);
        },
        onFrame,
        onError: (f) => {
          clearTimeout(timer);
          reject(new Error(`error frame ${f.code}: ${f.message}`));
        },
      },
    )
      .then((c) => {
        conn = c;
        rounds++;
        c.sendFrame(cursor ? { type: 'sync', cursor } : { type: 'sync' });
      })
      .catch(reject);
  });
  try {
    await done;
  } finally {
    conn?.close();
  }
  const ms = performance.now() - t0;
  return { messages, rounds, ms, first_msg_ms: firstMsgMs, cursor: last };
};

onCommand(async (c) => {
  if (c.cmd === 'setup') {
    s = c as unknown as Setup;
    lifetime(s.lifetimeMs ?? 600_000);
    token = await devToken(s.base, s.userId, s.deviceId);
    reply({ type: 'ready' });
  } else if (c.cmd === 'sync') {
    const r = await syncAll(c.cursor == null ? undefined : String(c.cursor), Number(c.timeoutMs ?? 120_000));
    reply({ type: 'synced', ...r });
  } else if (c.cmd === 'stop') process.exit(0);
});

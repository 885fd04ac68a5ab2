// Load generator: opens many idle connections and holds them until told to stop.
import type { Conn, Target } from '../lib/drivers.ts';
import { onCommand, reply, lifetime } from '../lib/ipc.ts';
import { openAll, type ConnSpec } from './common.ts';

type Setup = {
  target: Target;
  base?: string;
  count: number;
  userPrefix: string;
  room: string;
  localAddress?: string;
  concurrency?: number;
  lifetimeMs?: number;
};

let conns: Array<Conn | null> = [];
let closed = 0;

onCommand(async (c) => {
  if (c.cmd === 'setup') {
    const s = c as unknown as Setup;
    lifetime(s.lifetimeMs ?? 600_000);
    const specs: ConnSpec[] = Array.from({ length: s.count }, (_, i) => ({
      room: s.room,
      userId: `${s.userPrefix}${i}`,
      deviceId: 'd',
      localAddress: s.localAddress,
    }));
    const r = await openAll(s.target, s.base, specs, () => ({ onClose: () => void closed++ }), s.concurrency ?? 50);
    conns = r.conns;
    reply({ type: 'ready', opened: r.opened, failed: r.failed, first_error: r.firstError, token_ms: r.tokenMs, connect_ms: r.connectMs });
  } else if (c.cmd === 'check') {
    reply({ type: 'check', open: conns.filter(Boolean).length - closed, closed });
  } else if (c.cmd === 'stop') {
    for (const x of conns) x?.close();
    process.exit(0);
  }
});

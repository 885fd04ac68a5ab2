// Start any server under test (Natter or a peer relay) behind one interface.
import type { Target, TargetKind } from './drivers.ts';
import type { Running, Subject } from './deployment.ts';
import { startNatter, natterHeapBytes, type NatterServer } from './natter.ts';
import { centrifugoAvailability, startCentrifugo } from './centrifugo.ts';
import { spawnTs, type Child } from './proc.ts';
import { treeRss } from './sys.ts';

export type RunningServer = {
  kind: TargetKind;
  target: Target;
  pid: number;
  /** Natter only */
  natter?: NatterServer;
  /** resident memory of the server process tree, and heap when known */
  mem(): Promise<{ rss: number; heap: number | null }>;
  stop(): Promise<void>;
};

export const LABEL: Record<TargetKind, string> = {
  natter: 'Natter',
  ws: 'ws relay',
  socketio: 'socket.io relay',
  centrifugo: 'Centrifugo',
  'centrifugo-history': 'Centrifugo (history)',
};

export const startServer = async (kind: TargetKind, opts: { nofile?: number } = {}): Promise<RunningServer> => {
  if (kind === 'natter') {
    const n = await startNatter({ nofile: opts.nofile });
    return {
      kind,
      target: { kind, host: '127.0.0.1', port: n.port },
      pid: n.child.pid,
      natter: n,
      mem: async () => ({ rss: treeRss(n.child.pid), heap: await natterHeapBytes(n.base) }),
      stop: () => n.stop(),
    };
  }
  if (kind === 'centrifugo' || kind === 'centrifugo-history') {
    const a = await centrifugoAvailability({ build: false, log: () => undefined });
    if ('skipped' in a) throw new Error(`Centrifugo skipped: ${a.skipped}`);
    const c = await startCentrifugo(a.bin);
    return {
      kind,
      target: { kind, host: '127.0.0.1', port: c.port },
      pid: c.child.pid,
      mem: async () => ({ rss: treeRss(c.child.pid), heap: null }),
      stop: () => c.stop(),
    };
  }
  const file = kind === 'ws' ? 'peers/ws-relay.ts' : 'peers/socketio-relay.ts';
  const child: Child = spawnTs(file, { nofile: opts.nofile, env: { PORT: '0', HOST: '127.0.0.1' } });
  try {
    const ready = await child.wait('ready', 30_000);
    const port = Number(ready.port);
    return {
      kind,
      target: { kind, host: '127.0.0.1', port },
      pid: child.pid,
      mem: async () => {
        const m = await child.request({ type: 'cmd', cmd: 'mem' }, 'mem', 10_000);
        return { rss: treeRss(child.pid), heap: Number(m.heapUsed) };
      },
      stop: () => child.stop(),
    };
  } catch (e) {
    await child.stop(500);
    throw e;
  }
};

/** A server as a scenario subject (the peers; throughput's Natter): every socket on it. */
export const onOneServer = (s: RunningServer): Running => ({
  kind: s.kind,
  label: LABEL[s.kind],
  base: s.natter?.base,
  senders: [s.target],
  receivers: [s.target],
  stop: s.stop,
});

export const serverSubject = (kind: TargetKind): Subject => ({ key: kind, start: async () => onOneServer(await startServer(kind)) });

// Shared by the load-generator processes: open many connections (minting Natter dev tokens first).
import { connect, type Conn, type Endpoint, type Handlers, type Target } from '../lib/drivers.ts';
import { devTokens } from '../lib/natter.ts';
import { pool } from '../lib/ipc.ts';

export type ConnSpec = Endpoint & {
  userId?: string;
  /** this connection's server, when it is not the process's (cluster: sockets spread over gateways) */
  target?: Target;
};

export type OpenResult = {
  conns: Array<Conn | null>;
  opened: number;
  failed: number;
  firstError?: string;
  tokenMs: number;
  connectMs: number;
};

/** Mint missing tokens (Natter), then open every connection with bounded concurrency. */
export const openAll = async (
  target: Target,
  base: string | undefined,
  specs: ConnSpec[],
  handlers: (i: number) => Handlers,
  concurrency = 100,
): Promise<OpenResult> => {
  const t0 = Date.now();
  if (target.kind === 'natter') {
    const need = specs.map((s, i) => ({ s, i })).filter(({ s }) => !s.token);
    if (need.length) {
      if (!base) throw new Error('natter target without base URL');
      const toks = await devTokens(
        base,
        need.map(({ s }) => ({ userId: s.userId ?? 'bench', deviceId: s.deviceId ?? 'bench' })),
        16,
      );
      need.forEach(({ s }, k) => (s.token = toks[k]));
    }
  }
  const t1 = Date.now();
  let failed = 0;
  let firstError: string | undefined;
  const conns = await pool(specs, concurrency, async (s, i) => {
    try {
      return await connect(s.target ?? target, s, handlers(i));
    } catch (e) {
      failed++;
      firstError ??= (e as Error).message;
      return null;
    }
  });
  return { conns, opened: specs.length - failed, failed, firstError, tokenMs: t1 - t0, connectMs: Date.now() - t1 };
};

export const closeAll = (conns: Array<Conn | null>): void => {
  for (const c of conns) c?.close();
};

export type Payload = {
  /** message index within the run */
  i: number;
  /** intended send time, µs of the monotonic clock */
  t: number;
};

export const makeContent = (i: number, t: number, pad: string): string => {
  return pad ? `{"i":${i},"t":${t},"p":"${pad}"}` : `{"i":${i},"t":${t}}`;
};

export const parseContent = (s: string): Payload | null => {
  try {
    const o = JSON.parse(s) as Payload;
    return typeof o.i === 'number' && typeof o.t === 'number' ? o : null;
  } catch {
    return null;
  }
};

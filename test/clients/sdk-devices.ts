import WebSocket from 'ws';
import { NatterClient, NatterApi, type NatterClientOptions, type NatterEvents, type Message, type AckFrame } from '../../clients/sdk/index.ts';

export type Recorded = { type: string; [key: string]: unknown };

/**
 * An SDK client on a `ws` socket that also records every frame the server sent it, so a test can
 * tell what happened on the wire (a rate_limited error, a goaway) and not only what the SDK reported.
 */
export const device = (options: Omit<NatterClientOptions, 'WebSocket'>) => {
  const wire: Recorded[] = [];
  class RecordingSocket extends WebSocket {
    constructor(url: string) {
      super(url);
      this.on('message', (data) => wire.push(JSON.parse(String(data)) as Recorded));
    }
  }
  const client = new NatterClient({ backoff: { baseMs: 20, capMs: 250 }, ...options, WebSocket: RecordingSocket });
  const messages: Message[] = [];
  const acks: AckFrame[] = [];
  client.on('message', (m) => messages.push(m));
  client.on('ack', (a) => acks.push(a));
  return { client, wire, messages, acks };
};

/** Resolves with the first event that matches; rejects after `timeoutMs` naming what was missing. */
export const nextEvent = <K extends keyof NatterEvents>(client: NatterClient, event: K, match: (value: NatterEvents[K]) => boolean = () => true, timeoutMs = 10_000) =>
  new Promise<NatterEvents[K]>((resolve, reject) => {
    const timer = setTimeout(() => { off(); reject(new Error(`no ${String(event)} event within ${timeoutMs} ms`)); }, timeoutMs);
    const off = client.on(event, (value) => { if (!match(value)) return; clearTimeout(timer); off(); resolve(value); });
  });

/** Waits until `check` holds, re-checking on every event of the client; the timeout only bounds a failure. */
export const until = (client: NatterClient, check: () => boolean, what: string, timeoutMs = 20_000) =>
  new Promise<void>((resolve, reject) => {
    if (check()) { resolve(); return; }
    const offs: Array<() => void> = [];
    const done = () => { clearTimeout(timer); for (const off of offs) off(); };
    const timer = setTimeout(() => { done(); reject(new Error(`timed out waiting for ${what}`)); }, timeoutMs);
    for (const event of ['message', 'ack', 'state', 'status', 'typing', 'presence', 'conversation'] as const) {
      offs.push(client.on(event, () => { if (check()) { done(); resolve(); } }));
    }
  });

/** A conversation's whole history over REST, ascending. */
export const history = async (api: NatterApi, conversationId: string): Promise<Message[]> => {
  const items: Message[] = [];
  for (let after = 0; ;) {
    const page = (await api.messages(conversationId, { after, limit: 200 })).items;
    items.push(...page);
    if (page.length < 200) return items;
    after = page[page.length - 1]!.seq;
  }
};

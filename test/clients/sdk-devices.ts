import WebSocket from 'ws';
import {
  NatterClient,
  type NatterApi,
  applyReaction,
  applyUpdate,
  type NatterClientOptions,
  type NatterEvents,
  type Message,
  type AckFrame,
} from '../../clients/sdk/index.ts';

export type Recorded = { type: string; [key: string]: unknown };

/**
 * An SDK client on a `ws` socket that also records every frame the server sent it, so a test can
 * tell what happened on the wire (a rate_limited error, a goaway) and not only what the SDK reported.
 * `view` is what an app would show: every message as its events left it, the way the README says
 * to apply them (`applyUpdate`, `applyReaction`, a reply adds one to its parent's reply_count).
 */
export const device = (options: Omit<NatterClientOptions, 'WebSocket'>) => {
  const wire: Recorded[] = [];
  const sockets: WebSocket[] = [];
  class RecordingSocket extends WebSocket {
    constructor(url: string) {
      super(url);
      sockets.push(this);
      this.on('message', (data) => wire.push(JSON.parse(String(data)) as Recorded));
    }
  }
  const client = new NatterClient({ backoff: { baseMs: 20, capMs: 250 }, ...options, WebSocket: RecordingSocket });
  const messages: Message[] = [];
  const acks: AckFrame[] = [];
  const view = new Map<string, Message>();
  const key = (conversationId: string, seq: number) => `${conversationId}:${seq}`;
  const change = (conversationId: string, seq: number, apply: (m: Message) => Message) => {
    const message = view.get(key(conversationId, seq));
    if (message) view.set(key(conversationId, seq), apply(message));
  };
  client.on('message', (m) => {
    messages.push(m);
    view.set(key(m.conversation_id, m.seq), m);
    if (m.reply_to_seq !== null) change(m.conversation_id, m.reply_to_seq, (p) => ({ ...p, reply_count: p.reply_count + 1 }));
  });
  client.on('updated', (u) => change(u.conversation_id, u.seq, (m) => applyUpdate(m, u)));
  client.on('reaction', (r) => change(r.conversation_id, r.seq, (m) => applyReaction(m, r)));
  client.on('ack', (a) => acks.push(a));
  /** The view of one conversation, ascending seq, without cursors (live ones may differ from history's in the cluster). */
  const shown = (conversationId: string) =>
    [...view.values()]
      .filter((m) => m.conversation_id === conversationId)
      .sort((a, b) => a.seq - b.seq)
      .map(withoutCursor);
  /** Cuts the current connection without a close handshake, as a lost network would. */
  const drop = () => sockets.at(-1)?.terminate();
  return { client, wire, messages, acks, view, shown, drop };
};

export const withoutCursor = ({ cursor: _, ...message }: Message) => message;

/** Resolves with the first event that matches; rejects after `timeoutMs` naming what was missing. */
export const nextEvent = <K extends keyof NatterEvents>(
  client: NatterClient,
  event: K,
  match: (value: NatterEvents[K]) => boolean = () => true,
  timeoutMs = 10_000,
) =>
  new Promise<NatterEvents[K]>((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no ${String(event)} event within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = client.on(event, (value) => {
      if (!match(value)) return;
      clearTimeout(timer);
      off();
      resolve(value);
    });
  });

/** Waits until `check` holds, re-checking on every event of the client; the timeout only bounds a failure. */
export const until = (client: NatterClient, check: () => boolean, what: string, timeoutMs = 20_000) =>
  new Promise<void>((resolve, reject) => {
    if (check()) {
      resolve();
      return;
    }
    const offs: Array<() => void> = [];
    const done = () => {
      clearTimeout(timer);
      for (const off of offs) off();
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`timed out waiting for ${what}`));
    }, timeoutMs);
    for (const event of ['message', 'updated', 'reaction', 'ack', 'state', 'status', 'typing', 'presence', 'conversation'] as const) {
      offs.push(
        client.on(event, () => {
          if (check()) {
            done();
            resolve();
          }
        }),
      );
    }
  });

/** A conversation's whole history over REST, ascending. */
export const history = async (api: NatterApi, conversationId: string): Promise<Message[]> => {
  const items: Message[] = [];
  for (let after = 0; ; ) {
    const page = (await api.messages(conversationId, { after, limit: 200 })).items;
    items.push(...page);
    if (page.length < 200) return items;
    after = page[page.length - 1]!.seq;
  }
};

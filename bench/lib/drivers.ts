// One chat connection, four protocols: Natter's WebSocket API, the bare ws relay, the socket.io relay
// and Centrifugo's JSON protocol (centrifugo-driver.ts; two kinds: channels without and with history).
import WebSocket from 'ws';
import { io } from 'socket.io-client';
import { connectCentrifugo } from './centrifugo-driver.ts';

export type TargetKind = 'natter' | 'ws' | 'socketio' | 'centrifugo' | 'centrifugo-history';

/** Servers that answer each send (Natter: the durable ack; Centrifugo: the publish reply). */
export const hasAcks = (kind: TargetKind): boolean => {
  return kind === 'natter' || kind === 'centrifugo' || kind === 'centrifugo-history';
};
export type Target = {
  kind: TargetKind;
  host: string;
  port: number;
};

/** One connection: the room it joins (a Natter conversation id or a relay room) and, for Natter, its credentials. */
export type Endpoint = {
  room: string;
  token?: string;
  deviceId?: string;
  localAddress?: string;
  /** Centrifugo: only publishes, so it does not subscribe (the relays do not echo to the sender either) */
  publishOnly?: boolean;
};

// Frames are whatever JSON the server sent; the bench only reads a few fields.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Frame = Record<string, any>;

export type Handlers = {
  /** a chat message delivered to this connection (content as sent) */
  onChat?: (content: string, frame: Frame | null) => void;
  /** Natter: the durable ack of one of our sends; Centrifugo: the publish reply */
  onAck?: (clientMsgId: string, frame: Frame) => void;
  /** Natter: error frame */
  onError?: (frame: Frame) => void;
  /** Natter: any other frame (sync_done, ...) */
  onFrame?: (frame: Frame) => void;
  onClose?: () => void;
};

export type Conn = {
  sendChat(clientMsgId: string, content: string): void;
  sendFrame(frame: Frame): void;
  buffered(): number;
  close(): void;
};

export const wsUrl = (t: Target, ep: Endpoint): string => {
  if (t.kind === 'natter') {
    const q = new URLSearchParams({ token: ep.token ?? '', device_id: ep.deviceId ?? 'bench' });
    return `ws://${t.host}:${t.port}/v1/ws?${q}`;
  }
  return `ws://${t.host}:${t.port}/?room=${encodeURIComponent(ep.room)}`;
};

export const connect = (t: Target, ep: Endpoint, h: Handlers, timeoutMs = 20_000): Promise<Conn> => {
  if (t.kind === 'centrifugo' || t.kind === 'centrifugo-history') return connectCentrifugo({ ...t, kind: t.kind }, ep, h, timeoutMs);
  return t.kind === 'socketio' ? connectSocketIo(t, ep, h, timeoutMs) : connectWs(t, ep, h, timeoutMs);
};

const connectWs = (t: Target, ep: Endpoint, h: Handlers, timeoutMs: number): Promise<Conn> => {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl(t, ep), {
      perMessageDeflate: false,
      handshakeTimeout: timeoutMs,
      ...(ep.localAddress ? { localAddress: ep.localAddress } : {}),
    });
    let open = false;
    const natter = t.kind === 'natter';
    ws.on('message', (data, isBinary) => {
      const text = isBinary ? Buffer.from(data as Buffer).toString() : data.toString();
      if (!natter) {
        h.onChat?.(text, null);
        return;
      }
      let f: Frame;
      try {
        f = JSON.parse(text) as Frame;
      } catch {
        return;
      }
      switch (f.type) {
        case 'new_message':
          h.onChat?.(String(f.content), f);
          break;
        case 'ack':
          h.onAck?.(String(f.client_msg_id), f);
          break;
        // An edit, delete or reaction is durable: the mixed workload counts it like a send's ack.
        case 'ok':
          if (f.request_id !== undefined) h.onAck?.(String(f.request_id), f);
          break;
        case 'error':
          h.onError?.(f.request_id !== undefined ? { ...f, client_msg_id: f.request_id } : f);
          break;
        default:
          h.onFrame?.(f);
      }
    });
    ws.on('open', () => {
      open = true;
      resolve({
        sendChat: (clientMsgId, content) =>
          ws.send(natter ? JSON.stringify({ type: 'send_message', client_msg_id: clientMsgId, conversation_id: ep.room, content }) : content),
        sendFrame: (f) => ws.send(JSON.stringify(f)),
        buffered: () => ws.bufferedAmount,
        close: () => ws.terminate(),
      });
    });
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => reject(new Error(`ws upgrade refused: HTTP ${res.statusCode} ${body.slice(0, 200)}`)));
    });
    ws.on('error', (e) => {
      if (!open) reject(e);
    });
    ws.on('close', () => {
      if (open) h.onClose?.();
      else reject(new Error('closed before open'));
    });
  });
};

const connectSocketIo = (t: Target, ep: Endpoint, h: Handlers, timeoutMs: number): Promise<Conn> => {
  return new Promise((resolve, reject) => {
    const s = io(`http://${t.host}:${t.port}`, {
      transports: ['websocket'],
      query: { room: ep.room },
      forceNew: true,
      reconnection: false,
      timeout: timeoutMs,
      ...(ep.localAddress ? { localAddress: ep.localAddress } : {}),
    } as unknown as Parameters<typeof io>[1]);
    s.on('m', (content: string) => h.onChat?.(content, null));
    s.on('connect', () =>
      resolve({
        sendChat: (_id, content) => void s.emit('m', content),
        sendFrame: () => undefined,
        buffered: () => 0,
        close: () => void s.disconnect(),
      }),
    );
    s.on('connect_error', (e) => reject(e));
    s.on('disconnect', () => h.onClose?.());
  });
};

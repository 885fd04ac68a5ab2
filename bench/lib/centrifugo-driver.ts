// A chat connection to Centrifugo over its JSON WebSocket protocol (client protocol v2): connect,
// subscribe to the room's channel (receivers only), publish with a reply per publish (the ack), pushes
// of publications. Written on `ws` directly, like the other drivers, so that every peer pays the same
// client-side costs (one JSON parse per frame) and no SDK batching or reconnect logic sits in between.
import WebSocket from 'ws';
import { NAMESPACE, type CentrifugoKind } from './centrifugo.ts';
import type { Conn, Endpoint, Frame, Handlers, Target } from './drivers.ts';

export const centrifugoUrl = (t: Target): string => {
  return `ws://${t.host}:${t.port}/connection/websocket`;
};

export const connectCentrifugo = (t: Target & { kind: CentrifugoKind }, ep: Endpoint, h: Handlers, timeoutMs: number): Promise<Conn> => {
  const channel = `${NAMESPACE[t.kind]}:${ep.room}`;
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(centrifugoUrl(t), {
      perMessageDeflate: false,
      handshakeTimeout: timeoutMs,
      ...(ep.localAddress ? { localAddress: ep.localAddress } : {}),
    });
    let nextId = 1;
    const pending = new Map<number, string>(); // command id -> client_msg_id of a publish
    let ready = false;
    const timer = setTimeout(() => fail(new Error(`centrifugo: not connected and subscribed within ${timeoutMs} ms`)), timeoutMs);
    const fail = (e: Error): void => {
      clearTimeout(timer);
      if (!ready) {
        ready = true; // settle once
        ws.terminate();
        reject(e);
      }
    };
    const conn: Conn = {
      sendChat: (clientMsgId, content) => {
        const id = nextId++;
        pending.set(id, clientMsgId);
        // `data` is the chat message as an app would publish it: the content is a string field, so a
        // receiver parses the frame once and reads .content, as with Natter's new_message frames.
        ws.send(`{"id":${id},"publish":{"channel":${JSON.stringify(channel)},"data":{"content":${JSON.stringify(content)}}}}`);
      },
      sendFrame: (f) => ws.send(JSON.stringify(f)),
      buffered: () => ws.bufferedAmount,
      close: () => ws.terminate(),
    };
    const connected = (): void => {
      if (ep.publishOnly) {
        opened();
        return;
      }
      ws.send(JSON.stringify({ id: nextId++, subscribe: { channel } }));
    };
    const opened = (): void => {
      clearTimeout(timer);
      ready = true;
      resolve(conn);
    };

    const onReply = (r: Frame): void => {
      const id = Number(r.id);
      if (r.error) {
        const err = r.error as { code: number; message: string };
        if (!ready) {
          fail(new Error(`centrifugo: connect or subscribe refused: ${err.code} ${err.message}`));
          return;
        }
        const clientMsgId = pending.get(id);
        pending.delete(id);
        h.onError?.({ type: 'error', code: String(err.code), message: err.message, client_msg_id: clientMsgId });
        return;
      }
      if (r.connect) {
        connected();
        return;
      }
      if (r.subscribe) {
        opened();
        return;
      }
      const clientMsgId = pending.get(id);
      if (clientMsgId !== undefined) {
        pending.delete(id);
        h.onAck?.(clientMsgId, r);
      }
    };

    ws.on('message', (data) => {
      const text = data.toString();
      // One frame may carry several replies/pushes, one JSON object per line.
      for (const line of text.includes('\n') ? text.split('\n') : [text]) {
        if (!line) continue;
        let f: Frame;
        try {
          f = JSON.parse(line) as Frame;
        } catch {
          continue;
        }
        if (f.id !== undefined) onReply(f);
        else if (f.push) {
          const p = f.push as Frame;
          if (p.pub) h.onChat?.(String((p.pub as Frame).data?.content), f);
          else if (p.disconnect) h.onFrame?.(f);
        } else ws.send('{}'); // an empty object is the server's ping: answer with a pong
      }
    });
    ws.on('open', () => ws.send(JSON.stringify({ id: nextId++, connect: { name: 'natter-bench' } })));
    ws.on('unexpected-response', (_req, res) => fail(new Error(`centrifugo: ws upgrade refused: HTTP ${res.statusCode}`)));
    ws.on('error', (e) => fail(e));
    ws.on('close', (code, reason) => {
      if (ready) h.onClose?.();
      else fail(new Error(`centrifugo: closed before subscribed (${code} ${reason.toString()})`));
    });
  });
};

import { eventually } from './eventually.ts';
import type { Device, Frame } from './ws-client.ts';

export type Send = {
  id: string;
  firstSentAt: number;
  lastSentAt: number;
  attempts: number;
  pending: boolean;
  ack?: Frame;
  ackAt?: number;
  errors: Array<{ code: string; message: string; retry_after_ms?: number; at: number }>;
  /** Milliseconds from each transmission to its answer. */
  waits: Array<{ sentAt: number; ms: number }>;
  /** Transmissions that got no answer within the reply timeout. */
  unanswered: number;
};

/**
 * A steady sender that behaves like the client SDK: a message every `everyMs` without waiting for
 * earlier acks; a refused send goes again with the same client_msg_id after the server's
 * retry_after_ms, and one with no answer within `replyTimeoutMs` is counted as unanswered and sent
 * again. Every send, its answers and their timings are kept for the test to judge.
 */
export const steadySender = (device: Device, conversationId: string, tag: string, options: { everyMs: number; replyTimeoutMs: number }) => {
  const sends = new Map<string, Send>();
  /** Acks of one send that disagree (a retry must get the first ack back). */
  const mismatches: string[] = [];
  let n = 0;
  const transmit = (send: Send) => {
    send.attempts++;
    send.lastSentAt = Date.now();
    send.pending = true;
    if (device.open) device.send({ type: 'send_message', conversation_id: conversationId, client_msg_id: send.id, content: `${tag} ${send.id}` });
  };
  device.socket.on('message', (data) => {
    const frame = JSON.parse(String(data)) as Frame;
    if (frame.type !== 'ack' && frame.type !== 'error') return;
    const send = sends.get(frame.client_msg_id);
    if (!send) return;
    const at = Date.now();
    send.waits.push({ sentAt: send.lastSentAt, ms: at - send.lastSentAt });
    send.pending = false;
    if (frame.type === 'ack') {
      if (send.ack && send.ack.message_id !== frame.message_id) mismatches.push(`${send.id}: ${send.ack.message_id} then ${frame.message_id}`);
      send.ack ??= frame;
      send.ackAt ??= at;
      return;
    }
    send.errors.push({ code: frame.code, message: frame.message, retry_after_ms: frame.retry_after_ms, at });
    if (!send.ack)
      setTimeout(() => {
        if (!send.ack) transmit(send);
      }, frame.retry_after_ms ?? 500).unref();
  });
  const ticker = setInterval(() => {
    const now = Date.now();
    const send: Send = { id: `${tag}-${n++}`, firstSentAt: now, lastSentAt: now, attempts: 0, pending: false, errors: [], waits: [], unanswered: 0 };
    sends.set(send.id, send);
    transmit(send);
  }, options.everyMs);
  const watchdog = setInterval(() => {
    for (const send of sends.values()) {
      if (!send.pending || Date.now() - send.lastSentAt < options.replyTimeoutMs) continue;
      send.unanswered++;
      transmit(send);
    }
  }, 250);
  // A failing test must still end: nothing here keeps the process alive.
  ticker.unref();
  watchdog.unref();
  return {
    conversationId,
    device,
    mismatches,
    all: () => [...sends.values()],
    /** No new sends; retries of the unacked ones go on. */
    stop: () => clearInterval(ticker),
    /** Waits (bounded) until every send is acked, retries included. */
    settle: (timeoutMs: number) =>
      eventually(
        async () => [...sends.values()].every((s) => s.ack),
        (done) => done,
        { timeoutMs, everyMs: 100 },
      ),
    close: () => {
      clearInterval(ticker);
      clearInterval(watchdog);
    },
  };
};
export type SteadySender = ReturnType<typeof steadySender>;

/** Every new_message frame a device receives live, with its arrival time. */
export const liveArrivals = (device: Device) => {
  const arrivals: Array<{ frame: Frame; at: number }> = [];
  device.socket.on('message', (data) => {
    const frame = JSON.parse(String(data)) as Frame;
    if (frame.type === 'new_message') arrivals.push({ frame, at: Date.now() });
  });
  return arrivals;
};

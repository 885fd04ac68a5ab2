import type { Outbound } from '../ports/delivery.ts';

export type LiveOrderOptions = {
  /** How long frames wait behind a missing seq before the device is told to sync. */
  gapWaitMs: number;
  /** Conversations remembered per connection (the least recently used are forgotten). */
  maxConversations?: number;
  /** Positions of changes and receipts remembered per conversation. */
  maxPositions?: number;
};

/** What one connection knows of one conversation's live frames. */
type Live = {
  /** Highest seq delivered, in order; 0 until the first message (live or synced) says where the device is. */
  seq: number;
  /** Position of the newest `conversation_updated` delivered: an older one carries an older state. */
  stateAt: number;
  /** Positions of the changes (edits, deletes, reactions) and receipts delivered, the most recent ones. */
  positions: Set<number>;
  /** Frames behind a missing seq, in arrival order. */
  waiting: Outbound[] | null;
  timer: NodeJS.Timeout | null;
};

/** Where a connection's frames go, and where a missing message is looked for. */
export type LiveOut = {
  send(json: string): void;
  /** The gap could not be closed: the client must sync (the connection closes with `resync`). */
  resync(): void;
  /** The messages with `afterSeq < seq < beforeSeq` that the read models already hold, as live frames. */
  fill?(conversationId: string, afterSeq: number, beforeSeq: number): Promise<Outbound[]>;
};

/**
 * Orders and deduplicates one connection's live frames, per conversation. In the cluster a frame can
 * come twice (the fast path from the gateway that appended it, then the projector workers' fan-out)
 * and the two paths can pass each other, so:
 * - a `new_message` is delivered once per seq, and only after the seq before it: one that arrives
 *   ahead of a missing seq waits for it (`gapWaitMs`). If the gap is still open then, the missing
 *   messages are read from history (`fill`: the projectors write it before they fan out), and if
 *   history does not hold them yet, `resync` is called: the connection closes with a code that
 *   makes the client sync from its cursor;
 * - an edit, delete, reaction or receipt is delivered once per event position, after the message it
 *   changes;
 * - a `conversation_updated` is delivered only if newer than the last one (it carries the whole state).
 * The first message of a conversation on this connection (live, or from `sync`) says where it starts.
 */
export class LiveOrder {
  private readonly conversations = new Map<string, Live>();
  private readonly maxConversations: number;
  private readonly maxPositions: number;
  private closed = false;

  constructor(
    private readonly out: LiveOut,
    private readonly options: LiveOrderOptions,
  ) {
    this.maxConversations = options.maxConversations ?? 1_000;
    this.maxPositions = options.maxPositions ?? 256;
  }

  accept(frame: Outbound): void {
    if (frame.conversation === undefined || frame.kind === 'ephemeral') {
      this.out.send(frame.json);
      return;
    }
    const live = this.live(frame.conversation);
    if (frame.kind === 'conversation') {
      if (frame.position <= live.stateAt) return;
      live.stateAt = frame.position;
      this.out.send(frame.json);
      return;
    }
    if (frame.isNew) {
      const seq = frame.seq!;
      if (live.seq === 0 && !live.waiting) live.seq = seq - 1;
      if (seq <= live.seq || live.waiting?.some((f) => f.isNew && f.seq === seq)) return;
      if (seq === live.seq + 1 && !live.waiting) {
        live.seq = seq;
        this.out.send(frame.json);
        return;
      }
      this.wait(frame.conversation, live, frame);
      return;
    }
    // A change or a receipt: once per event.
    if (live.positions.has(frame.position)) return;
    live.positions.add(frame.position);
    if (live.positions.size > this.maxPositions) live.positions.delete(live.positions.values().next().value!);
    // A change of a message not delivered yet waits for it (receipts carry no seq and never wait).
    if (frame.seq !== undefined && live.seq > 0 && frame.seq > live.seq) {
      this.wait(frame.conversation, live, frame);
      return;
    }
    this.out.send(frame.json);
  }

  /** A `sync` page gave the device the conversation's messages up to `seq`. */
  synced(conversation: string, seq: number): void {
    const live = this.live(conversation);
    if (seq <= live.seq) return;
    live.seq = seq;
    if (live.waiting) this.drain(live);
  }

  /** Stops the timers (the socket is closing). */
  close(): void {
    this.closed = true;
    for (const live of this.conversations.values()) if (live.timer) clearTimeout(live.timer);
    this.conversations.clear();
  }

  private live(conversation: string): Live {
    let live = this.conversations.get(conversation);
    if (live) {
      // Most recently used last, so the least recently used is the first to go.
      this.conversations.delete(conversation);
      this.conversations.set(conversation, live);
      return live;
    }
    live = { seq: 0, stateAt: 0, positions: new Set(), waiting: null, timer: null };
    this.conversations.set(conversation, live);
    if (this.conversations.size > this.maxConversations) {
      const [oldest, forgotten] = this.conversations.entries().next().value!;
      if (forgotten.timer) clearTimeout(forgotten.timer);
      this.conversations.delete(oldest);
    }
    return live;
  }

  private wait(conversation: string, live: Live, frame: Outbound): void {
    (live.waiting ??= []).push(frame);
    if (this.drain(live) || !live.timer) this.arm(conversation, live);
  }

  /** Delivers what the missing seqs no longer hold back; true when something moved. */
  private drain(live: Live): boolean {
    let moved = false;
    for (let progressed = true; progressed && live.waiting; ) {
      progressed = false;
      live.waiting = live.waiting.filter((f) => {
        if (f.isNew) {
          if (f.seq! <= live.seq) return false;
          if (f.seq! !== live.seq + 1) return true;
          live.seq = f.seq!;
        } else if (f.seq! > live.seq) {
          return true;
        }
        this.out.send(f.json);
        progressed = moved = true;
        return false;
      });
      if (live.waiting.length === 0) live.waiting = null;
    }
    if (!live.waiting && live.timer) {
      clearTimeout(live.timer);
      live.timer = null;
    }
    return moved;
  }

  /** The wait starts again whenever the gap moves: each missing seq gets `gapWaitMs` to arrive. */
  private arm(conversation: string, live: Live): void {
    if (!live.waiting) return;
    if (live.timer) clearTimeout(live.timer);
    live.timer = setTimeout(() => {
      live.timer = null;
      void this.stalled(conversation, live);
    }, this.options.gapWaitMs);
    live.timer.unref();
  }

  private async stalled(conversation: string, live: Live): Promise<void> {
    const current = () => !this.closed && this.conversations.get(conversation) === live && live.waiting !== null;
    if (!current()) return;
    // Up to the first waiting message, or through the message a waiting change is about.
    const before = Math.min(...live.waiting!.map((f) => (f.isNew ? f.seq! : f.seq! + 1)));
    let filled: Outbound[] = [];
    try {
      filled = this.out.fill ? await this.out.fill(conversation, live.seq, before) : [];
    } catch {
      // The read models are out of reach: the client's sync will wait for them.
    }
    if (!current()) return;
    for (const frame of filled) this.accept(frame);
    if (current()) this.out.resync();
  }
}

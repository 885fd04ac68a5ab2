import type { ClientFrameOf } from './wire.ts';

/** A `send_message` frame without its type: what goes on the wire, and what storage keeps until the ack. */
export type OutboxEntry = Omit<ClientFrameOf<'send_message'>, 'type'>;

/**
 * Sends that have no ack yet, in the order they were made. The client sends only the head of each
 * conversation's queue and the next one after its ack, so a conversation's messages are appended
 * in the order the user wrote them even across failures, retries and reconnects; different
 * conversations proceed independently.
 */
export class Outbox {
  private entries: OutboxEntry[];

  constructor(entries: OutboxEntry[] = []) {
    this.entries = [...entries];
  }

  add(entry: OutboxEntry): void {
    this.entries.push(entry);
  }

  /** Removes and returns the entry, or undefined when it was already gone (a duplicate ack). */
  take(clientMsgId: string): OutboxEntry | undefined {
    const index = this.entries.findIndex((e) => e.client_msg_id === clientMsgId);
    return index < 0 ? undefined : this.entries.splice(index, 1)[0];
  }

  /** The oldest unacked entry of every conversation. */
  heads(): OutboxEntry[] {
    const seen = new Set<string>();
    return this.entries.filter((e) => !seen.has(e.conversation_id) && seen.add(e.conversation_id));
  }

  list(): readonly OutboxEntry[] {
    return this.entries;
  }

  get size(): number {
    return this.entries.length;
  }
}

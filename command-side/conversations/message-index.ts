/** What the decider knows of one message: enough to rule on edits, deletes, reactions and replies. */
import type { ContentType } from '../../contracts/primitives.ts';

export type IndexedMessage = { seq: number; sender_id: string; timestamp: number; content_type: ContentType; deleted: boolean };

const MEDIA = 1;
const CIPHERTEXT = 4;
const DELETED = 2;

/**
 * Every message of a conversation in a few bytes each: the decider must rule on an edit, delete,
 * reaction or reply to any seq, and a conversation's state lives in memory for as long as it is hot.
 * Senders are interned (a conversation has few), the rest sits in typed arrays indexed by seq that
 * double when full: about 13 bytes a message.
 */
export class MessageIndex {
  private senders: string[] = [];
  private senderOf = new Map<string, number>();
  private sender = new Uint32Array(64);
  private time = new Float64Array(64);
  private flags = new Uint8Array(64);
  private last = 0;

  get lastSeq(): number {
    return this.last;
  }

  append(seq: number, senderId: string, timestamp: number, contentType: ContentType): void {
    if (seq >= this.sender.length) this.grow(seq + 1);
    let s = this.senderOf.get(senderId);
    if (s === undefined) {
      s = this.senders.push(senderId) - 1;
      this.senderOf.set(senderId, s);
    }
    this.sender[seq] = s;
    this.time[seq] = timestamp;
    this.flags[seq] = contentType === 'media' ? MEDIA : contentType === 'ciphertext' ? CIPHERTEXT : 0;
    this.last = Math.max(this.last, seq);
  }

  markDeleted(seq: number): void {
    if (seq >= 1 && seq <= this.last) this.flags[seq]! |= DELETED;
  }

  get(seq: number): IndexedMessage | undefined {
    if (!Number.isSafeInteger(seq) || seq < 1 || seq > this.last) return undefined;
    const flags = this.flags[seq]!;
    return {
      seq,
      sender_id: this.senders[this.sender[seq]!]!,
      timestamp: this.time[seq]!,
      content_type: (flags & MEDIA) !== 0 ? 'media' : (flags & CIPHERTEXT) !== 0 ? 'ciphertext' : 'text',
      deleted: (flags & DELETED) !== 0,
    };
  }

  private grow(size: number): void {
    let capacity = this.sender.length;
    while (capacity < size) capacity *= 2;
    const grown = <T extends Uint32Array | Float64Array | Uint8Array>(from: T, make: (n: number) => T) => {
      const to = make(capacity);
      to.set(from);
      return to;
    };
    this.sender = grown(this.sender, (n) => new Uint32Array(n));
    this.time = grown(this.time, (n) => new Float64Array(n));
    this.flags = grown(this.flags, (n) => new Uint8Array(n));
  }
}

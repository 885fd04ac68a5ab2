import type { AckFrame, MarkFrame, MessageStatusFrame, NewMessageFrame, PresenceFrame, SendMessageFrame, TypingFrame } from '../contracts/frames.ts';
import type { MessageSent, MessageRead } from '../contracts/events.ts';
import { PREVIEW_LENGTH } from '../projections/inbox/projector.ts';

/*
 * Bytes on the wire and at rest, computed from the contracts' own shapes with ids as long as
 * Natter's: uuid v7 message ids (36), `d_`/`g_` + 32 hex conversation ids (34), and user, device
 * and client message ids taken as uuid-long (36). Content is ASCII (JSON adds nothing to it).
 */
const id36 = 'x'.repeat(36);
const conv34 = 'd'.repeat(34);
const seq = 123_456;
const timestamp = 1_780_000_000_000;
const cursor = '123456789012';
const content = (bytes: number) => 'x'.repeat(bytes);

/** WebSocket framing: 2 bytes under 126 payload bytes, 4 under 64 KiB; a client's frames add a 4-byte mask. */
export const wsFrame = (payload: number, fromClient: boolean) => payload + (payload < 126 ? 2 : payload < 65_536 ? 4 : 10) + (fromClient ? 4 : 0);
const json = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

/** Application bytes of each frame, WebSocket header included; TLS and TCP/IP headers excluded. */
export const frameBytes = (messageBytes: number) => {
  const send: SendMessageFrame = { type: 'send_message', client_msg_id: id36, conversation_id: conv34, content: content(messageBytes) };
  const ack: AckFrame = { type: 'ack', client_msg_id: id36, conversation_id: conv34, message_id: id36, seq, timestamp };
  const message: NewMessageFrame = {
    type: 'new_message',
    message_id: id36,
    conversation_id: conv34,
    seq,
    sender_id: id36,
    content: content(messageBytes),
    content_type: 'text',
    client_msg_id: id36,
    timestamp,
    edited_at: null,
    deleted: false,
    erased: false,
    reply_to_seq: null,
    reply_count: 0,
    mentions: [],
    reactions: [],
    cursor,
  };
  const mark: MarkFrame = { type: 'mark_delivered', conversation_id: conv34, up_to_seq: seq };
  const status: MessageStatusFrame = { type: 'message_status', conversation_id: conv34, user_id: id36, status: 'delivered', up_to_seq: seq, timestamp };
  const typingIn: TypingFrame = { type: 'typing', conversation_id: conv34, state: 'start' };
  const typingOut = { ...typingIn, user_id: id36 };
  const presence: PresenceFrame = { type: 'presence', user_id: id36, status: 'offline', last_seen: timestamp };
  return {
    sendIn: wsFrame(json(send), true),
    markIn: wsFrame(json(mark), true),
    typingIn: wsFrame(json(typingIn), true),
    /** A pong control frame with no payload, masked. */
    pongIn: wsFrame(0, true),
    ackOut: wsFrame(json(ack), false),
    messageOut: wsFrame(json(message), false),
    statusOut: wsFrame(json(status), false),
    typingOut: wsFrame(json(typingOut), false),
    presenceOut: wsFrame(json(presence), false),
    pingOut: wsFrame(0, false),
  };
};
export type FrameBytes = ReturnType<typeof frameBytes>;

/**
 * One event row in PostgreSQL (adapters/postgres/schema.ts): a 24-byte tuple header and 4-byte line
 * pointer, position 8, revision 4, recorded_at 8, text/json lengths and alignment (about 12), then
 * stream, type and data; plus its two index entries, the primary key (about 20 bytes) and
 * (stream, revision) (the stream name and about 20). Estimated from the schema, not measured.
 */
const pgRow = (stream: string, type: string, data: unknown) => 60 + stream.length + type.length + json(data) + 20 + stream.length + 20;

export const eventBytes = (messageBytes: number) => {
  const sent: MessageSent = {
    conversation_id: conv34,
    message_id: id36,
    seq,
    sender_id: id36,
    sender_device_id: id36,
    client_msg_id: id36,
    content: content(messageBytes),
    content_type: 'text',
    timestamp,
  };
  const read: MessageRead = { conversation_id: conv34, user_id: id36, up_to_seq: seq, timestamp };
  return {
    message: pgRow(`conversation-${conv34}`, 'MessageSent', sent),
    receipt: pgRow(`receipts-${conv34}`, 'MessageDelivered', read),
  };
};

/**
 * One message in Cassandra (adapters/cassandra/migrations.ts): a `messages` row (partition key
 * conversation_id + bucket, clustering seq, 7 regular cells) and a `message_positions` row, each
 * value plus about 12 bytes of cell and row overhead per cell before compression; the one
 * `conversation_last_seq` row per conversation is overwritten, not added. Estimated, not measured.
 */
export const historyBytes = (messageBytes: number) => {
  const messageRow = conv34.length + 4 + 8 + id36.length * 3 + messageBytes + 4 + 8 + 8 + 10 * 12;
  const positionRow = conv34.length + 4 + 8 + 8 + 4 * 12;
  return messageRow + positionRow;
};

/**
 * Redis memory per structure, from `MEMORY USAGE` on the engines' Redis 7.0.15 with these id
 * lengths (a one-off calibration, key and TTL overhead included; see docs/capacity.md).
 */
export const redisBytes = {
  /** ses:user:<u>, a ZSET of the user's sessions with a TTL: per online user. */
  sessionUser: 184,
  /** ses:expiry, one ZSET of every session: per session (device). */
  sessionExpiry: 193,
  /** A second device's member in ses:user:<u>. */
  extraDevice: 60,
  /** ses:ann:<u>, the last presence announcement, kept a day while online: per daily user. */
  presenceAnnouncement: 168,
  /** ses:seen:<u>, last seen, kept 30 days: per registered user (an upper bound). */
  lastSeen: 120,
  /** rate:<kind>:<u>, a token bucket hash with a TTL: per user who used it within the bucket's refill time. */
  rateBucket: 168,
  /** Per membership, conversation of at most 128 members: ibx:state 70, ibx:list 57, dir:user 100, ibx:members 85, dir:members 45, rcpt 55. */
  membershipSmall: 412,
  /** Per membership, bigger group (hash tables and skip lists; pull mode: ibx:big instead of ibx:list). */
  membershipLarge: 580,
  /** Per conversation: ibx:conv less its preview (780), dir:conv (248), and the empty member set, zset and receipts hash (412). */
  conversation: 1_440,
  preview: PREVIEW_LENGTH,
};

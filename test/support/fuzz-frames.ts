import fc from 'fast-check';
import { type clientFrames, ReauthFrame } from '../../contracts/frames.ts';

/** One generated frame: the bytes and whether they go out as a binary WebSocket frame. */
export type FuzzFrame = { data: string | Uint8Array; binary: boolean; kind: 'valid' | 'near' | 'garbage' };

const idChars = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789_-'.split(''));
const id = fc.string({ unit: idChars, minLength: 1, maxLength: 20 }).map((s) => `f${s}`);

/**
 * Stands for the fuzzing socket's own token in `reauth` frames; the fuzzer puts the real one in
 * before sending (a valid reauth is renewed and answered `ok`; a foreign token closes the socket).
 */
export const OWN_TOKEN = 'fuzz-own.token-placeholder.x';
const tokenShape = new RegExp((ReauthFrame.properties.token as unknown as { pattern: string }).pattern);

/** Frames that match the schemas of `contracts/frames.ts`, aimed at the given conversations. */
export const validFrame = (conversations: string[]) => {
  const conversation = fc.oneof(fc.constantFrom(...conversations), id);
  const byType: { [K in keyof typeof clientFrames]: fc.Arbitrary<Record<string, unknown>> } = {
    send_message: fc.record(
      {
        type: fc.constant('send_message'),
        client_msg_id: fc.string({ unit: fc.constantFrom(...'abcdefXYZ0123456789!#$%'.split('')), minLength: 1, maxLength: 24 }),
        conversation_id: conversation,
        content: fc.string({ minLength: 1, maxLength: 200, unit: 'grapheme' }),
      },
      { requiredKeys: ['type', 'client_msg_id', 'conversation_id', 'content'] },
    ),
    mark_delivered: fc.record({ type: fc.constant('mark_delivered'), conversation_id: conversation, up_to_seq: fc.nat({ max: 5_000 }) }),
    mark_read: fc.record({ type: fc.constant('mark_read'), conversation_id: conversation, up_to_seq: fc.nat({ max: 5_000 }) }),
    sync: fc.record(
      { type: fc.constant('sync'), cursor: fc.nat({ max: 1_000_000 }).map(String), limit: fc.integer({ min: 1, max: 20 }) },
      { requiredKeys: ['type'] },
    ),
    ping: fc.constant({ type: 'ping' }),
    typing: fc.record({ type: fc.constant('typing'), conversation_id: conversation, state: fc.constantFrom('start', 'stop') }),
    edit_message: fc.record(
      {
        type: fc.constant('edit_message'),
        conversation_id: conversation,
        seq: fc.integer({ min: 1, max: 50 }),
        content: fc.string({ minLength: 1, maxLength: 200, unit: 'grapheme' }),
        request_id: id,
      },
      { requiredKeys: ['type', 'conversation_id', 'seq', 'content'] },
    ),
    delete_message: fc.record(
      { type: fc.constant('delete_message'), conversation_id: conversation, seq: fc.integer({ min: 1, max: 50 }), request_id: id },
      { requiredKeys: ['type', 'conversation_id', 'seq'] },
    ),
    react: fc.record(
      {
        type: fc.constant('react'),
        conversation_id: conversation,
        seq: fc.integer({ min: 1, max: 50 }),
        emoji: fc.constantFrom('👍', '❤️', '🎉', '👩‍👩‍👧', 'a', '👍👍'),
        op: fc.constantFrom('add', 'remove'),
        request_id: id,
      },
      { requiredKeys: ['type', 'conversation_id', 'seq', 'emoji', 'op'] },
    ),
    reauth: fc.record({ type: fc.constant('reauth'), token: fc.constant(OWN_TOKEN), request_id: id }, { requiredKeys: ['type', 'token'] }),
  };
  return fc.oneof(...Object.values(byType));
};

/** A valid frame with one thing wrong: a field dropped, a value of any type, an unknown field, a mangled type. */
export const nearValidFrame = (conversations: string[]) =>
  fc
    .tuple(validFrame(conversations), fc.nat(), fc.anything({ maxDepth: 3 }), fc.string({ maxLength: 30 }))
    .map(([frame, pick, value, name]) => {
      const keys = Object.keys(frame);
      const key = keys[pick % keys.length]!;
      const copy: Record<string, unknown> = { ...frame };
      switch (pick % 5) {
        case 0:
          delete copy[key];
          break;
        case 1:
          copy[key] = value;
          break;
        case 2:
          copy[name || 'extra'] = value;
          break;
        case 3:
          copy.type = `${String(frame.type).toUpperCase()}${name}`;
          break;
        default:
          copy[key] = typeof copy[key] === 'number' ? -1 - (copy[key] as number) * 1e10 : `${String(copy[key])}${name}\u0000`;
      }
      return copy;
    })
    // A well-formed token other than the socket's own is refused by closing the socket (the contract,
    // not a failure), so near-valid reauths keep their own token or one that is not token-shaped.
    .filter((frame) => frame.type !== 'reauth' || typeof frame.token !== 'string' || frame.token === OWN_TOKEN || !tokenShape.test(frame.token));

/** Bytes that are not a frame at all: random bytes (often not UTF-8), any JSON, truncated frames. */
export const garbageFrame = (conversations: string[]) =>
  fc.oneof(
    fc.uint8Array({ maxLength: 512 }).map((bytes): FuzzFrame => ({ data: bytes, binary: false, kind: 'garbage' })),
    fc.uint8Array({ maxLength: 64 }).map((bytes): FuzzFrame => ({ data: bytes, binary: true, kind: 'garbage' })),
    fc.string({ unit: 'binary', maxLength: 200 }).map((text): FuzzFrame => ({ data: text, binary: false, kind: 'garbage' })),
    fc.jsonValue({ maxDepth: 4 }).map((value): FuzzFrame => ({ data: JSON.stringify(value) ?? 'null', binary: false, kind: 'garbage' })),
    fc.tuple(validFrame(conversations), fc.nat()).map(([frame, cut]): FuzzFrame => {
      const text = JSON.stringify(frame);
      return { data: text.slice(0, cut % text.length), binary: false, kind: 'garbage' };
    }),
    fc.nat({ max: 20_000 }).map((depth): FuzzFrame => ({ data: '['.repeat(depth) + ']'.repeat(depth), binary: false, kind: 'garbage' })),
  );

/** The mix the fuzzer sends: a third valid, a third near-valid, a third garbage. */
export const fuzzFrame = (conversations: string[]): fc.Arbitrary<FuzzFrame> =>
  fc.oneof(
    validFrame(conversations).map((frame): FuzzFrame => ({ data: JSON.stringify(frame), binary: false, kind: 'valid' })),
    nearValidFrame(conversations).map((frame): FuzzFrame => ({ data: safeStringify(frame), binary: false, kind: 'near' })),
    garbageFrame(conversations),
  );

const safeStringify = (value: unknown): string => {
  try {
    return JSON.stringify(value, (_key, v) => (typeof v === 'bigint' ? v.toString() : v)) ?? 'null';
  } catch {
    return '{"type":"ping","unserializable":true}';
  }
};

/** The seed: FUZZ_SEED=… replays a run; otherwise a fresh one, printed by the caller. */
export const fuzzSeed = (): number => (process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31));

/** `count` frames from `seed`, deterministic for a given seed. */
export const sampleFrames = (seed: number, count: number, conversations: string[]): FuzzFrame[] =>
  fc.sample(fuzzFrame(conversations), { seed, numRuns: count });

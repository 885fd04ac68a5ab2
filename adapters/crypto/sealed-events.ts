import type { ContentCipher } from '../../ports/content-keys.ts';
import type { EventStore, NewEvent, RecordedEvent } from '../../ports/event-store.ts';

type Owner = { user_id: string; conversation_id: string; timestamp: number };
type Data = Record<string, unknown> & { content: string };

/** The events whose `content` is sealed, and whose key it is sealed with (the author's, for the month it was written). */
const ownerOf: Record<string, (data: Data) => Owner> = {
  MessageSent: (d) => ({ user_id: d.sender_id as string, conversation_id: d.conversation_id as string, timestamp: d.timestamp as number }),
  MessageEdited: (d) => ({ user_id: d.edited_by as string, conversation_id: d.conversation_id as string, timestamp: d.timestamp as number }),
};
const sealable = (event: { type: string; data: unknown }) => Object.hasOwn(ownerOf, event.type) && typeof (event.data as Data | null)?.content === 'string';

/**
 * Appends with message content sealed (crypto-shredding): the log, and Kafka after it, hold only
 * ciphertext. Seals run in call order per stream, so a pipelined writer's appends still reach the
 * store in the order it decided them.
 */
export const sealingEventStore = (store: EventStore, cipher: ContentCipher): EventStore => {
  const tails = new Map<string, Promise<unknown>>();
  const seal = async (event: NewEvent): Promise<NewEvent> => {
    if (!sealable(event)) return event;
    const data = event.data as Data;
    return { ...event, data: { ...data, content: await cipher.seal(ownerOf[event.type]!(data), data.content) } };
  };
  return {
    appendToStream: (stream, events, options) => {
      const sealed = (tails.get(stream) ?? Promise.resolve()).then(() => Promise.all(events.map(seal)));
      const tail = sealed.catch(() => undefined);
      tails.set(stream, tail);
      void tail.then(() => {
        if (tails.get(stream) === tail) tails.delete(stream);
      });
      return sealed.then((ready) => store.appendToStream(stream, ready, options));
    },
    readStream: (stream, options) => store.readStream(stream, options),
    readAll: (options) => store.readAll(options),
    subscribeToAll: (options) => store.subscribeToAll(options),
    headPosition: () => store.headPosition(),
    close: () => store.close(),
  };
};

/**
 * Opens the sealed content of a batch for projectors and reactors: `content` is the text again,
 * `sealed` keeps what the log holds (history stores it as it is). A destroyed key (an erased author)
 * gives `erased` and no text; a key that should be there and is not gives `unavailable`, and is
 * reported: never a silently empty message.
 */
export const openEvents = async <E extends { type: string; data: unknown }>(
  cipher: ContentCipher,
  events: E[],
  onMissing: (event: E) => void,
): Promise<E[]> => {
  if (!events.some(sealable)) return events;
  return Promise.all(
    events.map(async (event) => {
      if (!sealable(event)) return event;
      const data = event.data as Data;
      const opened = await cipher.open(data.content);
      if (opened.ok) return opened.text === data.content ? event : { ...event, data: { ...data, content: opened.text, sealed: data.content } };
      if (opened.reason === 'missing') onMissing(event);
      return { ...event, data: { ...data, content: '', sealed: data.content, ...(opened.reason === 'erased' ? { erased: true } : { unavailable: true }) } };
    }),
  );
};

/** The event store as projections read it: every batch opened (see openEvents). */
export const openingEventStore = (store: EventStore, cipher: ContentCipher, onMissing: (event: RecordedEvent) => void): EventStore => ({
  appendToStream: (stream, events, options) => store.appendToStream(stream, events, options),
  readStream: (stream, options) => store.readStream(stream, options),
  headPosition: () => store.headPosition(),
  close: () => store.close(),
  readAll: async (options) => openEvents(cipher, await store.readAll(options), onMissing),
  subscribeToAll: (options) => store.subscribeToAll({ ...options, onEvents: async (events) => options.onEvents(await openEvents(cipher, events, onMissing)) }),
});

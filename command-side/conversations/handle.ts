import { conversationStream, type ConversationEvent } from '../../contracts/events.ts';
import type { ConversationCommand } from '../../contracts/commands.ts';
import { WrongExpectedRevision, type EventStore } from '../../ports/event-store.ts';
import { NatterError } from '../../contracts/errors.ts';
import { decide, evolve, initialState, type Conversation } from './decider.ts';

type Writer = {
  state: Conversation;
  /** Revision of the last event decided (appended or in flight); -1 for a new stream. */
  revision: number;
  /** Settles with the outcome of the last append started by this writer. */
  tail: Promise<boolean>;
};

export type Handled = { events: ConversationEvent[]; state: Conversation; position: number };

// Two processes appending to one conversation race on its revision; each loser reloads and decides
// again. Jittered backoff spreads the retries so the writers stop colliding in lockstep.
const MAX_ATTEMPTS = 12;
const jitter = (attempt: number) => Math.random() * Math.min(100, 2 ** attempt);

/**
 * Load → decide → append with the expected revision. Each conversation has one in-memory writer
 * per process: commands are decided synchronously, in arrival order, against the state that
 * includes every append already in flight, so appends to one conversation pipeline into the same
 * group commit while keeping a single total order. When an append fails the writer is dropped and
 * the command is decided again on a fresh load (another process may have written the stream).
 */
export const createConversationHandler = (eventStore: EventStore, options: { cacheSize?: number; onConflict?(): void } = {}) => {
  const cacheSize = options.cacheSize ?? 10_000;
  const writers = new Map<string, Writer>();
  const loading = new Map<string, Promise<Writer>>();
  // After a conflict, a conversation's commands wait behind one shared pause and then resume in the
  // order they failed or arrived, so a device's messages keep their order across retries.
  const gates = new Map<string, Promise<void>>();
  const pause = (id: string, attempt: number): Promise<void> => {
    let gate = gates.get(id);
    if (!gate) {
      gate = new Promise<void>((resolve) => setTimeout(resolve, jitter(attempt))).then(() => { gates.delete(id); });
      gates.set(id, gate);
    }
    return gate;
  };

  const load = async (conversationId: string): Promise<Writer> => {
    const cached = writers.get(conversationId);
    if (cached) return cached;
    let pending = loading.get(conversationId);
    if (!pending) {
      pending = (async () => {
        const events = await eventStore.readStream(conversationStream(conversationId));
        const state = initialState();
        for (const e of events) evolve(state, e as unknown as ConversationEvent);
        const writer: Writer = { state, revision: events.length - 1, tail: Promise.resolve(true) };
        writers.set(conversationId, writer);
        if (writers.size > cacheSize) writers.delete(writers.keys().next().value!);
        return writer;
      })().finally(() => loading.delete(conversationId));
      loading.set(conversationId, pending);
    }
    return pending;
  };

  const handle = async (command: ConversationCommand): Promise<Handled> => {
    const id = command.conversation_id;
    for (let attempt = 1; ; attempt++) {
      const gate = gates.get(id);
      if (gate) await gate;
      const writer = await load(id);
      const events = decide(command, writer.state);
      if (events.length === 0) {
        // Nothing new (a retry, an idempotent create): answer once what it depends on is durable.
        if (await writer.tail) return { events, state: writer.state, position: 0 };
        continue;
      }
      const expectedRevision = writer.revision === -1 ? 'no_stream' as const : writer.revision;
      for (const event of events) evolve(writer.state, event);
      writer.revision += events.length;
      const append = eventStore.appendToStream(conversationStream(id), events, { expectedRevision });
      writer.tail = append.then(() => true, () => false);
      try {
        const { position } = await append;
        return { events, state: writer.state, position };
      } catch (error) {
        if (writers.get(id) === writer) writers.delete(id);
        if (!(error instanceof WrongExpectedRevision)) throw error;
        options.onConflict?.();
        if (attempt >= MAX_ATTEMPTS) throw new NatterError('version_conflict', `conversation ${id} is busy with concurrent writes; retry`);
        await pause(id, attempt);
      }
    }
  };

  return {
    handle,
    /** Forgets the cached state of a conversation (or of all): the next command reloads it from the stream. */
    forget: (conversationId?: string) => {
      if (conversationId === undefined) writers.clear();
      else writers.delete(conversationId);
    },
    /** The current (possibly in-flight) state, for checks that need membership and the last seq. */
    state: async (conversationId: string) => (await load(conversationId)).state,
  };
};
export type ConversationHandler = ReturnType<typeof createConversationHandler>;

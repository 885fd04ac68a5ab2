import { WrongExpectedRevision, type EventStore } from '../ports/event-store.ts';
import { NatterError } from '../contracts/errors.ts';

type Event = { type: string; data: unknown };

/** A decider over one kind of stream (emmett's shape), with what it needs to know besides its own state. */
export type StreamDecider<State, Command, E extends Event, Context> = {
  /** Which stream a command goes to (a conversation's, a user's). */
  idOf(command: Command): string;
  streamOf(id: string): string;
  initialState(): State;
  evolve(state: State, event: E): State;
  decide(command: Command, state: State, context: Context): E[];
};

type Writer<State> = {
  state: State;
  /** Revision of the last event decided (appended or in flight); -1 for a new stream. */
  revision: number;
  /** Settles with the outcome of the last append started by this writer. */
  tail: Promise<boolean>;
};

export type Handled<State, E, Snapshot = undefined> = {
  events: E[];
  /** The writer's state now: it may already hold commands decided after this one. */
  state: State;
  position: number;
  /** What `snapshot` took of the state right after this command's events, when it took anything. */
  snapshot?: Snapshot;
};

// Two processes appending to one stream race on its revision; each loser reloads and decides again.
// Jittered backoff spreads the retries so the writers stop colliding in lockstep.
const MAX_ATTEMPTS = 12;
const jitter = (attempt: number) => Math.random() * Math.min(100, 2 ** attempt);

/**
 * Load → decide → append with the expected revision. Each stream has one in-memory writer per
 * process: commands are decided synchronously, in arrival order, against the state that includes
 * every append already in flight, so appends to one stream pipeline into the same group commit while
 * keeping a single total order. When an append fails the writer is dropped and the command is
 * decided again on a fresh load (another process may have written the stream).
 */
export const createStreamHandler = <State, Command, E extends Event, Context = undefined, Snapshot = undefined>(
  eventStore: EventStore,
  decider: StreamDecider<State, Command, E, Context>,
  options: {
    cacheSize?: number;
    onConflict?(): void;
    context?(command: Command): Promise<Context>;
    /**
     * Copies what a caller needs of the state as of these events, before later commands are decided
     * on top of it (they pipeline into the same state while this append is in flight).
     */
    snapshot?(state: State, events: E[]): Snapshot | undefined;
  } = {},
) => {
  const cacheSize = options.cacheSize ?? 10_000;
  const writers = new Map<string, Writer<State>>();
  const loading = new Map<string, Promise<Writer<State>>>();
  // After a conflict, a stream's commands wait behind one shared pause and then resume in the order
  // they failed or arrived, so a device's commands keep their order across retries.
  const gates = new Map<string, Promise<void>>();
  const pause = (id: string, attempt: number): Promise<void> => {
    let gate = gates.get(id);
    if (!gate) {
      gate = new Promise<void>((resolve) => setTimeout(resolve, jitter(attempt))).then(() => {
        gates.delete(id);
      });
      gates.set(id, gate);
    }
    return gate;
  };

  const load = async (id: string): Promise<Writer<State>> => {
    const cached = writers.get(id);
    if (cached) return cached;
    let pending = loading.get(id);
    if (!pending) {
      pending = (async () => {
        const events = await eventStore.readStream(decider.streamOf(id));
        const state = decider.initialState();
        for (const e of events) decider.evolve(state, e as unknown as E);
        const writer: Writer<State> = { state, revision: events.length - 1, tail: Promise.resolve(true) };
        writers.set(id, writer);
        if (writers.size > cacheSize) writers.delete(writers.keys().next().value!);
        return writer;
      })().finally(() => loading.delete(id));
      loading.set(id, pending);
    }
    return pending;
  };

  const handle = async (command: Command): Promise<Handled<State, E, Snapshot>> => {
    const id = decider.idOf(command);
    for (let attempt = 1; ; attempt++) {
      const gate = gates.get(id);
      if (gate) await gate;
      const context = options.context ? await options.context(command) : (undefined as Context);
      const writer = await load(id);
      const events = decider.decide(command, writer.state, context);
      if (events.length === 0) {
        // Nothing new (a retry, an idempotent request): answer once what it depends on is durable.
        if (await writer.tail) return { events, state: writer.state, position: 0 };
        continue;
      }
      const expectedRevision = writer.revision === -1 ? ('no_stream' as const) : writer.revision;
      for (const event of events) decider.evolve(writer.state, event);
      const snapshot = options.snapshot?.(writer.state, events);
      writer.revision += events.length;
      const append = eventStore.appendToStream(decider.streamOf(id), events, { expectedRevision });
      writer.tail = append.then(
        () => true,
        () => false,
      );
      try {
        const { position } = await append;
        return { events, state: writer.state, position, ...(snapshot === undefined ? {} : { snapshot }) };
      } catch (error) {
        if (writers.get(id) === writer) writers.delete(id);
        if (!(error instanceof WrongExpectedRevision)) throw error;
        options.onConflict?.();
        if (attempt >= MAX_ATTEMPTS) throw new NatterError('version_conflict', `${decider.streamOf(id)} is busy with concurrent writes; retry`);
        await pause(id, attempt);
      }
    }
  };

  return {
    handle,
    /** Forgets the cached state of a stream (or of all): the next command reloads it from the log. */
    forget: (id?: string) => {
      if (id === undefined) writers.clear();
      else writers.delete(id);
    },
    /** The current (possibly in-flight) state, for checks that need it. */
    state: async (id: string) => (await load(id)).state,
  };
};

/**
 * The event store on EventStoreDB / KurrentDB.
 *
 * The design card names `@eventstore/db-client`; that package is no longer maintained, and
 * `@kurrent/kurrentdb-client` is its maintained successor (same gRPC protocol, same API shape,
 * renamed after EventStoreDB became KurrentDB). It talks to EventStoreDB 22.10+ and KurrentDB.
 *
 * Mapping of the port:
 * - streams: one KurrentDB stream per port stream (`<conversation-id>`, `receipts-<id>`), with the
 *   port's expected revisions mapped to `NO_STREAM`, `STREAM_EXISTS`, `ANY` and bigint revisions;
 *   the server's `WrongExpectedVersionError` becomes the port's `WrongExpectedRevision`.
 * - the global log: `$all`, read and subscribed with the `excludeSystemEvents()` filter, so system
 *   events (`$`-prefixed types: stream metadata, projections' links, statistics) never reach the
 *   projectors.
 * - positions: a `$all` position is `{ commit, prepare }`. The port's `position` is the commit
 *   position. That is safe because (1) a commit position is a byte offset in the transaction log,
 *   far below 2^53, so a JS number holds it exactly; (2) `$all` is ordered by commit position, and
 *   every event written without an explicit transaction has a commit position of its own (equal to
 *   its prepare position), so commit positions are unique and strictly increasing along `$all`.
 *   Only explicit transactions, a legacy TCP-API feature that the gRPC API and this adapter never
 *   use, give several events one commit position; KurrentDB restored and tests the "events strictly
 *   advance the commit position" guarantee in 24.10.x/25.0 (kurrent-io/KurrentDB#4975).
 *   Resuming from a commit position N uses `{ commit: N, prepare: N }`, the position of the event
 *   that carried N, and drops that event itself when the server includes it (reads from a position
 *   are inclusive).
 *
 * Pipelined appends: a per-stream queue sends one stream's appends one after the other, in call
 * order (different streams run concurrently). When one fails, those queued behind it with a
 * numeric or `no_stream` expectation fail without being sent, as the port requires.
 */
import {
  ANY,
  BACKWARDS,
  END,
  ErrorType,
  FORWARDS,
  KurrentDBClient,
  NO_STREAM,
  START,
  STREAM_EXISTS,
  excludeSystemEvents,
  jsonEvent,
  type AllStreamResolvedEvent,
  type AllStreamSubscription,
  type AppendStreamState,
  type JSONType,
  type Position,
  type ResolvedEvent,
} from '@kurrent/kurrentdb-client';
import {
  WrongExpectedRevision,
  type AllSubscription,
  type AppendResult,
  type EventStore,
  type ExpectedRevision,
  type NewEvent,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  type SubscribeToAllOptions,
} from '../../ports/event-store.ts';

export type EventStoreDbEventStoreOptions = {
  /** e.g. `esdb://127.0.0.1:2113?tls=false` (also `kurrentdb://…`). */
  connectionString: string;
};

type PendingAppend = {
  events: NewEvent[];
  expected: ExpectedRevision;
  resolve(result: AppendResult): void;
  reject(error: unknown): void;
};

const toStreamState = (expected: ExpectedRevision): AppendStreamState => {
  if (expected === 'any') return ANY;
  if (expected === 'no_stream') return NO_STREAM;
  if (expected === 'stream_exists') return STREAM_EXISTS;
  return BigInt(expected);
};

const strict = (expected: ExpectedRevision): boolean => typeof expected === 'number' || expected === 'no_stream';

const errorType = (error: unknown): unknown => (error as { type?: unknown } | null)?.type;

/** `$all` position of a commit position; 0 is the start of the log. */
const positionOf = (commit: number): Position | typeof START => (commit <= 0 ? START : { commit: BigInt(commit), prepare: BigInt(commit) });

type StoredEvent = NonNullable<ResolvedEvent['event']>;

const toRecorded = (event: StoredEvent, commitPosition?: bigint): RecordedEvent => {
  const metadata = event.metadata;
  return {
    stream: event.streamId,
    revision: Number(event.revision),
    position: Number(event.position?.commit ?? commitPosition ?? -1),
    type: event.type,
    data: event.isJson ? event.data : Buffer.from(event.data as Uint8Array).toString('base64'),
    recordedAt: event.created.getTime(),
    ...(metadata && !(metadata instanceof Uint8Array) && typeof metadata === 'object' && !Array.isArray(metadata)
      ? { metadata: metadata as Record<string, unknown> }
      : {}),
  };
};

const resolvedToRecorded = (resolved: ResolvedEvent | AllStreamResolvedEvent): RecordedEvent | null =>
  resolved.event ? toRecorded(resolved.event as StoredEvent, resolved.commitPosition) : null;

export class EventStoreDbEventStore implements EventStore {
  private readonly client: KurrentDBClient;
  private readonly queues = new Map<string, PendingAppend[]>();
  private readonly subscriptions = new Set<AllSubscription>();
  private readonly inFlight = new Set<Promise<void>>();
  private closed = false;

  constructor(options: EventStoreDbEventStoreOptions) {
    this.client = KurrentDBClient.connectionString(options.connectionString);
  }

  // ------------------------------------------------------------------ appends

  appendToStream(stream: string, events: NewEvent[], options: { expectedRevision?: ExpectedRevision } = {}): Promise<AppendResult> {
    if (this.closed) return Promise.reject(new Error('event store is closed'));
    if (events.length === 0) return Promise.reject(new Error('append of zero events'));
    return new Promise((resolve, reject) => {
      const pending: PendingAppend = { events, expected: options.expectedRevision ?? 'any', resolve, reject };
      const queue = this.queues.get(stream);
      if (queue) {
        queue.push(pending);
        return;
      }
      this.queues.set(stream, [pending]);
      const drain = this.drain(stream).finally(() => this.inFlight.delete(drain));
      this.inFlight.add(drain);
    });
  }

  /** Sends one stream's appends one at a time, in call order, until its queue is empty. */
  private async drain(stream: string): Promise<void> {
    const queue = this.queues.get(stream)!;
    while (queue.length > 0) {
      const append = queue[0]!;
      try {
        append.resolve(await this.send(stream, append));
        queue.shift();
      } catch (error) {
        queue.shift();
        append.reject(error);
        // Everything still queued was called before this failure was reported.
        const actual = error instanceof WrongExpectedRevision ? error.actual : 'no_stream';
        for (let i = 0; i < queue.length; ) {
          const behind = queue[i]!;
          if (strict(behind.expected)) {
            queue.splice(i, 1);
            behind.reject(new WrongExpectedRevision(stream, behind.expected, actual));
          } else {
            i++;
          }
        }
      }
    }
    this.queues.delete(stream);
  }

  private async send(stream: string, { events, expected }: PendingAppend): Promise<AppendResult> {
    let result: Awaited<ReturnType<typeof this.client.appendToStream>>;
    try {
      result = await this.client.appendToStream(
        stream,
        events.map((e) => jsonEvent({ type: e.type, data: (e.data ?? null) as JSONType, ...(e.metadata ? { metadata: e.metadata } : {}) })),
        { streamState: toStreamState(expected) },
      );
    } catch (error) {
      if (errorType(error) === ErrorType.WRONG_EXPECTED_VERSION) {
        const actual = (error as { actualState?: unknown }).actualState;
        throw new WrongExpectedRevision(stream, expected, typeof actual === 'bigint' ? Number(actual) : 'no_stream');
      }
      // `stream_exists` on a missing stream is reported by some server versions as "not found".
      if (expected === 'stream_exists' && errorType(error) === ErrorType.STREAM_NOT_FOUND) {
        throw new WrongExpectedRevision(stream, expected, 'no_stream');
      }
      throw error;
    }
    // A client built with `throwOnAppendFailure=false` reports a conflict in the result.
    if (!result.success) {
      const current = result.nextExpectedRevision;
      throw new WrongExpectedRevision(stream, expected, current < 0n ? 'no_stream' : Number(current));
    }
    const nextRevision = Number(result.nextExpectedRevision);
    // The append's reported position identifies the write; for one event it is that event's
    // position. For several (or an old server that reports none), the port wants the last
    // event's `$all` position, so it is read back.
    if (events.length === 1 && result.position) return { nextRevision, position: Number(result.position.commit) };
    const [last] = await this.readStream(stream, { direction: 'backwards', fromRevision: nextRevision, maxCount: 1 });
    return { nextRevision, position: last?.position ?? (result.position ? Number(result.position.commit) : -1) };
  }

  // ------------------------------------------------------------------ reads

  async readStream(stream: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    if (options.maxCount !== undefined && options.maxCount <= 0) return [];
    const backwards = options.direction === 'backwards';
    const out: RecordedEvent[] = [];
    try {
      for await (const resolved of this.client.readStream(stream, {
        direction: backwards ? BACKWARDS : FORWARDS,
        fromRevision: options.fromRevision === undefined ? (backwards ? END : START) : BigInt(options.fromRevision),
        ...(options.maxCount !== undefined ? { maxCount: options.maxCount } : {}),
      })) {
        const event = resolvedToRecorded(resolved);
        if (event) out.push(event);
      }
    } catch (error) {
      if (errorType(error) === ErrorType.STREAM_NOT_FOUND) return [];
      throw error;
    }
    return out;
  }

  async readAll({ after, maxCount }: ReadAllOptions): Promise<RecordedEvent[]> {
    if (maxCount <= 0) return [];
    const out: RecordedEvent[] = [];
    // One more than asked: a read from a position includes the event at that position.
    for await (const resolved of this.client.readAll({
      fromPosition: positionOf(after),
      maxCount: maxCount + 1,
      direction: FORWARDS,
      filter: excludeSystemEvents(),
    })) {
      const event = resolvedToRecorded(resolved);
      if (event && event.position > after) out.push(event);
      if (out.length === maxCount) break;
    }
    return out;
  }

  async headPosition(): Promise<number> {
    for await (const resolved of this.client.readAll({ fromPosition: END, direction: BACKWARDS, maxCount: 1, filter: excludeSystemEvents() })) {
      const event = resolvedToRecorded(resolved);
      if (event) return event.position;
    }
    return 0;
  }

  // ------------------------------------------------------------------ live feed

  /**
   * A catch-up subscription to `$all` (the server replays from the position, then switches to
   * live by itself). Events are buffered as they arrive and handed over in batches of at most
   * `maxBatch`, each after the previous `onEvents` settled; the buffer pauses the gRPC stream when
   * it is full. A dropped subscription (e.g. the server restarted) is re-opened from the last
   * delivered position, so nothing is skipped or delivered twice, for as long as the server stays
   * away; only a refusal (access denied) ends it with `onError`.
   */
  subscribeToAll({ after, maxBatch = 1000, onEvents, onError }: SubscribeToAllOptions): AllSubscription {
    let stopped = false;
    let delivered = after;
    let received = after;
    let buffer: RecordedEvent[] = [];
    let failure: unknown = null;
    let wake: (() => void) | null = null;
    let source = null as AllStreamSubscription | null;
    const signal = () => {
      const resume = wake;
      wake = null;
      resume?.();
    };

    const open = () => {
      const subscription = this.client.subscribeToAll({ fromPosition: positionOf(received), filter: excludeSystemEvents() });
      source = subscription;
      subscription.on('data', (resolved: AllStreamResolvedEvent) => {
        const event = resolvedToRecorded(resolved);
        if (!event || event.position <= received) return; // the resume position itself, or a system event
        received = event.position;
        buffer.push(event);
        if (buffer.length >= maxBatch * 4) subscription.pause();
        signal();
      });
      subscription.on('error', (error: Error) => {
        if (source === subscription) {
          failure = error;
          signal();
        }
      });
      subscription.on('end', () => {
        if (source === subscription && !stopped) {
          failure ??= new Error('subscription ended');
          signal();
        }
      });
    };

    const loop = (async () => {
      let failures = 0;
      open();
      while (!stopped && !this.closed) {
        if (buffer.length > 0) {
          const batch = buffer.slice(0, maxBatch);
          buffer = buffer.slice(batch.length);
          if (buffer.length < maxBatch) source?.resume();
          await onEvents(batch);
          delivered = batch[batch.length - 1]!.position;
          failures = 0;
          continue;
        }
        if (failure) {
          const error = failure;
          failure = null;
          const dropped = source;
          source = null;
          await dropped?.unsubscribe().catch(() => undefined);
          if (stopped || this.closed) break;
          if (errorType(error) === ErrorType.ACCESS_DENIED) throw error;
          await new Promise<void>((resolve) => {
            // stop() cuts the back-off short
            const timer = setTimeout(
              () => {
                wake = null;
                resolve();
              },
              Math.min(2_000, 100 * 2 ** Math.min(++failures, 10)),
            );
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          if (stopped || this.closed) break;
          received = delivered;
          buffer = [];
          open();
          continue;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    })()
      .catch((error) => (onError ? onError(error) : console.error('subscription failed', error)))
      .finally(async () => {
        const current = source;
        source = null;
        await current?.unsubscribe().catch(() => undefined);
      });

    const handle: AllSubscription = {
      stop: async () => {
        stopped = true;
        this.subscriptions.delete(handle);
        signal();
        await loop;
      },
    };
    this.subscriptions.add(handle);
    return handle;
  }

  /** Lets queued appends finish, stops the subscriptions, then closes the gRPC connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    await Promise.all([...this.subscriptions].map((subscription) => subscription.stop()));
    await this.client.dispose();
  }
}

export const createEventStoreDbEventStore = async (options: EventStoreDbEventStoreOptions): Promise<EventStore> => new EventStoreDbEventStore(options);

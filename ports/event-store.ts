/**
 * The event store: per-stream optimistic concurrency plus one global order (`position`) that
 * projectors read and subscribe to. Every adapter (SQLite, PostgreSQL, EventStoreDB) passes
 * test/contract/event-store.contract.ts.
 */

export type NewEvent = { type: string; data: unknown; metadata?: Record<string, unknown> };

export type RecordedEvent<E extends { type: string; data: unknown } = { type: string; data: unknown }> = E & {
  stream: string;
  /** 0-based index of the event in its stream. */
  revision: number;
  /** Position in the global log: increasing, not necessarily contiguous. */
  position: number;
  metadata?: Record<string, unknown>;
  recordedAt: number;
};

/**
 * `no_stream`: the stream must not exist; a number: the revision of the stream's last event;
 * `stream_exists`: any revision; `any`: no check.
 */
export type ExpectedRevision = number | 'no_stream' | 'stream_exists' | 'any';

export type AppendResult = { nextRevision: number; position: number };

export type ReadStreamOptions = {
  direction?: 'forwards' | 'backwards';
  /** Inclusive. Defaults to the first (forwards) or last (backwards) event. */
  fromRevision?: number;
  maxCount?: number;
};

export type ReadAllOptions = { after: number; maxCount: number };

export type AllSubscription = { stop(): Promise<void> };

export type SubscribeToAllOptions = {
  /** Events with a position greater than this are delivered; 0 means from the beginning. */
  after: number;
  maxBatch?: number;
  /** Called with consecutive batches in position order; the next batch waits for the promise. */
  onEvents(events: RecordedEvent[]): Promise<void> | void;
  onError?(error: unknown): void;
};

export interface EventStore {
  /**
   * Appends atomically, checking `expectedRevision` (default `any`). Appends to one stream are
   * applied in the order they were called; when one fails, the appends to that stream called
   * before its failure was reported, with a numeric or `no_stream` expectation, fail too, because a
   * caller that pipelines appends decided them on top of the failed one.
   */
  appendToStream(stream: string, events: NewEvent[], options?: { expectedRevision?: ExpectedRevision }): Promise<AppendResult>;
  /** Returns [] for a stream that does not exist. */
  readStream(stream: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  readAll(options: ReadAllOptions): Promise<RecordedEvent[]>;
  /**
   * Catch-up from `after`, then live, without gaps or reordering. A store that cannot be reached is
   * read again until it answers, however long that takes; `onError` hears of other failures.
   */
  subscribeToAll(options: SubscribeToAllOptions): AllSubscription;
  /** Position of the last committed event (0 when empty). */
  headPosition(): Promise<number>;
  close(): Promise<void>;
}

export class WrongExpectedRevision extends Error {
  constructor(
    readonly stream: string,
    readonly expected: ExpectedRevision,
    readonly actual: number | 'no_stream',
  ) {
    super(`stream ${stream}: expected revision ${String(expected)}, actual ${String(actual)}`);
    this.name = 'WrongExpectedRevision';
  }
}

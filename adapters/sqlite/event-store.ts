import type { SqliteDatabase } from './database.ts';
import { openDatabase } from './database.ts';
import {
  WrongExpectedRevision, type AllSubscription, type AppendResult, type EventStore, type ExpectedRevision,
  type NewEvent, type ReadAllOptions, type ReadStreamOptions, type RecordedEvent, type SubscribeToAllOptions,
} from '../../ports/event-store.ts';

type Row = { position: number; stream: string; revision: number; type: string; data: string; metadata: string | null; recorded_at: number };
type PendingAppend = {
  stream: string; events: NewEvent[]; expected: ExpectedRevision;
  resolve(result: AppendResult): void; reject(error: unknown): void;
};

const schema = `
CREATE TABLE IF NOT EXISTS events (
  position    INTEGER PRIMARY KEY,
  stream      TEXT    NOT NULL,
  revision    INTEGER NOT NULL,
  type        TEXT    NOT NULL,
  data        TEXT    NOT NULL,
  metadata    TEXT,
  recorded_at INTEGER NOT NULL,
  UNIQUE (stream, revision)
);`;

const toRecorded = (row: Row): RecordedEvent => ({
  position: row.position, stream: row.stream, revision: row.revision, type: row.type,
  data: JSON.parse(row.data), recordedAt: row.recorded_at,
  ...(row.metadata ? { metadata: JSON.parse(row.metadata) } : {}),
});

const matches = (expected: ExpectedRevision, actual: number): boolean => {
  if (expected === 'any') return true;
  if (expected === 'no_stream') return actual === -1;
  if (expected === 'stream_exists') return actual >= 0;
  return expected === actual;
};

export type SqliteEventStoreOptions = { path: string; synchronous?: 'FULL' | 'NORMAL' };

/**
 * Appends from many callers are queued and committed together in one transaction per event-loop
 * turn (group commit): one fsync covers every append of the batch, and nothing is acknowledged
 * before its commit returns. Positions are SQLite rowids assigned inside the single writer's
 * transaction, so they are committed in order and a subscriber reading "after N" never skips one.
 */
export class SqliteEventStore implements EventStore {
  private readonly db: SqliteDatabase;
  private pending: PendingAppend[] = [];
  private flushScheduled = false;
  private readonly listeners = new Set<() => void>();
  /** The most recent commits, so that live subscribers need not read back what was just written. */
  private tail: RecordedEvent[] = [];
  private static readonly TAIL = 20_000;
  private commitTime = 0;
  private readonly stmt;
  private readonly commitBatch;
  private closed = false;

  constructor(options: SqliteEventStoreOptions) {
    this.db = openDatabase(options.path, options.synchronous ?? 'FULL');
    this.db.exec(schema);
    this.stmt = {
      head: this.db.prepare<[string], { r: number | null }>('SELECT MAX(revision) AS r FROM events WHERE stream = ?'),
      insert: this.db.prepare('INSERT INTO events (stream, revision, type, data, metadata, recorded_at) VALUES (?, ?, ?, ?, ?, ?)'),
      forwards: this.db.prepare<[string, number, number], Row>('SELECT * FROM events WHERE stream = ? AND revision >= ? ORDER BY revision ASC LIMIT ?'),
      backwards: this.db.prepare<[string, number, number], Row>('SELECT * FROM events WHERE stream = ? AND revision <= ? ORDER BY revision DESC LIMIT ?'),
      all: this.db.prepare<[number, number], Row>('SELECT * FROM events WHERE position > ? ORDER BY position ASC LIMIT ?'),
      lastPosition: this.db.prepare<[], { p: number | null }>('SELECT MAX(position) AS p FROM events'),
    };
    this.commitBatch = this.db.transaction((batch: PendingAppend[]) => this.writeBatch(batch)).immediate;
  }

  appendToStream(stream: string, events: NewEvent[], options: { expectedRevision?: ExpectedRevision } = {}): Promise<AppendResult> {
    if (this.closed) return Promise.reject(new Error('event store is closed'));
    if (events.length === 0) return Promise.reject(new Error('append of zero events'));
    return new Promise((resolve, reject) => {
      this.pending.push({ stream, events, expected: options.expectedRevision ?? 'any', resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    let outcomes: Array<AppendResult | Error>;
    try {
      outcomes = this.commitBatch(batch);
    } catch (error) {
      for (const append of batch) append.reject(error);
      return;
    }
    const now = this.commitTime;
    batch.forEach((append, i) => {
      const outcome = outcomes[i]!;
      if (outcome instanceof Error) { append.reject(outcome); return; }
      append.resolve(outcome);
      const first = outcome.position - append.events.length + 1;
      const firstRevision = outcome.nextRevision - append.events.length + 1;
      append.events.forEach((event, k) => this.tail.push({
        position: first + k, stream: append.stream, revision: firstRevision + k, type: event.type, data: event.data,
        recordedAt: now, ...(event.metadata ? { metadata: event.metadata } : {}),
      }));
    });
    if (this.tail.length > 2 * SqliteEventStore.TAIL) this.tail = this.tail.slice(-SqliteEventStore.TAIL);
    for (const wake of this.listeners) wake();
  }

  /**
   * Runs inside the transaction; a wrong revision fails that append only, not the batch. Appends
   * pipelined behind a failed one on the same stream fail too: they were decided on top of it.
   */
  private writeBatch(batch: PendingAppend[]): Array<AppendResult | Error> {
    const heads = new Map<string, number>();
    const failed = new Set<string>();
    const now = this.commitTime = Date.now();
    return batch.map(({ stream, events, expected }) => {
      const actual = heads.get(stream) ?? this.stmt.head.get(stream)?.r ?? -1;
      const pipelinedOnFailure = failed.has(stream) && (typeof expected === 'number' || expected === 'no_stream');
      if (pipelinedOnFailure || !matches(expected, actual)) {
        failed.add(stream);
        return new WrongExpectedRevision(stream, expected, actual === -1 ? 'no_stream' : actual);
      }
      let revision = actual;
      let position = 0;
      for (const event of events) {
        revision += 1;
        const metadata = event.metadata ? JSON.stringify(event.metadata) : null;
        position = Number(this.stmt.insert.run(stream, revision, event.type, JSON.stringify(event.data), metadata, now).lastInsertRowid);
      }
      heads.set(stream, revision);
      return { nextRevision: revision, position };
    });
  }

  async readStream(stream: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    const max = options.maxCount ?? Number.MAX_SAFE_INTEGER;
    const rows = options.direction === 'backwards'
      ? this.stmt.backwards.all(stream, options.fromRevision ?? Number.MAX_SAFE_INTEGER, max)
      : this.stmt.forwards.all(stream, options.fromRevision ?? 0, max);
    return rows.map(toRecorded);
  }

  async readAll(options: ReadAllOptions): Promise<RecordedEvent[]> {
    return this.readAfter(options.after, options.maxCount);
  }

  /** From the tail of recent commits when it holds the next position (rowids are gapless), else from the table. */
  private readAfter(after: number, maxCount: number): RecordedEvent[] {
    const tail = this.tail;
    if (tail.length > 0 && tail[0]!.position <= after + 1 && tail[tail.length - 1]!.position > after) {
      let lo = 0;
      let hi = tail.length;
      while (lo < hi) { const mid = (lo + hi) >> 1; if (tail[mid]!.position <= after) lo = mid + 1; else hi = mid; }
      if (tail[lo]!.position === after + 1) return tail.slice(lo, lo + maxCount);
    }
    return this.stmt.all.all(after, maxCount).map(toRecorded);
  }

  async headPosition(): Promise<number> {
    return this.stmt.lastPosition.get()?.p ?? 0;
  }

  /**
   * Always reads from the table; a commit only wakes the loop. So catch-up and live are the same
   * code path and a batch can never be skipped or delivered twice.
   */
  subscribeToAll({ after, maxBatch = 1000, onEvents, onError }: SubscribeToAllOptions): AllSubscription {
    let stopped = false;
    let wake: (() => void) | null = null;
    const listener = () => { const resume = wake; wake = null; resume?.(); };
    this.listeners.add(listener);
    const loop = (async () => {
      let position = after;
      while (!stopped && !this.closed) {
        const batch = this.readAfter(position, maxBatch);
        if (batch.length === 0) {
          await new Promise<void>((resolve) => { wake = resolve; });
          continue;
        }
        await onEvents(batch);
        position = batch[batch.length - 1]!.position;
      }
    })().catch((error) => (onError ? onError(error) : console.error('subscription failed', error)));
    return {
      stop: async () => {
        stopped = true;
        this.listeners.delete(listener);
        listener();
        await loop;
      },
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    for (const wake of this.listeners) wake();
    this.listeners.clear();
    this.db.close();
  }
}

export const createSqliteEventStore = (options: SqliteEventStoreOptions): EventStore => new SqliteEventStore(options);

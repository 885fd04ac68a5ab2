import { Worker } from 'node:worker_threads';
import type { SqliteDatabase, Synchronous } from './database.ts';
import { connectionPragmas, openDatabase } from './database.ts';
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

type Row = [position: number, stream: string, revision: number, type: string, data: string, metadata: string | null, recordedAt: number];
type PendingAppend = {
  stream: string;
  events: NewEvent[];
  expected: ExpectedRevision;
  resolve(result: AppendResult): void;
  reject(error: unknown): void;
};
/** What the writer thread answers for a batch (see event-writer.worker.js). */
type Committed = { now: number; positions: number[]; revisions: number[] } | { error: string; code?: string };

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

// Rows come as arrays (better-sqlite3's raw mode): a catch-up or a rebuild reads millions of them.
const columns = 'position, stream, revision, type, data, metadata, recorded_at';
const toRecorded = ([position, stream, revision, type, data, metadata, recordedAt]: Row): RecordedEvent => {
  const event: RecordedEvent = { position, stream, revision, type, data: JSON.parse(data), recordedAt };
  if (metadata) event.metadata = JSON.parse(metadata);
  return event;
};

const pipelines = (expected: ExpectedRevision) => typeof expected === 'number' || expected === 'no_stream';

/** The columns of a batch for the writer thread: flat arrays of strings clone much faster than objects. */
const encode = (batch: PendingAppend[]) => {
  const streams: string[] = [];
  const expected: ExpectedRevision[] = [];
  const counts: number[] = [];
  const types: string[] = [];
  const data: string[] = [];
  const metadata: Array<string | null> = [];
  for (const append of batch) {
    streams.push(append.stream);
    expected.push(append.expected);
    counts.push(append.events.length);
    for (const event of append.events) {
      types.push(event.type);
      data.push(JSON.stringify(event.data));
      metadata.push(event.metadata ? JSON.stringify(event.metadata) : null);
    }
  }
  return { streams, expected, counts, types, data, metadata };
};

export type SqliteEventStoreOptions = { path: string; synchronous?: Synchronous };

/**
 * Appends from many callers are queued and committed together in one transaction (group commit):
 * one fsync covers every append of the batch, and nothing is acknowledged before its commit
 * returns. The commit runs on a writer thread with its own connection, so the event loop goes on
 * parsing frames and fanning out while the disk syncs; the appends that arrive meanwhile make the
 * next batch. Positions are SQLite rowids assigned inside the single writer's transaction, so they
 * are committed in order and a subscriber reading "after N" never skips one. Reads use this
 * thread's connection and see what is committed.
 */
export class SqliteEventStore implements EventStore {
  private readonly db: SqliteDatabase;
  private readonly options: Required<SqliteEventStoreOptions>;
  private writer: Worker | null = null;
  /** Set when the writer thread died: every later append fails with it. */
  private broken: Error | null = null;
  private readonly failureListeners: Array<(error: Error) => void> = [];
  private pending: PendingAppend[] = [];
  private inFlight: PendingAppend[] | null = null;
  private flushScheduled = false;
  private idle: Array<() => void> = [];
  private readonly listeners = new Set<() => void>();
  /** The most recent commits, so that live subscribers need not read back what was just written. */
  private tail: RecordedEvent[] = [];
  private static readonly TAIL = 20_000;
  private readonly stmt;
  private closed = false;

  constructor(options: SqliteEventStoreOptions) {
    this.options = { synchronous: 'FULL', ...options };
    this.db = openDatabase(options.path, this.options.synchronous);
    this.db.exec(schema);
    this.stmt = {
      forwards: this.db
        .prepare<[string, number, number], Row>(`SELECT ${columns} FROM events WHERE stream = ? AND revision >= ? ORDER BY revision ASC LIMIT ?`)
        .raw(),
      backwards: this.db
        .prepare<[string, number, number], Row>(`SELECT ${columns} FROM events WHERE stream = ? AND revision <= ? ORDER BY revision DESC LIMIT ?`)
        .raw(),
      all: this.db.prepare<[number, number], Row>(`SELECT ${columns} FROM events WHERE position > ? ORDER BY position ASC LIMIT ?`).raw(),
      lastPosition: this.db.prepare<[], { p: number | null }>('SELECT MAX(position) AS p FROM events'),
    };
  }

  appendToStream(stream: string, events: NewEvent[], options: { expectedRevision?: ExpectedRevision } = {}): Promise<AppendResult> {
    if (this.closed) return Promise.reject(new Error('event store is closed'));
    if (this.broken) return Promise.reject(this.broken);
    if (events.length === 0) return Promise.reject(new Error('append of zero events'));
    return new Promise((resolve, reject) => {
      this.pending.push({ stream, events, expected: options.expectedRevision ?? 'any', resolve, reject });
      this.scheduleFlush();
    });
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.inFlight) return;
    this.flushScheduled = true;
    // After the current turn's I/O callbacks, so that every frame read in this turn joins the batch.
    setImmediate(() => this.flush());
  }

  private startWriter(): Worker {
    const writer = new Worker(new URL('./event-writer.worker.js', import.meta.url), {
      workerData: { path: this.options.path, pragmas: connectionPragmas(this.options.synchronous) },
      // Plain JavaScript needs none of this process's flags (a TypeScript loader, --input-type, …).
      execArgv: [],
    });
    writer.on('message', (committed: Committed) => this.committed(committed));
    writer.on('error', (error) => this.fail(error));
    writer.on('exit', (code) => {
      if (!this.closed) this.fail(new Error(`event-store writer thread exited with code ${code}`));
    });
    return writer;
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.inFlight || this.pending.length === 0 || this.broken) return;
    const batch = this.pending;
    this.pending = [];
    this.inFlight = batch;
    try {
      this.writer ??= this.startWriter();
      // Referenced only while a commit is in flight: an idle store must not keep the process alive.
      this.writer.ref();
      this.writer.postMessage(encode(batch));
    } catch (error) {
      this.fail(error instanceof Error ? error : new Error(String(error)));
    }
  }

  private committed(committed: Committed): void {
    const batch = this.inFlight;
    this.inFlight = null;
    this.writer?.unref();
    if (!batch) return;
    if ('error' in committed) {
      const error = Object.assign(new Error(committed.error), committed.code ? { code: committed.code } : {});
      for (const append of batch) append.reject(error);
      this.failPipelined(new Map(batch.map((append) => [append.stream, () => error])));
    } else {
      this.settle(batch, committed);
    }
    for (const wake of this.listeners) wake();
    if (this.pending.length > 0) this.scheduleFlush();
    else for (const resolve of this.idle.splice(0)) resolve();
  }

  private settle(batch: PendingAppend[], { now, positions, revisions }: Extract<Committed, { now: number }>): void {
    const failed = new Map<string, (append: PendingAppend) => Error>();
    batch.forEach((append, i) => {
      const position = positions[i]!;
      if (position === -1) {
        const actual = revisions[i]! === -1 ? ('no_stream' as const) : revisions[i]!;
        const wrong = (a: PendingAppend) => new WrongExpectedRevision(a.stream, a.expected, actual);
        failed.set(append.stream, wrong);
        append.reject(wrong(append));
        return;
      }
      const nextRevision = revisions[i]!;
      append.resolve({ nextRevision, position });
      const first = position - append.events.length + 1;
      const firstRevision = nextRevision - append.events.length + 1;
      append.events.forEach((event, k) =>
        this.tail.push({
          position: first + k,
          stream: append.stream,
          revision: firstRevision + k,
          type: event.type,
          data: event.data,
          recordedAt: now,
          ...(event.metadata ? { metadata: event.metadata } : {}),
        }),
      );
    });
    if (this.tail.length > 2 * SqliteEventStore.TAIL) this.tail = this.tail.slice(-SqliteEventStore.TAIL);
    this.failPipelined(failed);
  }

  /**
   * Appends queued while a batch was committing were decided on top of it: behind a failure on their
   * stream they fail too, even when their expected revision happens to match.
   */
  private failPipelined(failed: Map<string, (append: PendingAppend) => Error>): void {
    if (failed.size === 0) return;
    this.pending = this.pending.filter((append) => {
      const error = failed.get(append.stream);
      if (!error || !pipelines(append.expected)) return true;
      append.reject(error(append));
      return false;
    });
  }

  /**
   * Called once if the writer thread dies: nothing can be appended any more (the log stays as it
   * was committed). The process should say so (/readyz) and exit, so that its supervisor restarts it.
   */
  onFailure(listener: (error: Error) => void): void {
    if (this.broken) listener(this.broken);
    else this.failureListeners.push(listener);
  }

  private fail(error: Error): void {
    const first = !this.broken;
    this.broken ??= error;
    if (first) for (const listener of this.failureListeners.splice(0)) listener(error);
    const lost = [...(this.inFlight ?? []), ...this.pending];
    this.inFlight = null;
    this.pending = [];
    for (const append of lost) append.reject(error);
    for (const resolve of this.idle.splice(0)) resolve();
  }

  async readStream(stream: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    const max = options.maxCount ?? Number.MAX_SAFE_INTEGER;
    const rows =
      options.direction === 'backwards'
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
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (tail[mid]!.position <= after) lo = mid + 1;
        else hi = mid;
      }
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
    const listener = () => {
      const resume = wake;
      wake = null;
      resume?.();
    };
    this.listeners.add(listener);
    const loop = (async () => {
      let position = after;
      while (!stopped && !this.closed) {
        const batch = this.readAfter(position, maxBatch);
        if (batch.length === 0) {
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
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

  /** Commits what was appended before the call, then stops the writer thread. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.flush();
    if (this.inFlight || this.pending.length > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
    const writer = this.writer;
    if (writer && !this.broken) {
      const exited = new Promise((resolve) => writer.once('exit', resolve));
      writer.ref();
      writer.postMessage('close');
      await exited;
    }
    for (const wake of this.listeners) wake();
    this.listeners.clear();
    this.db.close();
  }
}

export const createSqliteEventStore = (options: SqliteEventStoreOptions): EventStore & Pick<SqliteEventStore, 'onFailure'> => new SqliteEventStore(options);

import pg from 'pg';
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
import { LOCK_NAMESPACE, appendLockKey, checkout, ident, migrate, notifyChannel } from './schema.ts';
import { reportedAs } from './unreachable.ts';

export { migrate } from './schema.ts';

export type PostgresEventStoreOptions = {
  connectionString: string;
  /** Schema holding the `events` table; created if missing. Default `public`. */
  schema?: string;
  /** Connections for reads and subscriptions (appends use one of them at a time). Default 10. */
  poolSize?: number;
  /** Most appends committed in one transaction. Default 1000. */
  maxBatch?: number;
  /** Fallback poll of idle subscriptions, in case a notification is lost. Default 1500 ms. */
  pollIntervalMs?: number;
};

type Row = {
  position: string;
  stream: string;
  revision: number;
  type: string;
  data: unknown;
  metadata: Record<string, unknown> | null;
  recorded_at: string;
};
/** An event serialized when the append is called, so a value JSON cannot hold fails its own append, not the batch. */
type Serialized = { type: string; data: string; metadata: string | null };
type PendingAppend = {
  stream: string;
  events: Serialized[];
  expected: ExpectedRevision;
  resolve(result: AppendResult): void;
  reject(error: unknown): void;
};

const toRecorded = (row: Row): RecordedEvent => ({
  position: Number(row.position),
  stream: row.stream,
  revision: row.revision,
  type: row.type,
  data: row.data,
  recordedAt: Number(row.recorded_at),
  ...(row.metadata ? { metadata: row.metadata } : {}),
});

const matches = (expected: ExpectedRevision, actual: number): boolean => {
  if (expected === 'any') return true;
  if (expected === 'no_stream') return actual === -1;
  if (expected === 'stream_exists') return actual >= 0;
  return expected === actual;
};

/** A numeric or `no_stream` expectation was decided on top of the appends before it. */
const strict = (expected: ExpectedRevision): boolean => typeof expected === 'number' || expected === 'no_stream';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

type Plan = {
  outcomes: Array<{ stream: string; last: number } | WrongExpectedRevision>;
  cols: { stream: string[]; revision: number[]; type: string[]; data: string[]; metadata: Array<string | null> };
};

/** Checks each append against its expected revision, in order, on `heads`, and numbers the events of those that pass. */
const planBatch = (batch: PendingAppend[], heads: Map<string, number>): Plan => {
  const current = new Map(heads);
  const failed = new Set<string>();
  const cols: Plan['cols'] = { stream: [], revision: [], type: [], data: [], metadata: [] };
  const outcomes = batch.map(({ stream, events, expected }) => {
    const actual = current.get(stream) ?? -1;
    if ((failed.has(stream) && strict(expected)) || !matches(expected, actual)) {
      failed.add(stream);
      return new WrongExpectedRevision(stream, expected, actual === -1 ? 'no_stream' : actual);
    }
    let revision = actual;
    for (const event of events) {
      revision += 1;
      cols.stream.push(stream);
      cols.revision.push(revision);
      cols.type.push(event.type);
      cols.data.push(event.data);
      cols.metadata.push(event.metadata);
    }
    current.set(stream, revision);
    return { stream, last: revision };
  });
  return { outcomes, cols };
};

const resultsOf = (plan: Plan, inserted: Array<{ stream: string; revision: number; position: string }>): Array<AppendResult | WrongExpectedRevision> => {
  const positions = new Map(inserted.map((row) => [`${row.revision}:${row.stream}`, Number(row.position)]));
  return plan.outcomes.map((o) => (o instanceof WrongExpectedRevision ? o : { nextRevision: o.last, position: positions.get(`${o.last}:${o.stream}`)! }));
};

const reported = reportedAs('the event log');

/** Heads kept (a few dozen bytes each); past it, the oldest written go first. */
const MAX_CACHED_HEADS = 100_000;

/**
 * The event store on PostgreSQL.
 *
 * Gaps. A `bigserial`/sequence position is taken when a row is inserted, not when it commits, so
 * with concurrent writers position 11 can commit before position 10; a reader that has seen 11
 * and then reads "after 11" never sees 10. We close this by making positions commit in order:
 * every append transaction first takes one transaction-scoped advisory lock (per schema), and only
 * then draws positions from the sequence (CACHE 1) and inserts. PostgreSQL makes a commit visible
 * before it releases the transaction's locks, so when the next writer gets the lock every smaller
 * position is already visible (or rolled back, leaving a permanent hole, which the port allows).
 * The committed positions are thus always a prefix of the sequence, and "after N" is a complete,
 * single-number cursor exactly as the port (and every checkpoint) expects.
 * The alternative, an `xid8` column read below `pg_snapshot_xmin(pg_current_snapshot())` in
 * (xid, position) order, lets writers run in parallel, but the delivery order is then no longer
 * the position order: the cursor would have to be the pair (xid, position), which the port's
 * `position: number`, `readAll({ after })` and the projection checkpoints cannot carry; and a
 * long-running transaction anywhere in the database would stall every subscriber. The lock costs
 * little because appends are group-committed: one lock, one transaction and one round of
 * statements carry every append that queued while the previous batch was committing, so
 * cross-process serialization costs one transaction per batch, not one per append.
 *
 * Batching and pipelining. Appends queue in call order; one batch per store is in flight at a
 * time, and everything that arrives meanwhile forms the next batch. Each append is checked against
 * its expected revision in order, on heads that the lock confirms current (a wrong one fails that
 * append alone, not the batch), and all accepted events go in with one multi-row INSERT
 * (writeBatch). Appends pipelined behind a failed one fail too, with a numeric or `no_stream`
 * expectation: inside the batch, and also in the next queued batch when they were called before
 * the failure was reported.
 *
 * Live feed. Each batch's transaction sends `NOTIFY` (delivered on commit); one LISTEN connection
 * per store wakes all of its subscriptions, and this process's own commits wake them directly.
 * A subscription always reads the table (catch-up and live are one loop, as in the SQLite
 * adapter); a notification only wakes it, and an idle one also re-reads every `pollIntervalMs`
 * in case a notification was lost (e.g. while the LISTEN connection was being re-established).
 */
export class PostgresEventStore implements EventStore {
  private readonly pool: pg.Pool;
  private readonly schema: string;
  private readonly table: string;
  private readonly channel: string;
  private readonly lockSql: string;
  private readonly maxBatch: number;
  private readonly pollIntervalMs: number;
  private pending: PendingAppend[] = [];
  /**
   * The head of each stream this store last wrote or read under the lock. A conversation's appends
   * come from its owner gateway alone, so the head it wrote last is almost always still the head:
   * the batch is planned on it without a round trip. A head that moved in another process only
   * costs the guarded INSERT that writes nothing, and the locked way after it (see writeBatch).
   */
  private readonly heads = new Map<string, number>();
  private flushScheduled = false;
  private writing = false;
  private readonly drainWaiters: Array<() => void> = [];
  private readonly listeners = new Set<() => void>();
  private readonly loops = new Set<Promise<void>>();
  private listenClient: pg.Client | null = null;
  private listenStarting: Promise<void> | null = null;
  private listenRetry: NodeJS.Timeout | null = null;
  private closed = false;

  private constructor(private readonly options: PostgresEventStoreOptions) {
    this.schema = options.schema ?? 'public';
    this.table = `${ident(this.schema)}.events`;
    this.channel = notifyChannel(this.schema);
    this.lockSql = `BEGIN; SELECT pg_advisory_xact_lock(${LOCK_NAMESPACE}, ${appendLockKey(this.schema)})`;
    this.maxBatch = options.maxBatch ?? 1000;
    this.pollIntervalMs = options.pollIntervalMs ?? 1500;
    this.pool = new pg.Pool({ connectionString: options.connectionString, max: options.poolSize ?? 10 });
    // An idle pooled client whose connection drops emits 'error' on the pool; without a handler
    // that would crash the process. The next query simply opens a new connection.
    this.pool.on('error', () => undefined);
  }

  static async open(options: PostgresEventStoreOptions): Promise<PostgresEventStore> {
    const store = new PostgresEventStore(options);
    try {
      const { client, release } = await checkout(store.pool);
      try {
        await migrate(client, store.schema);
      } finally {
        release();
      }
    } catch (error) {
      await store.pool.end().catch(() => undefined);
      throw error;
    }
    return store;
  }

  // ------------------------------------------------------------------ appends

  appendToStream(stream: string, events: NewEvent[], options: { expectedRevision?: ExpectedRevision } = {}): Promise<AppendResult> {
    if (this.closed) return Promise.reject(new Error('event store is closed'));
    if (events.length === 0) return Promise.reject(new Error('append of zero events'));
    let serialized: Serialized[];
    try {
      serialized = events.map((e) => ({
        type: e.type,
        data: JSON.stringify(e.data ?? null),
        metadata: e.metadata ? JSON.stringify(e.metadata) : null,
      }));
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      this.pending.push({ stream, events: serialized, expected: options.expectedRevision ?? 'any', resolve, reject });
      this.scheduleFlush();
    });
  }

  /** Gathers the appends of this event-loop turn; while a batch is in flight, the next one waits for it. */
  private scheduleFlush(): void {
    if (this.flushScheduled || this.writing) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      void this.flushAll();
    });
  }

  /** Commits batch after batch until the queue is empty; `writing` is reset in the same turn as the last emptiness check. */
  private async flushAll(): Promise<void> {
    if (this.writing) return;
    this.writing = true;
    try {
      while (this.pending.length > 0) {
        const batch = this.pending.splice(0, this.maxBatch);
        await this.commit(batch);
      }
    } finally {
      this.writing = false;
      for (const resolve of this.drainWaiters.splice(0)) resolve();
    }
  }

  /** Resolves once nothing is queued or being written. */
  private async drain(): Promise<void> {
    while (this.flushScheduled || this.writing || this.pending.length > 0) {
      const idle = new Promise<void>((resolve) => this.drainWaiters.push(resolve));
      if (!this.flushScheduled && !this.writing) void this.flushAll();
      await idle;
    }
  }

  private async commit(batch: PendingAppend[]): Promise<void> {
    let outcomes: Array<AppendResult | WrongExpectedRevision>;
    try {
      // (commit never throws: every failure is reported to the appends it concerns)
      outcomes = await this.writeBatch(batch);
    } catch (rawError) {
      // Nothing of the batch was committed (or, for a lost COMMIT reply, we cannot know: the
      // caller sees an error and retries, which the command side makes idempotent). A unique
      // violation on (stream, revision) means a writer that bypasses the append lock won a race:
      // reported as a wrong expected revision (actual unknown) so the caller reloads and retries.
      const uniqueViolation = (rawError as { code?: string }).code === '23505';
      for (const append of batch) {
        append.reject(uniqueViolation ? new WrongExpectedRevision(append.stream, append.expected, 'no_stream') : reported(rawError));
      }
      this.failPipelined(new Map(batch.map((a) => [a.stream, -1])));
      return;
    }
    const failed = new Map<string, number>();
    batch.forEach((append, i) => {
      const outcome = outcomes[i]!;
      if (outcome instanceof WrongExpectedRevision) {
        failed.set(append.stream, outcome.actual === 'no_stream' ? -1 : outcome.actual);
        append.reject(outcome);
      } else {
        append.resolve(outcome);
      }
    });
    this.failPipelined(failed);
    if (outcomes.some((o) => !(o instanceof WrongExpectedRevision))) this.wakeSubscribers();
  }

  /**
   * Appends already queued (called before the failure was reported) to a stream whose append just
   * failed, with a numeric or `no_stream` expectation, were decided on top of the failed one.
   */
  private failPipelined(failed: Map<string, number>): void {
    if (failed.size === 0) return;
    this.pending = this.pending.filter((append) => {
      if (!failed.has(append.stream) || !strict(append.expected)) return true;
      const actual = failed.get(append.stream)!;
      append.reject(new WrongExpectedRevision(append.stream, append.expected, actual === -1 ? 'no_stream' : actual));
      return false;
    });
  }

  /**
   * One round trip per batch, whatever its size, when this store knows the heads of the batch's
   * streams (it wrote them last), two otherwise; the append lock is held only while the server runs
   * one query, never across a wait for this process (on a busy machine a writer descheduled between
   * two round trips would hold every other writer up):
   * (1) unless every head is cached, the heads of the batch's streams, read without the lock; the
   *     batch is planned on them;
   * (2) BEGIN, the lock, an INSERT of the planned events only if every head is still the one planned
   *     on (checked in a statement after the lock is held, so against every earlier append), NOTIFY
   *     and COMMIT, as one simple-protocol query.
   * When a head moved, or the plan has a wrong expected revision (which the lock must confirm),
   * nothing was written and the batch goes the locked way: BEGIN, the lock and the heads, then the
   * INSERT, NOTIFY and COMMIT. Simple-protocol queries may hold several statements but no
   * parameters: values go in as literals escaped by the driver (`escapeLiteral`).
   */
  private async writeBatch(batch: PendingAppend[]): Promise<Array<AppendResult | WrongExpectedRevision>> {
    const { client, release } = await checkout(this.pool);
    const literal = (value: string | null) => (value === null ? 'NULL' : client.escapeLiteral(value));
    const array = (values: Array<string | null>, type: string) => `ARRAY[${values.map(literal).join(',')}]::${type}[]`;
    const streams = [...new Set(batch.map((a) => a.stream))];
    // One backwards probe of the (stream, revision) index per stream, not a scan of its events.
    const headsSql = `SELECT s AS stream, (SELECT revision FROM ${this.table} WHERE stream = s ORDER BY revision DESC LIMIT 1) AS head
      FROM unnest(${array(streams, 'text')}) AS s`;
    const headsOf = (rows: Array<{ stream: string; head: number | null }>) => new Map(rows.map((r) => [r.stream, r.head ?? -1]));
    const insertSql = (plan: Plan, guard: string) =>
      // ORDER BY ord: positions are drawn in array order, so within a stream position grows with revision.
      `INSERT INTO ${this.table} (stream, revision, type, data, metadata, recorded_at)
       SELECT s, r, t, d::json, m::json, ${Date.now()}::bigint
         FROM unnest(${array(plan.cols.stream, 'text')}, ARRAY[${plan.cols.revision.join(',')}]::int[], ${array(plan.cols.type, 'text')},
                     ${array(plan.cols.data, 'text')}, ${array(plan.cols.metadata, 'text')}) WITH ORDINALITY AS x(s, r, t, d, m, ord)
        ${guard}
        ORDER BY ord
       RETURNING stream, revision, position`;
    const commit = `NOTIFY ${ident(this.channel)}; COMMIT`;
    type Inserted = pg.QueryResult<{ stream: string; revision: number; position: string }>;
    let broken = false;
    let inTransaction = false;
    try {
      const cached = streams.every((stream) => this.heads.has(stream));
      const seen = cached
        ? new Map(streams.map((stream) => [stream, this.heads.get(stream)!]))
        : headsOf((await client.query<{ stream: string; head: number | null }>(headsSql)).rows);
      const optimistic = planBatch(batch, seen);
      if (optimistic.cols.stream.length > 0 && !optimistic.outcomes.some((o) => o instanceof WrongExpectedRevision)) {
        const planned = `ARRAY[${streams.map((stream) => seen.get(stream)).join(',')}]::int[]`;
        const unchanged = `WHERE NOT EXISTS (SELECT 1 FROM unnest(${array(streams, 'text')}, ${planned}) AS h(s, r)
          WHERE coalesce((SELECT revision FROM ${this.table} WHERE stream = h.s ORDER BY revision DESC LIMIT 1), -1) <> h.r)`;
        inTransaction = true;
        const results = (await client.query(`${this.lockSql}; ${insertSql(optimistic, unchanged)}; ${commit}`)) as unknown as Inserted[];
        inTransaction = false;
        const inserted = results[2]!.rows;
        if (inserted.length > 0) return this.written(batch, resultsOf(optimistic, inserted));
      }

      inTransaction = true;
      const locked = (await client.query(`${this.lockSql}; ${headsSql}`)) as unknown as pg.QueryResult<{ stream: string; head: number | null }>[];
      const heads = headsOf(locked.at(-1)!.rows);
      for (const [stream, head] of heads) this.cacheHead(stream, head);
      const plan = planBatch(batch, heads);
      if (plan.cols.stream.length === 0) {
        await client.query(commit);
        inTransaction = false;
        return resultsOf(plan, []);
      }
      const [inserted] = (await client.query(`${insertSql(plan, '')}; ${commit}`)) as unknown as Inserted[];
      inTransaction = false;
      return this.written(batch, resultsOf(plan, inserted!.rows));
    } catch (error) {
      // Written or not (a lost COMMIT reply), these heads are no longer known.
      for (const stream of streams) this.heads.delete(stream);
      if (inTransaction)
        await client.query('ROLLBACK').catch(() => {
          broken = true;
        });
      else broken = true;
      throw error;
    } finally {
      // A client that failed mid-transaction is discarded rather than reused in an unknown state.
      release(broken);
    }
  }

  /** Keeps the heads a committed batch left; returns its outcomes. */
  private written(batch: PendingAppend[], outcomes: Array<AppendResult | WrongExpectedRevision>): Array<AppendResult | WrongExpectedRevision> {
    outcomes.forEach((outcome, i) => {
      if (!(outcome instanceof WrongExpectedRevision)) this.cacheHead(batch[i]!.stream, outcome.nextRevision);
    });
    return outcomes;
  }

  private cacheHead(stream: string, head: number): void {
    this.heads.delete(stream);
    this.heads.set(stream, head);
    if (this.heads.size > MAX_CACHED_HEADS) this.heads.delete(this.heads.keys().next().value!);
  }

  // ------------------------------------------------------------------ reads

  async readStream(stream: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    const max = options.maxCount ?? null;
    const { rows } = await (options.direction === 'backwards'
      ? this.pool.query<Row>(`SELECT * FROM ${this.table} WHERE stream = $1 AND revision <= $2 ORDER BY revision DESC LIMIT $3`, [
          stream,
          options.fromRevision ?? 2_147_483_647,
          max,
        ])
      : this.pool.query<Row>(`SELECT * FROM ${this.table} WHERE stream = $1 AND revision >= $2 ORDER BY revision ASC LIMIT $3`, [
          stream,
          options.fromRevision ?? 0,
          max,
        ])
    ).catch((error) => {
      throw reported(error);
    });
    return rows.map(toRecorded);
  }

  async readAll(options: ReadAllOptions): Promise<RecordedEvent[]> {
    const { rows } = await this.pool
      .query<Row>(`SELECT * FROM ${this.table} WHERE position > $1 ORDER BY position ASC LIMIT $2`, [options.after, options.maxCount])
      .catch((error) => {
        throw reported(error);
      });
    return rows.map(toRecorded);
  }

  async headPosition(): Promise<number> {
    const { rows } = await this.pool.query<{ p: string | null }>(`SELECT max(position) AS p FROM ${this.table}`).catch((error) => {
      throw reported(error);
    });
    return Number(rows[0]?.p ?? 0);
  }

  // ------------------------------------------------------------------ live feed

  private wakeSubscribers(): void {
    for (const wake of this.listeners) wake();
  }

  /** One LISTEN connection per store, shared by its subscriptions; re-established after a drop. */
  private ensureListening(): void {
    if (this.closed || this.listenClient || this.listenStarting || this.listenRetry) return;
    const client = new pg.Client({ connectionString: this.options.connectionString });
    const retry = () => {
      if (this.listenClient === client) this.listenClient = null;
      client.removeAllListeners('notification');
      client.end().catch(() => undefined);
      if (this.closed || this.listeners.size === 0 || this.listenRetry) return;
      // Until it is back, subscriptions still see new events through the fallback poll.
      this.listenRetry = setTimeout(() => {
        this.listenRetry = null;
        this.ensureListening();
      }, 1000);
      this.listenRetry.unref();
    };
    client.on('error', retry);
    client.on('end', retry);
    client.on('notification', () => this.wakeSubscribers());
    this.listenStarting = (async () => {
      try {
        await client.connect();
        await client.query(`LISTEN ${ident(this.channel)}`);
        if (this.closed) {
          await client.end().catch(() => undefined);
          return;
        }
        this.listenClient = client;
        // Anything committed while we were not listening is picked up by this wake-up.
        this.wakeSubscribers();
      } catch {
        retry();
      }
    })().finally(() => {
      this.listenStarting = null;
    });
  }

  subscribeToAll({ after, maxBatch = 1000, onEvents, onError }: SubscribeToAllOptions): AllSubscription {
    let stopped = false;
    let notified = false;
    let wake: (() => void) | null = null;
    const listener = () => {
      notified = true;
      const resume = wake;
      wake = null;
      resume?.();
    };
    this.listeners.add(listener);
    this.ensureListening();
    const idle = () =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          wake = null;
          resolve();
        }, this.pollIntervalMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    const loop = (async () => {
      let position = after;
      let failures = 0;
      while (!stopped && !this.closed) {
        notified = false;
        let batch: RecordedEvent[];
        try {
          batch = await this.readAll({ after: position, maxCount: maxBatch });
          failures = 0;
        } catch (error) {
          // The server is down or restarting: read again, for as long as it takes (a relay that gave
          // up here would stay up relaying nothing). Every 2 s at most, so that a server that is
          // back is read within seconds; the first failure of each outage is reported.
          if (stopped || this.closed) break;
          if (++failures === 1) onError?.(error);
          await sleep(Math.min(2_000, 100 * 2 ** failures));
          continue;
        }
        if (stopped || this.closed) break;
        if (batch.length === 0) {
          // A notification that arrived during the read must not be slept through.
          if (!notified) await idle();
          continue;
        }
        await onEvents(batch);
        position = batch[batch.length - 1]!.position;
        // No notification since this read began and the page was not cut at maxBatch: nothing newer
        // was committed, so wait for the next one instead of reading an empty page (a query per batch,
        // at a trickle a query per event). Not while LISTEN is down: then the read confirms it.
        if (batch.length < maxBatch && !notified && this.listenClient && !stopped && !this.closed) await idle();
      }
    })().catch((error) => (onError ? onError(error) : console.error('subscription failed', error)));
    this.loops.add(loop);
    void loop.finally(() => this.loops.delete(loop));
    return {
      stop: async () => {
        stopped = true;
        this.listeners.delete(listener);
        listener();
        await loop;
        if (this.listeners.size === 0) await this.stopListening();
      },
    };
  }

  private async stopListening(): Promise<void> {
    if (this.listenRetry) {
      clearTimeout(this.listenRetry);
      this.listenRetry = null;
    }
    await this.listenStarting;
    const client = this.listenClient;
    this.listenClient = null;
    if (!client) return;
    client.removeAllListeners('end');
    client.removeAllListeners('notification');
    client.removeAllListeners('error');
    client.on('error', () => undefined);
    await client.end().catch(() => undefined);
  }

  /** Commits what is queued, stops the subscriptions, then ends the LISTEN client and the pool. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.drain();
    this.wakeSubscribers();
    await Promise.all([...this.loops]);
    this.listeners.clear();
    await this.stopListening();
    await this.pool.end();
  }
}

export const createPostgresEventStore = (options: PostgresEventStoreOptions): Promise<EventStore> => PostgresEventStore.open(options);

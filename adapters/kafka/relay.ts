import type { Kafka, Message } from 'kafkajs';
import type { EventStore, RecordedEvent } from '../../ports/event-store.ts';
import type { CheckpointStore } from '../../ports/read-models.ts';
import type { ProjectionLog } from '../../ports/projector.ts';
import { noTracing, traceOf, type SpanHandle, type Tracing } from '../../ports/tracing.ts';
import { serialProducer } from './serial-producer.ts';

export type RelayOptions = {
  eventStore: EventStore;
  kafka: Kafka;
  topic: string;
  checkpoints: CheckpointStore;
  /** Checkpoint name: one per relay (two relays with the same name would share a position). */
  name: string;
  /** Events read from the log per subscription batch. Default 1000. */
  batchSize?: number;
  /** Upper bound of the JSON bytes per Kafka send (below the broker's 1 MB message.max.bytes). Default 512 KiB. */
  maxSendBytes?: number;
  log?: ProjectionLog;
  /**
   * The topic's partition count. When set, every batch ends with a `$watermark` record on each
   * partition, saying "everything up to this position is ahead of me in this partition": consumers
   * turn those into the group's low watermark (see adapters/redis/watermarks.ts).
   */
  watermarkPartitions?: number;
  /**
   * At most one round of watermarks per this many ms (default 25). Every round is a record per
   * partition that every projector worker applies and commits; one per relay batch would make a
   * steady trickle of messages cost partitions × batches of consumer work.
   */
  watermarkIntervalMs?: number;
  /**
   * An event appended in a trace (its metadata holds the context) is relayed in a span of its own,
   * whose context goes in the record's `traceparent` header for the projectors. Default: none.
   */
  tracing?: Tracing;
};

export type Relay = {
  /** Log position through which Kafka acknowledged every event and the checkpoint is stored. */
  position(): number;
  /** Resolves once `position()` reaches `target`. */
  caughtUp(target: number): Promise<void>;
  /** Graceful: the send in flight finishes (and is checkpointed) or is abandoned unacknowledged. */
  stop(): Promise<void>;
};

/** What a Kafka record holds: the recorded event as the log has it. */
export type RelayedEvent = Pick<RecordedEvent, 'position' | 'stream' | 'revision' | 'type' | 'data' | 'recordedAt' | 'metadata'>;

const streamPattern = /^(?:conversation|receipts|reactions)-(.+)$/;

/**
 * The partition key: the conversation id, so a conversation's messages, receipts and reactions (three
 * streams) land in one partition, in log order. From the stream name, else `data.conversation_id`,
 * else the stream itself (any other stream still keeps its own order).
 */
export const conversationKey = (event: Pick<RecordedEvent, 'stream' | 'data'>): string => {
  const match = streamPattern.exec(event.stream);
  if (match) return match[1]!;
  const id = (event.data as { conversation_id?: unknown } | null)?.conversation_id;
  return typeof id === 'string' && id.length > 0 ? id : event.stream;
};

export const encodeEvent = (event: RecordedEvent): string =>
  JSON.stringify({
    position: event.position,
    stream: event.stream,
    revision: event.revision,
    type: event.type,
    data: event.data,
    recordedAt: event.recordedAt,
    ...(event.metadata ? { metadata: event.metadata } : {}),
  } satisfies RelayedEvent);

const defaultLog: ProjectionLog = {
  warn: (obj, msg) => console.warn(msg, obj),
  error: (obj, msg) => console.error(msg, obj),
};

/**
 * Moves the event log's global feed into a Kafka topic, at least once, keeping each
 * conversation's order.
 *
 * - Reads with `subscribeToAll` from the stored checkpoint (catch-up, then live).
 * - Sends each batch, in position order, in chunks of at most `maxSendBytes`, with an idempotent
 *   producer (`acks: -1`) that sends one request at a time, chunks and watermark rounds alike
 *   (serial-producer.ts): the broker drops the producer's own retries, a retried request can never
 *   overtake a later one, and no other records go out under a failed request's sequence numbers.
 *   Chunks are sent one after the other, so a partition receives its events in log order.
 * - Stores the checkpoint only after Kafka acknowledged the chunk. A failed send is retried with
 *   backoff (on a fresh producer), never skipped, and the log is not read further meanwhile.
 *
 * After a crash the relay resumes from the checkpoint, so nothing is lost, but the events Kafka
 * acknowledged after the last stored checkpoint (at most one chunk, or more if the checkpoint store
 * was failing) are sent again: consumers see a re-sent tail, which the idempotent projectors absorb.
 * An ambiguous send failure (a timeout after the broker wrote the records) also re-sends.
 */
export const startRelay = async (options: RelayOptions): Promise<Relay> => {
  const {
    eventStore,
    kafka,
    topic,
    checkpoints,
    name,
    batchSize = 1000,
    maxSendBytes = 512 * 1024,
    log = defaultLog,
    watermarkPartitions,
    watermarkIntervalMs = 25,
    tracing = noTracing,
  } = options;
  let stopping = false;
  let position = await checkpoints.get(name);
  const waiters: Array<{ target: number; resolve(): void }> = [];

  const producer = await serialProducer(kafka, { allowAutoTopicCreation: false });

  const pause = async (ms: number) => {
    for (const until = Date.now() + ms; !stopping && Date.now() < until; ) await new Promise((r) => setTimeout(r, Math.min(50, until - Date.now())));
  };

  /** Runs `fn` until it succeeds; false when the relay stopped first. */
  const retrying = async (what: string, fn: () => Promise<unknown>): Promise<boolean> => {
    for (let attempt = 1; !stopping; attempt++) {
      try {
        await fn();
        return true;
      } catch (error) {
        log.error({ err: error, relay: name, attempt }, `relay: ${what} failed; retrying`);
        await pause(Math.min(5_000, 100 * 2 ** attempt));
      }
    }
    return false;
  };

  const sendChunk = async (chunk: RecordedEvent[], messages: Message[], spans: SpanHandle[]) => {
    const sent = await retrying('send', () => producer.send({ topic, acks: -1, messages }));
    for (const span of spans) span.end();
    if (!sent) return false;
    const last = chunk[chunk.length - 1]!.position;
    if (!(await retrying('checkpoint', () => checkpoints.set(name, last)))) return false;
    position = last;
    for (let i = waiters.length - 1; i >= 0; i--) if (waiters[i]!.target <= position) waiters.splice(i, 1)[0]!.resolve();
    return true;
  };

  // Watermarks say "everything through `position` is ahead of me in this partition": `position` only
  // moves once Kafka acknowledged those events, so a round sent later, from a timer, is still true.
  let markedAt = 0;
  let marked = position;
  let markTimer: NodeJS.Timeout | null = null;
  let marking: Promise<unknown> = Promise.resolve();
  const sendMarks = () => {
    markTimer = null;
    if (stopping || position <= marked) return marking;
    const through = position;
    markedAt = Date.now();
    const marks = Array.from(
      { length: watermarkPartitions! },
      (_, partition): Message => ({
        partition,
        value: JSON.stringify({ position: through, stream: '$watermark', revision: 0, type: '$watermark', data: { through, partition }, recordedAt: markedAt }),
      }),
    );
    marking = marking
      .then(() => retrying('watermark', () => producer.send({ topic, acks: -1, messages: marks })))
      .then(() => {
        marked = Math.max(marked, through);
      });
    return marking;
  };
  const markSoon = async () => {
    const wait = markedAt + watermarkIntervalMs - Date.now();
    if (wait <= 0) {
      await sendMarks();
      return;
    }
    markTimer ??= setTimeout(() => {
      void sendMarks();
    }, wait);
  };

  const subscription = eventStore.subscribeToAll({
    after: position,
    maxBatch: batchSize,
    onEvents: async (events) => {
      let chunk: RecordedEvent[] = [];
      let messages: Message[] = [];
      let spans: SpanHandle[] = [];
      let bytes = 0;
      for (const event of events) {
        if (stopping) return;
        const value = encodeEvent(event);
        if (messages.length > 0 && bytes + value.length > maxSendBytes) {
          if (!(await sendChunk(chunk, messages, spans))) return;
          chunk = [];
          messages = [];
          spans = [];
          bytes = 0;
        }
        chunk.push(event);
        const key = conversationKey(event);
        const parent = event.metadata === undefined ? undefined : traceOf(event.metadata);
        if (parent) {
          // Without tracing here, the append's own context goes on: the trace skips the relay, not breaks.
          const span = tracing.start('natter.relay', {
            kind: 'producer',
            parent,
            attributes: { 'natter.position': event.position, 'messaging.destination.name': topic },
          });
          spans.push(span);
          messages.push({ key, value, headers: { ...span.carrier } });
        } else {
          messages.push({ key, value });
        }
        bytes += value.length;
      }
      if (messages.length > 0 && !stopping && !(await sendChunk(chunk, messages, spans))) return;
      if (watermarkPartitions && !stopping) await markSoon();
    },
    onError: (error) => log.error({ err: error, relay: name }, 'relay: reading the log failed'),
  });

  return {
    position: () => position,
    caughtUp: (target) => (target <= position ? Promise.resolve() : new Promise((resolve) => waiters.push({ target, resolve }))),
    stop: async () => {
      stopping = true;
      if (markTimer) clearTimeout(markTimer);
      await marking.catch(() => {});
      await subscription.stop();
      await producer.disconnect().catch(() => {});
    },
  };
};

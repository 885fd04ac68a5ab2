import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import type { Projector, ProjectionLog, Reactor, Recorded } from '../../ports/projector.ts';
import { noTracing, type SpanHandle, type TraceCarrier, type Tracing } from '../../ports/tracing.ts';

export type KafkaProjectionsOptions = {
  kafka: Kafka;
  topic: string;
  groupId: string;
  /** Applied in this order to each batch (the directory first: fan-out reads it). */
  projectors: Projector[];
  /** Run after every projector applied the batch; failures are logged, not retried (clients recover by sync). */
  reactors?: Reactor[];
  log: ProjectionLog;
  /** Partitions processed at once by this member. Default 1; more requires projectors that tolerate concurrent handle() calls. */
  partitionsConsumedConcurrently?: number;
  sessionTimeout?: number;
  heartbeatInterval?: number;
  /** How often resolved offsets are committed. Default 500 ms. */
  commitIntervalMs?: number;
  /** Where a group without committed offsets starts. Default true: the whole topic. */
  fromBeginning?: boolean;
  /** Turns a decoded batch into what projectors see (the cluster opens sealed content here: Kafka holds it sealed). */
  open?(events: Recorded[]): Promise<Recorded[]>;
  /**
   * A record with a `traceparent` header (the relay's span) is projected in a span of its own, and its
   * event carries that span's context on to the reactors (the fan-out's frames). Default: none.
   */
  tracing?: Tracing;
};

export type KafkaProjections = {
  consumer: Consumer;
  /** Resolves once the member has joined the group and got its partitions. */
  joined: Promise<void>;
  stop(): Promise<void>;
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Errors of a commit that the group protocol must see (it rejoins); any other commit error is only a delay. */
const rebalanceErrors = new Set(['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID', 'NOT_COORDINATOR', 'COORDINATOR_NOT_AVAILABLE']);

const header = (message: KafkaMessage, name: string): string | undefined => {
  const value = message.headers?.[name];
  return typeof value === 'string' ? value : Buffer.isBuffer(value) ? value.toString('utf8') : undefined;
};

/** The W3C trace context in a record's headers, if the relay put one there. */
export const recordTrace = (message: KafkaMessage): TraceCarrier | undefined => {
  const traceparent = header(message, 'traceparent');
  if (traceparent === undefined) return undefined;
  const tracestate = header(message, 'tracestate');
  return tracestate === undefined ? { traceparent } : { traceparent, tracestate };
};

/** Each traced event goes on in its projection span's context (its metadata is what the fan-out reads). */
const continued = (events: Recorded[], spans: Array<SpanHandle | undefined>): Recorded[] =>
  events.map((event, i) => {
    const carrier = spans[i]?.carrier;
    return carrier ? { ...event, metadata: { ...event.metadata, ...carrier } } : event;
  });

export const decodeEvent = (message: KafkaMessage): Recorded => {
  if (!message.value) throw new Error(`empty record at offset ${message.offset}`);
  return JSON.parse(message.value.toString('utf8')) as Recorded;
};

/**
 * The projector runtime for the cluster profile: a Kafka consumer group over the relay's topic.
 * Each member gets some partitions; for each batch of one partition it decodes the events,
 * applies every projector (idempotent writes) and the reactors, and only then resolves the batch
 * (resolved offsets are committed every `commitIntervalMs`). A projector that fails is retried on
 * the same batch with backoff (heartbeating meanwhile), never skipped: a read model can lag, not lose an event. If the
 * partition is taken away during the retries (rebalance, stop), the batch is left uncommitted and
 * its new owner starts again from the last committed offset.
 *
 * Delivery is at least once: a crash between the writes and the commit, a rebalance, or the relay
 * re-sending a tail replays events, so projectors must be idempotent (they are: see
 * test/contract/read-models.contract.ts).
 *
 * Order: Kafka keeps order per partition and the relay keys by conversation, so every event of a
 * conversation (its messages, membership and receipts) arrives in log order. There is NO order
 * across conversations: partition 3 may be applied through log position 9,000 while partition 5
 * is still at 2,000, and two members apply their partitions at the same time. A projector must not
 * assume that seeing position P means every event below P was applied, and a batch's positions are
 * increasing but not contiguous. In particular a single global "applied through position"
 * (projections/runtime.ts `position()`/`caughtUp()`) does not exist here.
 */
export const startKafkaProjections = async (options: KafkaProjectionsOptions): Promise<KafkaProjections> => {
  const {
    kafka,
    topic,
    groupId,
    projectors,
    reactors = [],
    log,
    partitionsConsumedConcurrently = 1,
    sessionTimeout = 30_000,
    heartbeatInterval = 3_000,
    fromBeginning = true,
    commitIntervalMs = 500,
    tracing = noTracing,
  } = options;
  const consumer = kafka.consumer({ groupId, sessionTimeout, heartbeatInterval, allowAutoTopicCreation: false });
  let joinedResolve!: () => void;
  const joined = new Promise<void>((resolve) => {
    joinedResolve = resolve;
  });
  consumer.on(consumer.events.GROUP_JOIN, () => {
    joinedResolve();
    // Each join is a new assignment: a partition may have been applied elsewhere meanwhile, so what
    // a reactor cached about its conversations (the fan-out's members) may be stale.
    for (const reactor of reactors) reactor.reassigned?.();
  });

  const applyBatch = async (payload: EachBatchPayload) => {
    if (payload.batch.messages.length === 0) return;
    if (!tracing.enabled) {
      await project(payload);
      return;
    }
    const spans = payload.batch.messages.map((message) => {
      const parent = recordTrace(message);
      return (
        parent &&
        tracing.start('natter.project', {
          kind: 'consumer',
          parent,
          attributes: {
            'messaging.destination.name': topic,
            'messaging.destination.partition.id': String(payload.batch.partition),
            'messaging.kafka.offset': message.offset,
          },
        })
      );
    });
    try {
      await project(payload, spans);
    } finally {
      for (const span of spans) span?.end();
    }
  };

  const project = async (
    { batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }: EachBatchPayload,
    spans?: Array<SpanHandle | undefined>,
  ) => {
    const { partition } = batch;
    let events: Recorded[] | null = null;
    for (let attempt = 1; ; attempt++) {
      if (!isRunning() || isStale()) return; // not ours any more: leave it uncommitted
      try {
        // Decoding inside the retry: a record that cannot be decoded blocks its partition, loudly, rather than being skipped.
        events ??= options.open ? await options.open(batch.messages.map(decodeEvent)) : batch.messages.map(decodeEvent);
        if (spans) events = continued(events, spans);
        for (const projector of projectors) await projector.handle(events);
        break;
      } catch (error) {
        log.error({ err: error, topic, partition, offset: batch.firstOffset(), attempt }, 'kafka projections: batch failed; retrying it');
        await sleep(Math.min(5_000, 50 * 2 ** attempt));
        await heartbeat().catch(() => {});
      }
    }
    // The reactors are independent of each other (fan-out, push queue, watermarks): one round trip, not three.
    await Promise.all(
      reactors.map(async (reactor) => {
        try {
          await reactor.react(events!);
        } catch (error) {
          log.warn({ err: error, reactor: reactor.name }, 'reactor failed; clients recover by sync');
        }
      }),
    );
    resolveOffset(batch.messages[batch.messages.length - 1]!.offset);
    try {
      // Resolved offsets are committed every `commitIntervalMs` (and on rebalance and stop), not per
      // batch: a commit is a broker round trip, and a trickle of one-event batches would pay it every
      // time. What a crash replays since the last commit, the idempotent projectors absorb.
      await commitOffsetsIfNecessary();
    } catch (error) {
      if (rebalanceErrors.has((error as { type?: string }).type ?? '')) throw error;
      // The read models hold the batch; a later commit covers it, and if none does, it is replayed.
      log.warn({ err: error, topic, partition }, 'kafka projections: offset commit failed');
    }
    await heartbeat().catch(() => {});
  };

  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning });
  await consumer.run({
    autoCommit: true,
    autoCommitInterval: commitIntervalMs,
    autoCommitThreshold: null,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently,
    eachBatch: applyBatch,
  });

  return {
    consumer,
    joined,
    stop: async () => {
      await consumer.disconnect();
    },
  };
};

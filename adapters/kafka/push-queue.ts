import type { Kafka } from 'kafkajs';
import { Compile } from 'typebox/compile';
import { PushRequest } from '../../contracts/push.ts';
import type { PushQueue } from '../../ports/push.ts';
import type { SerialProducer } from './serial-producer.ts';

const validRequest = Compile(PushRequest);

/**
 * The cluster's push queue: the push topic, keyed by user, so that one push worker holds a user's
 * requests at a time. `offer` resolves once every replica has them (acks -1): the reactor's batch is
 * retried otherwise, and the windows absorb a duplicate.
 */
export const kafkaPushQueue = (producer: Pick<SerialProducer, 'send'>, topic: string): PushQueue => ({
  offer: async (requests) => {
    await producer.send({ topic, acks: -1, messages: requests.map((request) => ({ key: request.user_id, value: JSON.stringify(request) })) });
  },
});

type Log = { warn(obj: object, msg: string): void };

/**
 * A push worker's share of the push topic: a member of the consumer group that hands each request to
 * `take` (the push sender). A failure (Redis unreachable) throws, so the record is not committed and
 * comes again; a record that is not a push request is skipped, loudly.
 */
export const consumePushQueue = async (options: {
  kafka: Kafka;
  topic: string;
  groupId: string;
  sessionTimeoutMs: number;
  take(request: PushRequest): Promise<void>;
  log: Log;
}) => {
  const consumer = options.kafka.consumer({
    groupId: options.groupId,
    sessionTimeout: options.sessionTimeoutMs,
    heartbeatInterval: Math.min(3_000, Math.floor(options.sessionTimeoutMs / 3)),
    allowAutoTopicCreation: false,
    // An idle fetch waits this long; it bounds how soon a stopping worker leaves and how soon the
    // others hear of the rebalance (they heartbeat between fetches), i.e. how long a handover takes.
    maxWaitTimeInMs: 1_000,
  });
  let joinedResolve!: () => void;
  const joined = new Promise<void>((resolve) => {
    joinedResolve = resolve;
  });
  consumer.on(consumer.events.GROUP_JOIN, () => joinedResolve());
  await consumer.connect();
  await consumer.subscribe({ topic: options.topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message, partition }) => {
      let request: unknown = null;
      try {
        request = JSON.parse(message.value?.toString('utf8') ?? 'null');
      } catch {
        /* reported below */
      }
      if (!validRequest.Check(request)) {
        options.log.warn({ topic: options.topic, partition, offset: message.offset }, 'push worker: unreadable push request skipped');
        return;
      }
      await options.take(request);
    },
  });
  return { joined, stop: () => consumer.disconnect() };
};

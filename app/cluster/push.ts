import type { Kafka, Producer } from 'kafkajs';
import type { DirectoryStore } from '../../ports/read-models.ts';
import type { SessionRegistry } from '../../ports/sessions.ts';
import type { Reactor } from '../../projections/runtime.ts';
import type { ProjectionLog } from '../../projections/runtime.ts';

/** What the push topic carries: one record per member without a live device, keyed by user. */
export type PushRequest = {
  user_id: string; conversation_id: string; message_id: string; seq: number;
  sender_id: string; content_type: string; timestamp: number;
};

/**
 * For every new message, the members with no live device (per the session registry) go to the push
 * topic. Content is not carried: the push worker fetches what it may show. Runs in the projector
 * workers after the read models, so a record is produced at least once per message.
 */
export const pushTopicReactor = (options: { producer: Producer; topic: string; directory: DirectoryStore; sessions: SessionRegistry }): Reactor => ({
  name: 'push-topic',
  react: async (events) => {
    const messages = [];
    for (const event of events) {
      if (event.type !== 'MessageSent') continue;
      const e = event.data;
      const members = (await options.directory.members(e.conversation_id)).filter((m) => m !== e.sender_id);
      for (const user of await options.sessions.offline(members, Date.now())) {
        const request: PushRequest = {
          user_id: user, conversation_id: e.conversation_id, message_id: e.message_id, seq: e.seq,
          sender_id: e.sender_id, content_type: e.content_type, timestamp: e.timestamp,
        };
        messages.push({ key: user, value: JSON.stringify(request) });
      }
    }
    if (messages.length > 0) await options.producer.send({ topic: options.topic, acks: -1, messages });
  },
});

/**
 * The push worker: a consumer group on the push topic that hands each request to a provider. The
 * provider here logs what would be sent; FCM/APNs/Web Push providers plug in through `send`.
 */
export const startPushWorker = async (options: {
  kafka: Kafka; topic: string; groupId: string; log: ProjectionLog & { info(obj: object, msg: string): void };
  send?(request: PushRequest): Promise<void>;
}) => {
  const consumer = options.kafka.consumer({ groupId: options.groupId });
  await consumer.connect();
  await consumer.subscribe({ topic: options.topic, fromBeginning: true });
  const send = options.send ?? (async (request: PushRequest) => options.log.info({ push: request }, 'push (log provider)'));
  await consumer.run({
    eachMessage: async ({ message }) => {
      if (!message.value) return;
      await send(JSON.parse(message.value.toString('utf8')) as PushRequest);
    },
  });
  return { stop: () => consumer.disconnect() };
};

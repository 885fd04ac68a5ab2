import type { Kafka } from 'kafkajs';

export type EnsureTopicOptions = {
  topic: string;
  /** Default 8. Partitions bound the consumer group's parallelism; a conversation always maps to one. */
  partitions?: number;
  /** Default 1 (the local single broker); use 3 in production, with min.insync.replicas=2 and acks=-1. */
  replicationFactor?: number;
  configEntries?: Array<{ name: string; value: string }>;
};

/**
 * Creates the event topic if it is missing (idempotent, also when two processes race to create
 * it). An existing topic is left alone, even with another partition count: adding partitions
 * later moves conversations to other partitions, which breaks per-conversation order for the
 * messages in flight, so it is reported, never done here.
 */
export const ensureTopic = async (kafka: Kafka, options: EnsureTopicOptions): Promise<{ created: boolean; partitions: number }> => {
  const { topic, partitions = 8, replicationFactor = 1, configEntries = [] } = options;
  const admin = kafka.admin();
  await admin.connect();
  try {
    let created = false;
    try {
      created = await admin.createTopics({
        waitForLeaders: true,
        topics: [{ topic, numPartitions: partitions, replicationFactor, configEntries }],
      });
    } catch (error) {
      // createTopics reports an existing topic as `false`, but a concurrent creation surfaces as an error.
      // Its wait for leaders also gives up on UNKNOWN_TOPIC_OR_PARTITION, which a KRaft broker answers
      // for a topic it has just created: the metadata loop below waits that out.
      const type = (error as { type?: string }).type;
      if (type !== 'TOPIC_ALREADY_EXISTS' && type !== 'UNKNOWN_TOPIC_OR_PARTITION' && !/already exists/i.test(String((error as Error).message))) throw error;
    }
    // A topic another process has just created can be known before its partitions have a leader;
    // its metadata then answers "does not host this topic-partition" for a moment, so ask again.
    let metadata: Awaited<ReturnType<typeof admin.fetchTopicMetadata>>;
    for (let attempt = 1; ; attempt++) {
      try {
        metadata = await admin.fetchTopicMetadata({ topics: [topic] });
        break;
      } catch (error) {
        const type = (error as { type?: string }).type;
        if (attempt >= 50 || (type !== 'UNKNOWN_TOPIC_OR_PARTITION' && type !== 'LEADER_NOT_AVAILABLE')) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
    const count = metadata.topics.find((t) => t.name === topic)?.partitions.length ?? 0;
    return { created, partitions: count };
  } finally {
    await admin.disconnect();
  }
};

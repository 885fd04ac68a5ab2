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
      if ((error as { type?: string }).type !== 'TOPIC_ALREADY_EXISTS' && !/already exists/i.test(String((error as Error).message))) throw error;
    }
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    const count = metadata.topics.find((t) => t.name === topic)?.partitions.length ?? 0;
    return { created, partitions: count };
  } finally {
    await admin.disconnect();
  }
};

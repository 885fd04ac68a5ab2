import type { Kafka, ProducerConfig, ProducerRecord, RecordMetadata } from 'kafkajs';

/** How long `disconnect` lets a send in flight finish. */
const DISCONNECT_WAIT_MS = 5_000;

export type SerialProducer = {
  send(record: ProducerRecord): Promise<RecordMetadata[]>;
  disconnect(): Promise<void>;
};

/**
 * An idempotent kafkajs producer that is safe to share: one send at a time, and a fresh producer
 * (a new producer id) after any failed send.
 *
 * Why: when a Produce request fails, kafkajs hands its sequence numbers back for the retry. If the
 * broker had written the request (its reply was lost: a broker killed with -9, a cut connection),
 * any *other* records sent next under those numbers are taken by the broker for that retry,
 * answered as written, and dropped. Sends one at a time mean kafkajs retries a failed request before
 * anything else goes out; a request that still fails leaves sequence numbers nobody can trust, so the
 * next send starts a new producer. test/kafka/relay-lost-reply.test.ts loses records without either.
 */
export const serialProducer = async (kafka: Kafka, config: ProducerConfig = {}): Promise<SerialProducer> => {
  const fresh = () => kafka.producer({ ...config, idempotent: true, maxInFlightRequests: 1 });
  let producer = fresh();
  await producer.connect();
  let suspect = false;
  let lane: Promise<unknown> = Promise.resolve();

  const sendNow = async (record: ProducerRecord) => {
    if (suspect) {
      await producer.disconnect().catch(() => {});
      producer = fresh();
      await producer.connect();
      suspect = false;
    }
    try {
      return await producer.send(record);
    } catch (error) {
      suspect = true;
      throw error;
    }
  };

  return {
    send: (record) => {
      const sent = lane.then(() => sendNow(record));
      lane = sent.catch(() => {});
      return sent;
    },
    disconnect: async () => {
      // A send still in kafkajs' retries (an unreachable broker) may take its turn, up to a bound.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([lane, new Promise((resolve) => (timer = setTimeout(resolve, DISCONNECT_WAIT_MS)))]);
      clearTimeout(timer);
      await producer.disconnect();
    },
  };
};

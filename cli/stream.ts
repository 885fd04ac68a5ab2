import { loadConfig } from '../app/config.ts';
import { embeddedPaths } from '../app/embedded.ts';
import { createSqliteEventStore } from '../adapters/sqlite/event-store.ts';
import { conversationStream, receiptsStream } from '../contracts/events.ts';

/** Prints a stream's events, one JSON object per line, oldest first. */
export const printStream = async (conversationId: string, options: { receipts?: boolean }) => {
  const eventStore = createSqliteEventStore({ path: embeddedPaths(loadConfig().dataDir).events });
  try {
    const stream = options.receipts ? receiptsStream(conversationId) : conversationStream(conversationId);
    const events = await eventStore.readStream(stream);
    if (events.length === 0) console.error(`stream ${stream} is empty or does not exist`);
    for (const e of events) {
      console.log(
        JSON.stringify({ position: e.position, revision: e.revision, type: e.type, recorded_at: new Date(e.recordedAt).toISOString(), data: e.data }),
      );
    }
  } finally {
    await eventStore.close();
  }
};

import type { EventStore } from '../ports/event-store.ts';
import type { Metrics } from '../ports/metrics.ts';

/** Times every append (including its wait for the group commit) without touching the adapter. */
export const instrumentEventStore = (store: EventStore, metrics: Metrics): EventStore => ({
  appendToStream: async (stream, events, options) => {
    const started = performance.now();
    try {
      return await store.appendToStream(stream, events, options);
    } finally {
      metrics.appendSeconds((performance.now() - started) / 1000);
    }
  },
  readStream: (stream, options) => store.readStream(stream, options),
  readAll: (options) => store.readAll(options),
  subscribeToAll: (options) => store.subscribeToAll(options),
  headPosition: () => store.headPosition(),
  close: () => store.close(),
});

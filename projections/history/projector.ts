import type { HistoryStore, StoredMessage } from '../../ports/read-models.ts';
import type { Projector, Recorded } from '../runtime.ts';

export const historyRows = (events: Recorded[]): StoredMessage[] => events.flatMap((event) => {
  if (event.type !== 'MessageSent') return [];
  const { sender_device_id: _, ...message } = event.data;
  return [{ ...message, position: event.position }];
});

export const historyProjector = (store: HistoryStore): Projector => ({
  name: 'history',
  handle: (events) => store.write(historyRows(events)),
  reset: () => store.reset(),
});

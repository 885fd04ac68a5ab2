import type { DirectoryStore, DirectoryWrite } from '../../ports/read-models.ts';
import type { Projector, Recorded } from '../runtime.ts';

/** Conversations and members, for authorization on the query side and for fan-out. */
export const directoryOps = (events: Recorded[]): DirectoryWrite[] => events.flatMap((event): DirectoryWrite[] => {
  switch (event.type) {
    case 'ConversationCreated': {
      const e = event.data;
      return [
        { op: 'conversation', conversation_id: e.conversation_id, kind: e.kind, title: e.title, created_by: e.created_by, created_at: e.timestamp },
        { op: 'members', conversation_id: e.conversation_id, user_ids: e.member_ids, active: true },
      ];
    }
    case 'MembersAdded': return [{ op: 'members', conversation_id: event.data.conversation_id, user_ids: event.data.user_ids, active: true }];
    case 'MemberRemoved': return [{ op: 'members', conversation_id: event.data.conversation_id, user_ids: [event.data.user_id], active: false }];
    default: return [];
  }
});

export const directoryProjector = (store: DirectoryStore): Projector => ({
  name: 'directory',
  handle: (events) => store.write(directoryOps(events)),
  reset: () => store.reset(),
});

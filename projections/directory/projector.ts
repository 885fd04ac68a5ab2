import type { DirectoryStore, DirectoryWrite } from '../../ports/read-models.ts';
import type { Projector, Recorded } from '../../ports/projector.ts';

/** Conversations, members and admins, for authorization on the query side and for fan-out. */
export const directoryOps = (events: Recorded[]): DirectoryWrite[] => {
  const ops: DirectoryWrite[] = [];
  for (const event of events) {
    switch (event.type) {
      case 'ConversationCreated': {
        const e = event.data;
        ops.push(
          { op: 'conversation', conversation_id: e.conversation_id, kind: e.kind, title: e.title, created_by: e.created_by, created_at: e.timestamp },
          { op: 'members', conversation_id: e.conversation_id, user_ids: e.member_ids, active: true },
        );
        // The creator of a group is its first admin.
        if (e.kind === 'group') ops.push({ op: 'admins', conversation_id: e.conversation_id, user_ids: [e.created_by], admin: true });
        break;
      }
      case 'MembersAdded':
        ops.push({ op: 'members', conversation_id: event.data.conversation_id, user_ids: event.data.user_ids, active: true });
        break;
      case 'MemberRemoved':
        ops.push({ op: 'members', conversation_id: event.data.conversation_id, user_ids: [event.data.user_id], active: false });
        break;
      case 'AdminGranted':
      case 'AdminRevoked':
        ops.push({ op: 'admins', conversation_id: event.data.conversation_id, user_ids: [event.data.user_id], admin: event.type === 'AdminGranted' });
        break;
      case 'ConversationRenamed':
        ops.push({ op: 'title', conversation_id: event.data.conversation_id, title: event.data.title, position: event.position });
        break;
      case 'RetentionChanged':
        ops.push({ op: 'retention', conversation_id: event.data.conversation_id, retention_days: event.data.retention_days, position: event.position });
        break;
    }
  }
  return ops;
};

export const directoryProjector = (store: DirectoryStore): Projector => ({
  name: 'directory',
  handle: (events) => store.write(directoryOps(events)),
  reset: () => store.reset(),
});

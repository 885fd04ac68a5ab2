import type { UserStore, UserWrite } from '../../ports/read-models.ts';
import type { Projector, Recorded } from '../../ports/projector.ts';

/** Whom each user blocks and who sees their last seen: what presence, typing and the blocks list read. */
export const userOps = (events: Recorded[]): UserWrite[] => {
  const ops: UserWrite[] = [];
  for (const event of events) {
    switch (event.type) {
      case 'UserBlocked':
      case 'UserUnblocked':
        ops.push({
          op: 'block',
          user_id: event.data.user_id,
          blocked_user_id: event.data.blocked_user_id,
          blocked: event.type === 'UserBlocked',
          position: event.position,
        });
        break;
      case 'PrivacyChanged':
        ops.push({ op: 'privacy', user_id: event.data.user_id, last_seen: event.data.last_seen, position: event.position });
        break;
      case 'UserErased':
        ops.push({ op: 'erased', user_id: event.data.user_id });
        break;
    }
  }
  return ops;
};

export const usersProjector = (store: UserStore): Projector => ({
  name: 'users',
  handle: (events) => store.write(userOps(events)),
  reset: () => store.reset(),
});

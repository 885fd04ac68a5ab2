import type { Redis } from 'ioredis';
import type { ReadModels } from '../../ports/read-models.ts';
import { openRedis } from './client.ts';
import { createRedisDirectoryStore } from './directory-store.ts';
import { createRedisInboxStore, DEFAULT_INBOX_FANOUT_MAX_MEMBERS } from './inbox-store.ts';
import { createRedisReceiptStore } from './receipt-store.ts';
import { createRedisUserStore } from './user-store.ts';
import { createRedisCheckpointStore } from './checkpoint-store.ts';

/*
 * What Redis holds
 * ================
 * Every key starts with the namespace `<prefix>:` (a trailing ':' in the prefix is not doubled), then
 * a store tag, then a key family, then an id, so several namespaces share a server and reset() of a
 * store is SCAN MATCH `<ns><store>:*` + UNLINK. History stays elsewhere (SQLite or Cassandra): the
 * log of messages is the one read model that grows without bound.
 *
 * directory (dir:)
 *   dir:conv:<c>       HASH  kind, title (absent = null), created_by, created_at
 *   dir:members:<c>    ZSET  active members, score 0 (ZRANGE = byte order = SQLite's ORDER BY user_id)
 *   dir:user:<u>       SET   conversations where u is active (conversationsOf)
 * inbox (ibx:)
 *   ibx:conv:<c>       HASH  kind, title, last_seq, last (LastMessage JSON), last_pos, activity, big
 *   ibx:members:<c>    SET   active members: SCARD is members_count, SMEMBERS the fan-out list
 *   ibx:state:<u>      HASH  c → "<active>|<read_seq>|<membership position>" (kept after a leave, as a
 *                            tombstone: a replayed join older than the leave is ignored)
 *   ibx:list:<u>       ZSET  c → activity, for u's active conversations of at most
 *                            `inboxFanoutMaxMembers` members ("push" mode)
 *   ibx:big:<u>        SET   u's active conversations above that size ("pull" mode)
 * receipts (rcpt:)
 *   rcpt:<c>           HASH  user → "<delivered_seq>|<read_seq>", max-merged by a script
 * checkpoints (ckpt:)
 *   ckpt:positions     HASH  projector → position
 *
 * Versions: the layout above is version 1 of each read model. A blue/green rebuild (`natter replay
 * --cluster`) writes version N under `v<N>:` (`v2:ibx:conv:<c>`, …) beside it, and the shared record
 * `rmv:state` (read-model-versions.ts) says which version each reader and writer uses.
 *
 * Why the inbox looks like this
 * -----------------------------
 * A page of the inbox is "the user's conversations by last activity", so the natural index is a sorted
 * set per user. Keeping it exact costs one ZADD per member per message: fine for 1:1 chats and small
 * groups (most traffic), ruinous for a 1,000-member group (1,000 writes per message on a single-threaded
 * server, for a group that is rarely anyone's top conversation). So the conversation hash always holds
 * the last message (one write per message, like SQLite: unread = last_seq - read_seq, read_seq per
 * member), per-user sorted sets are kept only for groups up to `inboxFanoutMaxMembers` (default 64),
 * and a user's larger groups sit in a small per-user set that list() reads in full and merges by
 * activity at read time (a user is in few big groups). A group crossing the limit is moved between
 * the two in the same script as the join that crosses it (back when it shrinks to half the limit).
 * `inboxFanoutMaxMembers: 0` gives a pure read-time design (no fan-out at all; list() reads every
 * conversation of the user).
 *
 * Atomicity and replay
 * --------------------
 * Every write(ops) is one server-side step: a MULTI for the directory (each op is an idempotent set),
 * a MULTI of one-key max-merge scripts for receipts, one script call for the inbox (ops depend on
 * each other in order: a join reads last_seq; a message fans out to the members). Replays change
 * nothing: membership carries its log position and only a newer one applies, a message applies only
 * with a higher seq, read_seq and receipts merge with max. Scripts derive inbox keys from ARGV, which a
 * standalone server (and its replicas) accepts but Redis Cluster does not; a cluster deployment would
 * shard by namespace (one primary per prefix) or split batches per hash slot and lose batch atomicity.
 */
export type RedisReadModels = Pick<ReadModels, 'directory' | 'inbox' | 'receipts' | 'users' | 'checkpoints' | 'close'> & {
  redis: Redis;
  /**
   * Runs `work` as it is: each store's write() is already atomic and idempotent, and a MULTI cannot
   * hold the reads and awaits of a whole projection batch, so there is no wider commit to join.
   */
  unitOfWork<T>(work: () => Promise<T>): Promise<T>;
};

export const createRedisReadModels = ({
  url,
  prefix,
  inboxFanoutMaxMembers = DEFAULT_INBOX_FANOUT_MAX_MEMBERS,
}: {
  url: string;
  prefix: string;
  inboxFanoutMaxMembers?: number;
}): RedisReadModels => {
  const redis = openRedis(url);
  const options = { redis, prefix };
  return {
    redis,
    directory: createRedisDirectoryStore(options),
    inbox: createRedisInboxStore({ ...options, fanoutMaxMembers: inboxFanoutMaxMembers }),
    receipts: createRedisReceiptStore(options),
    users: createRedisUserStore(options),
    checkpoints: createRedisCheckpointStore(options),
    unitOfWork: (work) => work(),
    close: async () => {
      await redis.quit();
    },
  };
};

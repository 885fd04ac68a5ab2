import type { Redis } from 'ioredis';
import type { ConversationKind } from '../../contracts/events.ts';
import type { InboxEntry, InboxStore, InboxWrite, LastMessage } from '../../ports/read-models.ts';
import { deleteUnder, type RedisStoreOptions } from './client.ts';
import { byteCompare, storeBase, type Versioned } from './keys.ts';
import { muteState } from '../../projections/inbox/mute.ts';

/*
 * The inbox (layout and rationale in read-models.ts):
 *   <ns>ibx:conv:<c>      HASH kind, title (absent = null), last_seq, last (LastMessage JSON), last_pos,
 *                         activity (ms), big ("1" when the conversation is in pull mode), changed_pos (the
 *                         highest position of a message, edit, delete or reaction: what sync looks for)
 *   <ns>ibx:mn:<u>:<c>    ZSET seqs of messages that mention the user (score = seq): unread_mentions = ZCOUNT above read_seq
 *   <ns>ibx:mnq:<c>       HASH seq → mentioned user ids (JSON), so a delete finds whose mentions to drop
 *   <ns>ibx:mute:<u>      HASH conversation id → "<1|0>|<until, empty: until unmuted>|<position>"
 *   (conv hash) title_pos the position of the last rename applied
 *   <ns>ibx:members:<c>   SET active member ids (SCARD = members_count; the fan-out list)
 *   <ns>ibx:state:<u>     HASH conversation id → "<active 0|1>|<read_seq>|<membership position>"
 *   <ns>ibx:list:<u>      ZSET conversation id → activity, the user's active conversations in push mode
 *   <ns>ibx:big:<u>       SET the user's active conversations in pull mode
 *
 * Push mode (members <= fanoutMaxMembers): a message ZADDs the new activity into each member's list,
 * so a page is a ZREVRANGEBYSCORE. Pull mode (bigger groups): a message writes only the conversation
 * hash, and list() merges the user's few big conversations in at read time. A group switches to pull
 * when it grows past the limit and back when it shrinks to half of it (hysteresis), in the same
 * script as the join or leave that crosses the line.
 *
 * A batch is one script call, so it applies atomically and in order (a join reads last_seq as left by
 * the ops before it in the same batch). Its keys are derived from ARGV inside the script (a message
 * fans out to members only the script knows): fine on a standalone server or a replicated primary,
 * not Redis Cluster (see read-models.ts).
 */
const APPLY = `
local base, N = ARGV[1], tonumber(ARGV[2])
local ops = cjson.decode(ARGV[3])
local function ck(c) return base .. 'conv:' .. c end
local function mk(c) return base .. 'members:' .. c end
local function lk(u) return base .. 'list:' .. u end
local function bk(u) return base .. 'big:' .. u end
local function sk(u) return base .. 'state:' .. u end
local function parse(v) return string.match(v, '^([01])|([^|]*)|(.*)$') end
local function toPull(c)
  redis.call('HSET', ck(c), 'big', '1')
  for _, m in ipairs(redis.call('SMEMBERS', mk(c))) do
    redis.call('ZREM', lk(m), c)
    redis.call('SADD', bk(m), c)
  end
end
local function toPush(c, activity)
  redis.call('HSET', ck(c), 'big', '0')
  for _, m in ipairs(redis.call('SMEMBERS', mk(c))) do
    redis.call('SREM', bk(m), c)
    redis.call('ZADD', lk(m), activity, c)
  end
end
local function changed(c, pos)
  local p = redis.call('HGET', ck(c), 'changed_pos')
  if p and tonumber(p) < tonumber(pos) then redis.call('HSET', ck(c), 'changed_pos', pos) end
end
for _, op in ipairs(ops) do
  local t = op[1]
  if t == 'm' then
    local c, seq, act = op[2], op[3], op[6]
    local h = redis.call('HMGET', ck(c), 'last_seq', 'big')
    if h[1] and tonumber(h[1]) < tonumber(seq) then
      redis.call('HSET', ck(c), 'last_seq', seq, 'last', op[4], 'last_pos', op[5], 'activity', act)
      changed(c, op[5])
      if h[2] ~= '1' then
        for _, m in ipairs(redis.call('SMEMBERS', mk(c))) do redis.call('ZADD', lk(m), act, c) end
      end
    end
  elseif t == 'r' then
    local u, c, seq = op[2], op[3], op[4]
    local st = redis.call('HGET', sk(u), c)
    if st then
      local a, r, p = parse(st)
      if tonumber(seq) > tonumber(r) then redis.call('HSET', sk(u), c, a .. '|' .. seq .. '|' .. p) end
    end
  elseif t == 'j' then
    local u, c, pos = op[2], op[3], op[4]
    local h = redis.call('HMGET', ck(c), 'last_seq', 'activity', 'big')
    if h[1] then
      local st = redis.call('HGET', sk(u), c)
      local newer = true
      if st then
        local _, _, p = parse(st)
        newer = tonumber(pos) > tonumber(p)
      end
      if newer then
        -- A member starts with everything sent before they joined counted as read.
        redis.call('HSET', sk(u), c, '1|' .. h[1] .. '|' .. pos)
        redis.call('SADD', mk(c), u)
        if h[3] == '1' then
          redis.call('SADD', bk(u), c)
        else
          redis.call('ZADD', lk(u), h[2], c)
          if redis.call('SCARD', mk(c)) > N then toPull(c) end
        end
      end
    end
  elseif t == 'l' then
    local u, c, pos = op[2], op[3], op[4]
    local st = redis.call('HGET', sk(u), c)
    if st then
      local _, r, p = parse(st)
      if tonumber(p) < tonumber(pos) then
        redis.call('HSET', sk(u), c, '0|' .. r .. '|' .. pos)
        redis.call('SREM', mk(c), u)
        redis.call('ZREM', lk(u), c)
        redis.call('SREM', bk(u), c)
        local h = redis.call('HMGET', ck(c), 'big', 'activity')
        if h[1] == '1' and redis.call('SCARD', mk(c)) <= math.floor(N / 2) then toPush(c, h[2]) end
      end
    end
  elseif t == 'x' then
    local c, seq, users = op[2], op[3], cjson.decode(op[4])
    if redis.call('HSETNX', base .. 'mnq:' .. c, seq, op[4]) == 1 then
      for _, u in ipairs(users) do redis.call('ZADD', base .. 'mn:' .. u .. ':' .. c, seq, seq) end
    end
  elseif t == 'e' then
    -- An edit or delete of the last message changes its preview, unless a later change is already there.
    local c, seq, pos, deleted = op[2], op[3], op[5], op[6] == '1'
    local h = redis.call('HMGET', ck(c), 'last_seq', 'last')
    if h[1] and h[1] == seq and h[2] then
      local last = cjson.decode(h[2])
      if last.deleted ~= true and (last.changed_at or 0) < tonumber(pos) then
        last.preview, last.edited, last.deleted, last.changed_at = op[4], not deleted, deleted, tonumber(pos)
        redis.call('HSET', ck(c), 'last', cjson.encode(last))
      end
    end
    if h[1] then changed(c, pos) end
    if deleted then
      local q = base .. 'mnq:' .. c
      local users = redis.call('HGET', q, seq)
      if users then
        for _, u in ipairs(cjson.decode(users)) do redis.call('ZREM', base .. 'mn:' .. u .. ':' .. c, seq) end
      end
      -- Kept as an empty list: a replayed send of this message must not mention anyone again.
      redis.call('HSET', q, seq, '[]')
    end
  elseif t == 't' then
    changed(op[2], op[3])
  elseif t == 'x2' then
    -- Retention: the last message's preview goes with it; mentions up to the seq go too.
    local c, seq, pos = op[2], tonumber(op[3]), op[4]
    local h = redis.call('HMGET', ck(c), 'last_seq')
    if h[1] and tonumber(h[1]) <= seq then redis.call('HDEL', ck(c), 'last') end
    if h[1] then changed(c, pos) end
    local q = base .. 'mnq:' .. c
    local entries = redis.call('HGETALL', q)
    for i = 1, #entries, 2 do
      if tonumber(entries[i]) <= seq then
        for _, u in ipairs(cjson.decode(entries[i + 1])) do redis.call('ZREM', base .. 'mn:' .. u .. ':' .. c, entries[i]) end
        redis.call('HSET', q, entries[i], '[]')
      end
    end
  elseif t == 'n' then
    local c, pos = op[2], tonumber(op[4])
    if redis.call('EXISTS', ck(c)) == 1 and tonumber(redis.call('HGET', ck(c), 'title_pos') or '0') < pos then
      redis.call('HSET', ck(c), 'title', op[3], 'title_pos', op[4])
    end
  elseif t == 'u' then
    local key, c, pos = base .. 'mute:' .. op[2], op[3], op[6]
    local old = redis.call('HGET', key, c)
    if not old or tonumber(string.match(old, '|(%d+)$')) < tonumber(pos) then redis.call('HSET', key, c, op[4] .. '|' .. op[5] .. '|' .. pos) end
  elseif t == 'c' then
    local c = op[2]
    if redis.call('EXISTS', ck(c)) == 0 then
      redis.call('HSET', ck(c), 'kind', op[3], 'last_seq', '0', 'last_pos', '0', 'activity', op[5], 'big', '0', 'changed_pos', '0')
      if op[4] ~= cjson.null then redis.call('HSET', ck(c), 'title', op[4]) end
    end
  end
end
return #ops`;

/*
 * One page: the next limit+1 push-mode conversations after the cursor (plus every tie at the
 * cursor's activity, which the caller filters by id), and every pull-mode one. For each, the fields
 * list() needs, read in the same script so that a page is one consistent snapshot.
 */
const PAGE = `
local base, user, limit = ARGV[1], ARGV[2], tonumber(ARGV[3])
local list = base .. 'list:' .. user
local ids
if ARGV[4] == '' then
  ids = redis.call('ZREVRANGE', list, 0, limit)
else
  local ties = redis.call('ZCOUNT', list, ARGV[4], ARGV[4])
  ids = redis.call('ZREVRANGEBYSCORE', list, ARGV[4], '-inf', 'LIMIT', 0, limit + 1 + ties)
end
for _, c in ipairs(redis.call('SMEMBERS', base .. 'big:' .. user)) do ids[#ids + 1] = c end
local state = base .. 'state:' .. user
local out = {}
for i, c in ipairs(ids) do
  local h = redis.call('HMGET', base .. 'conv:' .. c, 'kind', 'title', 'last_seq', 'last', 'last_pos', 'activity')
  local st = redis.call('HGET', state, c)
  local mentions = 0
  if st then
    local read = string.match(st, '^[01]|([^|]*)|')
    mentions = redis.call('ZCOUNT', base .. 'mn:' .. user .. ':' .. c, '(' .. read, '+inf')
  end
  out[i] = { c, h[1], h[2], h[3], h[4], h[5], h[6], st, redis.call('SCARD', base .. 'members:' .. c), mentions, redis.call('HGET', base .. 'mute:' .. user, c) }
end
return out`;

/** The user's active conversations with a message or change after a position: O(conversations of the user). */
const CHANGED = `
local base, user, after = ARGV[1], ARGV[2], tonumber(ARGV[3])
local out = {}
local function check(c)
  local h = redis.call('HMGET', base .. 'conv:' .. c, 'last_pos', 'changed_pos')
  local p = math.max(tonumber(h[1] or '0'), tonumber(h[2] or '0'))
  if p > after then out[#out + 1] = c end
end
for _, c in ipairs(redis.call('ZRANGE', base .. 'list:' .. user, 0, -1)) do check(c) end
for _, c in ipairs(redis.call('SMEMBERS', base .. 'big:' .. user)) do check(c) end
return out`;

type PageRow = [string, string | null, string | null, string | null, string | null, string | null, string | null, string | null, number, number, string | null];
type InboxCommands = {
  natterInboxApply(base: string, fanoutMaxMembers: string, ops: string): Promise<number>;
  natterInboxPage(base: string, user: string, limit: string, cursorActivity: string): Promise<PageRow[]>;
  natterInboxChanged(base: string, user: string, after: string): Promise<string[]>;
};

type Candidate = InboxEntry & { read_seq: number };

/** "<1|0>|<until>|<position>" as the inbox shows it at `now`. */
const parseMute = (value: string | null, now: number) => {
  if (!value) return muteState(false, null, now);
  const [muted, until] = value.split('|');
  return muteState(muted === '1', until ? Number(until) : null, now);
};

/** The stored last message, without the bookkeeping of which change it shows (Lua's cjson writes [] for an empty object: never here). */
const lastMessage = (json: string): LastMessage => {
  const { changed_at: _, ...message } = JSON.parse(json) as LastMessage & { changed_at?: number };
  return message;
};

const encodeCursor = (e: InboxEntry) => Buffer.from(`${e.last_activity}|${e.conversation_id}`).toString('base64url');
const decodeCursor = (cursor: string): [number, string] | null => {
  const text = Buffer.from(cursor, 'base64url').toString();
  const bar = text.indexOf('|');
  const activity = Number(text.slice(0, bar));
  const id = text.slice(bar + 1);
  return bar > 0 && Number.isSafeInteger(activity) && id ? [activity, id] : null;
};
/** Newest activity first, ties by conversation id descending (bytes), as SQLite's ORDER BY. */
const newestFirst = (x: InboxEntry, y: InboxEntry) => y.last_activity - x.last_activity || byteCompare(y.conversation_id, x.conversation_id);

const encodeOp = (op: InboxWrite): (string | null)[] => {
  switch (op.op) {
    case 'conversation':
      return ['c', op.conversation_id, op.kind, op.title, String(op.timestamp)];
    case 'join':
      return ['j', op.user_id, op.conversation_id, String(op.position)];
    case 'leave':
      return ['l', op.user_id, op.conversation_id, String(op.position)];
    case 'message': {
      const m = op.last_message;
      return ['m', op.conversation_id, String(m.seq), JSON.stringify(m), String(op.position), String(m.timestamp)];
    }
    case 'read':
      return ['r', op.user_id, op.conversation_id, String(op.read_seq)];
    case 'mentions':
      return ['x', op.conversation_id, String(op.seq), JSON.stringify(op.user_ids)];
    case 'change':
      return ['e', op.conversation_id, String(op.seq), op.preview, String(op.position), op.deleted ? '1' : '0'];
    case 'touch':
      return ['t', op.conversation_id, String(op.position)];
    case 'title':
      return ['n', op.conversation_id, op.title, String(op.position)];
    case 'expire':
      return ['x2', op.conversation_id, String(op.up_to_seq), String(op.position)];
    case 'mute':
      return ['u', op.user_id, op.conversation_id, op.muted ? '1' : '0', op.until === null ? '' : String(op.until), String(op.position)];
  }
};

/**
 * Within a run of `message` and `read` ops (no membership or conversation op in between), only the
 * highest-seq message of each conversation and the highest read of each member can change anything:
 * messages apply only forward and the last applied is the highest, reads merge with max, and neither
 * kind reads what the other writes. Keeping just those makes a batch that a hot conversation fills
 * (catch-up, rebuild) cost one fan-out instead of one per message. Membership ops are barriers:
 * a join reads last_seq, so the messages before it are applied before it.
 */
export const coalesce = (ops: InboxWrite[]): InboxWrite[] => {
  const out: InboxWrite[] = [];
  const messages = new Map<string, Extract<InboxWrite, { op: 'message' }>>();
  const reads = new Map<string, Extract<InboxWrite, { op: 'read' }>>();
  const touches = new Map<string, Extract<InboxWrite, { op: 'touch' }>>();
  const flush = () => {
    out.push(...messages.values(), ...reads.values(), ...touches.values());
    messages.clear();
    reads.clear();
    touches.clear();
  };
  for (const op of ops) {
    if (op.op === 'message') {
      const kept = messages.get(op.conversation_id);
      if (!kept || op.last_message.seq > kept.last_message.seq) messages.set(op.conversation_id, op);
    } else if (op.op === 'read') {
      const key = JSON.stringify([op.user_id, op.conversation_id]);
      const kept = reads.get(key);
      if (!kept || op.read_seq > kept.read_seq) reads.set(key, op);
    } else if (op.op === 'touch') {
      const kept = touches.get(op.conversation_id);
      if (!kept || op.position > kept.position) touches.set(op.conversation_id, op);
    } else if (op.op === 'mentions') {
      // Mentions read nothing the deferred messages and reads write; a delete (a barrier) comes after them.
      out.push(op);
    } else {
      flush();
      out.push(op);
    }
  }
  flush();
  return out;
};

export type RedisInboxOptions = RedisStoreOptions &
  Versioned & {
    /** Groups up to this many active members keep each member's sorted list up to date on every message. */
    fanoutMaxMembers?: number;
  };

export const DEFAULT_INBOX_FANOUT_MAX_MEMBERS = 64;

export const createRedisInboxStore = ({ redis, prefix, version, fanoutMaxMembers = DEFAULT_INBOX_FANOUT_MAX_MEMBERS }: RedisInboxOptions): InboxStore => {
  if (!Number.isSafeInteger(fanoutMaxMembers) || fanoutMaxMembers < 0) throw new RangeError('fanoutMaxMembers must be an integer >= 0');
  const base = storeBase(prefix, 'ibx', version);
  redis.defineCommand('natterInboxApply', { numberOfKeys: 0, lua: APPLY });
  redis.defineCommand('natterInboxPage', { numberOfKeys: 0, lua: PAGE, readOnly: true });
  redis.defineCommand('natterInboxChanged', { numberOfKeys: 0, lua: CHANGED, readOnly: true });
  const commands = redis as Redis & InboxCommands;

  const toCandidate = ([id, kind, title, lastSeq, last, lastPos, activity, state, members, mentions, mute]: PageRow): Candidate | null => {
    if (kind === null || state === null) return null; // removed by a reset between two reads: skip
    const readSeq = Number(state.split('|')[1]);
    return {
      conversation_id: id,
      kind: kind as ConversationKind,
      title,
      members_count: members,
      last_message: last ? lastMessage(last) : null,
      unread_count: Math.max(0, Number(lastSeq) - readSeq),
      unread_mentions: mentions,
      ...parseMute(mute, Date.now()),
      last_activity: Number(activity),
      last_position: Number(lastPos),
      read_seq: readSeq,
    };
  };

  return {
    async write(ops) {
      if (ops.length === 0) return;
      await commands.natterInboxApply(base, String(fanoutMaxMembers), JSON.stringify(coalesce(ops).map(encodeOp)));
    },
    async list(userId, { limit, cursor }) {
      const from = cursor ? decodeCursor(cursor) : null;
      const rows = await commands.natterInboxPage(base, userId, String(limit), from ? String(from[0]) : '');
      const after = from
        ? (e: InboxEntry) => e.last_activity < from[0] || (e.last_activity === from[0] && byteCompare(e.conversation_id, from[1]) < 0)
        : () => true;
      const sorted = rows
        .map(toCandidate)
        .filter((e): e is Candidate => e !== null && after(e))
        .sort(newestFirst);
      const page = sorted.slice(0, limit).map(({ read_seq: _, ...entry }) => entry);
      const last = page[page.length - 1];
      return { items: page, next_cursor: sorted.length > limit && last ? encodeCursor(last) : null };
    },
    async mutedAmong(conversationId, userIds, now) {
      if (userIds.length === 0) return new Set();
      const pipeline = redis.pipeline();
      for (const user of userIds) pipeline.hget(`${base}mute:${user}`, conversationId);
      const values = (await pipeline.exec()) ?? [];
      return new Set(userIds.filter((_, i) => parseMute((values[i]?.[1] as string | null) ?? null, now).muted));
    },
    async changedSince(userId, position) {
      return (await commands.natterInboxChanged(base, userId, String(position))).sort(byteCompare);
    },
    async reset() {
      await deleteUnder(redis, base);
    },
  };
};

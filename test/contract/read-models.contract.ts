import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { HistoryWrite, InboxEntry, InboxWrite, LastMessage, ReadModels, StoredMessage } from '../../ports/read-models.ts';
import type { NatterEvent } from '../../contracts/events.ts';
import type { Recorded } from '../../ports/projector.ts';
import { directoryOps } from '../../projections/directory/projector.ts';
import { historyOps } from '../../projections/history/projector.ts';
import { sends } from '../support/history.ts';
import { inboxOps } from '../../projections/inbox/projector.ts';
import { receiptOps } from '../../projections/receipts/projector.ts';

/**
 * The read-model contract: every adapter runs this file unchanged, through the port interfaces
 * only. `open` returns read models over an empty or shared backend; every test uses fresh ids, so
 * adapters may share one server. The `reset()` tests come last and empty whole stores: an adapter
 * whose backend is shared with suites running at the same time should give each `open()` its own
 * namespace (key prefix, keyspace, schema).
 */
export type Store = 'history' | 'directory' | 'inbox' | 'receipts' | 'users' | 'checkpoints';
const allStores: Store[] = ['history', 'directory', 'inbox', 'receipts', 'users', 'checkpoints'];

/**
 * `stores` names the stores `open` provides, for adapters that fill only some ports (Cassandra
 * history, Redis for the rest); the tests that span every store run when all are given.
 */
export const readModelsContract = (name: string, open: () => Promise<ReadModels>, stores: Store[] = allStores) => {
  const has = (store: Store | 'all') => (store === 'all' ? allStores.every((s) => stores.includes(s)) : stores.includes(store));
  const section = (store: Store | 'all', title: string, fn: () => void) => {
    if (has(store)) describe(title, fn);
  };
  const itFor = (store: Store) => (title: string, fn: () => Promise<void>) => {
    if (has(store)) it(title, fn);
  };
  describe(`read models contract: ${name}`, () => {
    let rm: ReadModels;
    before(async () => {
      rm = await open();
    });
    after(async () => {
      await rm.close();
    });

    const T0 = 1_700_000_000_000;
    const uid = (prefix: string) => `${prefix}-${randomUUID()}`;
    const sortedIds = (ids: string[]) => [...ids].sort();

    const stored = (conversationId: string, seq: number, overrides: Partial<StoredMessage> = {}): StoredMessage => {
      const position = overrides.position ?? seq * 100;
      return {
        conversation_id: conversationId,
        seq,
        message_id: `m-${seq}-${conversationId}`,
        sender_id: seq % 2 ? 'alice' : 'bob',
        client_msg_id: `k-${seq}`,
        content: `héllo ✓ 🎉 ${seq}`,
        content_type: 'text',
        timestamp: T0 + seq,
        position,
        reply_to_seq: null,
        mentions: [],
        edited_at: null,
        deleted: false,
        reply_count: 0,
        reactions: [],
        updated_position: position,
        ...overrides,
      };
    };
    /** Inserts messages as the history projector does for MessageSent. */
    const put = (messages: StoredMessage[]) => rm.history.write(sends(messages));
    const seqs = (messages: StoredMessage[]) => messages.map((m) => m.seq);

    section('history', 'history', () => {
      const filled = async (count = 10) => {
        const id = uid('c');
        await put(Array.from({ length: count }, (_, i) => stored(id, i + 1)));
        return id;
      };

      it('writes messages and reads them back unchanged, ascending', async () => {
        const id = uid('c');
        const messages = [stored(id, 1), stored(id, 2, { content_type: 'media', content: 'https://x/y.png' }), stored(id, 3, { content_type: 'ciphertext' })];
        await put(messages);
        assert.deepEqual(await rm.history.page(id, { limit: 10 }), messages);
      });

      it('is idempotent: writing the same batch twice stores each message once', async () => {
        const id = uid('c');
        const batch = [1, 2, 3, 4].map((seq) => stored(id, seq));
        await put(batch);
        await put(batch);
        assert.deepEqual(await rm.history.page(id, { limit: 100 }), batch);
      });

      it('never lets a replayed row change an existing one', async () => {
        const id = uid('c');
        const original = stored(id, 1);
        await put([original]);
        await put([stored(id, 1, { message_id: 'other', content: 'changed', position: 999_999, timestamp: 1 }), stored(id, 2)]);
        assert.deepEqual(await rm.history.page(id, { limit: 100 }), [original, stored(id, 2)]);
        assert.deepEqual(await rm.history.afterPosition(id, 0, 1_000_000, 100), [original, stored(id, 2)]);
      });

      it('accepts an empty batch', async () => {
        await put([]);
      });

      it('keeps conversations apart', async () => {
        const a = await filled(3);
        const b = await filled(5);
        assert.deepEqual(seqs(await rm.history.page(a, { limit: 100 })), [1, 2, 3]);
        assert.deepEqual(
          (await rm.history.page(b, { limit: 100 })).map((m) => m.conversation_id),
          Array(5).fill(b),
        );
        assert.deepEqual(await rm.history.page(uid('c'), { limit: 100 }), []);
      });

      it('page() with neither bound returns the newest `limit`, ascending', async () => {
        const id = await filled();
        assert.deepEqual(seqs(await rm.history.page(id, { limit: 3 })), [8, 9, 10]);
        assert.deepEqual(seqs(await rm.history.page(id, { limit: 100 })), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      });

      it('page() with `before` pages back, exclusive, ascending', async () => {
        const id = await filled();
        assert.deepEqual(seqs(await rm.history.page(id, { before: 8, limit: 3 })), [5, 6, 7]);
        assert.deepEqual(seqs(await rm.history.page(id, { before: 5, limit: 3 })), [2, 3, 4]);
        assert.deepEqual(seqs(await rm.history.page(id, { before: 2, limit: 3 })), [1]);
        assert.deepEqual(seqs(await rm.history.page(id, { before: 1, limit: 3 })), []);
        assert.deepEqual(seqs(await rm.history.page(id, { before: 100, limit: 2 })), [9, 10]);
      });

      it('page() with `after` pages forward, exclusive, ascending', async () => {
        const id = await filled();
        assert.deepEqual(seqs(await rm.history.page(id, { after: 0, limit: 3 })), [1, 2, 3]);
        assert.deepEqual(seqs(await rm.history.page(id, { after: 3, limit: 3 })), [4, 5, 6]);
        assert.deepEqual(seqs(await rm.history.page(id, { after: 8, limit: 3 })), [9, 10]);
        assert.deepEqual(seqs(await rm.history.page(id, { after: 10, limit: 3 })), []);
      });

      it('pages back and forward through the whole history without gaps or duplicates', async () => {
        const id = await filled(23);
        const back: number[] = [];
        for (let page = await rm.history.page(id, { limit: 5 }); page.length > 0; page = await rm.history.page(id, { before: page[0]!.seq, limit: 5 })) {
          back.unshift(...seqs(page));
        }
        const forward: number[] = [];
        for (
          let page = await rm.history.page(id, { after: 0, limit: 5 });
          page.length > 0;
          page = await rm.history.page(id, { after: page[page.length - 1]!.seq, limit: 5 })
        ) {
          forward.push(...seqs(page));
        }
        const all = Array.from({ length: 23 }, (_, i) => i + 1);
        assert.deepEqual(back, all);
        assert.deepEqual(forward, all);
      });

      it('page() with both bounds returns what lies strictly between them, ascending', async () => {
        const id = await filled();
        assert.deepEqual(seqs(await rm.history.page(id, { after: 3, before: 7, limit: 10 })), [4, 5, 6]);
        assert.deepEqual(seqs(await rm.history.page(id, { after: 3, before: 4, limit: 10 })), []);
        assert.deepEqual(seqs(await rm.history.page(id, { after: 0, before: 100, limit: 100 })), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        // With a limit below the range, which end is served is the adapter's; it is still a
        // contiguous ascending run within the bounds.
        const limited = seqs(await rm.history.page(id, { after: 2, before: 9, limit: 3 }));
        assert.equal(limited.length, 3);
        assert.ok(
          limited.every((s) => s > 2 && s < 9),
          `${limited} within (2, 9)`,
        );
        assert.deepEqual(limited, [limited[0]!, limited[0]! + 1, limited[0]! + 2]);
      });

      it('afterPosition() returns after < position <= upTo, ascending, at most `limit`', async () => {
        const id = await filled();
        assert.deepEqual(seqs(await rm.history.afterPosition(id, 300, 700, 100)), [4, 5, 6, 7]);
        assert.deepEqual(seqs(await rm.history.afterPosition(id, 300, 700, 2)), [4, 5]);
        assert.deepEqual(seqs(await rm.history.afterPosition(id, 350, 650, 100)), [4, 5, 6]);
        assert.deepEqual(seqs(await rm.history.afterPosition(id, 0, 100, 100)), [1]);
        assert.deepEqual(seqs(await rm.history.afterPosition(id, 1000, 5000, 100)), []);
        assert.deepEqual(seqs(await rm.history.afterPosition(id, 500, 500, 100)), []);
        assert.deepEqual(
          await rm.history.afterPosition(id, 0, 1000, 100),
          Array.from({ length: 10 }, (_, i) => stored(id, i + 1)),
        );
      });
    });

    section('history', 'history after send: edits, deletes, reactions, replies', () => {
      const edit = (id: string, seq: number, content: string, position: number): HistoryWrite => ({
        op: 'edit',
        conversation_id: id,
        seq,
        content,
        edited_at: T0 + position,
        position,
      });
      const remove = (id: string, seq: number, position: number): HistoryWrite => ({ op: 'delete', conversation_id: id, seq, position });
      const react = (id: string, seq: number, emoji: string, user: string, present: boolean, position: number): HistoryWrite => ({
        op: 'reaction',
        conversation_id: id,
        seq,
        emoji,
        user_id: user,
        present,
        position,
      });
      const one = async (id: string, seq: number) => (await rm.history.page(id, { after: seq - 1, before: seq + 1, limit: 1 }))[0]!;

      it('shows the latest edit, whatever order a replay applies them in', async () => {
        const id = uid('c');
        await put([stored(id, 1), stored(id, 2)]);
        await rm.history.write([edit(id, 1, 'second', 2_000), edit(id, 1, 'first', 1_000)]);
        await rm.history.write([edit(id, 1, 'first', 1_000)]);
        assert.deepEqual(await one(id, 1), { ...stored(id, 1), content: 'second', edited_at: T0 + 2_000, updated_position: 2_000 });
        assert.deepEqual(await one(id, 2), stored(id, 2), 'the other message is untouched');
      });

      it('blanks a deleted message for good: no text, mentions or reactions, and a later edit cannot bring it back', async () => {
        const id = uid('c');
        await put([stored(id, 1, { mentions: ['bob'] }), stored(id, 2)]);
        await rm.history.write([react(id, 1, '👍', 'bob', true, 1_000), remove(id, 1, 2_000), edit(id, 1, 'sneaky', 3_000)]);
        await rm.history.write([remove(id, 1, 2_000)]);
        const shown = await one(id, 1);
        assert.deepEqual(
          { content: shown.content, deleted: shown.deleted, mentions: shown.mentions, reactions: shown.reactions },
          { content: '', deleted: true, mentions: [], reactions: [] },
        );
        assert.equal(shown.seq, 1, 'it keeps its seq');
        assert.ok(shown.updated_position >= 2_000);
      });

      it('sums reactions per emoji with count and reactors, a reaction being present or not by the later position', async () => {
        const id = uid('c');
        await put([stored(id, 1), stored(id, 2)]);
        await rm.history.write([
          react(id, 1, '👍', 'bob', true, 1_000),
          react(id, 1, '👍', 'carol', true, 1_100),
          react(id, 1, '🎉', 'bob', true, 1_200),
          react(id, 1, '🎉', 'bob', false, 1_300),
          react(id, 2, '❤️', 'dan', true, 1_400),
        ]);
        // A replay of an older add does not resurrect a removed reaction.
        await rm.history.write([react(id, 1, '🎉', 'bob', true, 1_200)]);
        assert.deepEqual((await one(id, 1)).reactions, [{ emoji: '👍', count: 2, user_ids: ['bob', 'carol'] }]);
        assert.deepEqual((await one(id, 2)).reactions, [{ emoji: '❤️', count: 1, user_ids: ['dan'] }]);
        assert.equal((await one(id, 1)).updated_position, 1_300);
      });

      it('caps the reactors shown while count stays the truth', async () => {
        const id = uid('c');
        await put([stored(id, 1)]);
        await rm.history.write(Array.from({ length: 25 }, (_, i) => react(id, 1, '👍', `u${String(i).padStart(2, '0')}`, true, 1_000 + i)));
        const [summary] = (await one(id, 1)).reactions;
        assert.equal(summary!.count, 25);
        assert.equal(summary!.user_ids.length, 20);
      });

      it('counts and lists the replies to a message, ascending, with paging', async () => {
        const id = uid('c');
        await put([stored(id, 1), stored(id, 2, { reply_to_seq: 1 }), stored(id, 3), stored(id, 4, { reply_to_seq: 1 }), stored(id, 5, { reply_to_seq: 3 })]);
        assert.equal((await one(id, 1)).reply_count, 2);
        assert.equal((await one(id, 3)).reply_count, 1);
        assert.equal((await one(id, 2)).reply_count, 0);
        assert.deepEqual(seqs(await rm.history.replies(id, 1, { after: 0, limit: 10 })), [2, 4]);
        assert.deepEqual(seqs(await rm.history.replies(id, 1, { after: 2, limit: 10 })), [4]);
        assert.deepEqual(seqs(await rm.history.replies(id, 1, { after: 0, limit: 1 })), [2]);
        assert.deepEqual(await rm.history.replies(id, 2, { after: 0, limit: 10 }), []);
        assert.equal((await rm.history.replies(id, 1, { after: 0, limit: 10 }))[0]!.reply_to_seq, 1);
      });

      it('drops every message up to an expired seq, with its reactions and replies; a replayed log ends the same', async () => {
        const id = uid('c');
        const expire: HistoryWrite = { op: 'expire', conversation_id: id, up_to_seq: 2, position: 500 };
        await put([stored(id, 1), stored(id, 2, { reply_to_seq: 1 }), stored(id, 3), stored(id, 4)]);
        await rm.history.write([react(id, 2, '👍', 'bob', true, 450), expire]);
        // Redelivered in log order from an earlier checkpoint: the sends, the reaction, the expiry again.
        await put([stored(id, 1), stored(id, 2, { reply_to_seq: 1 })]);
        await rm.history.write([react(id, 2, '👍', 'bob', true, 450), expire]);
        assert.deepEqual(seqs(await rm.history.page(id, { limit: 10 })), [3, 4], 'the oldest page starts after the horizon');
        assert.deepEqual(seqs(await rm.history.afterPosition(id, 0, 1_000, 10)), [3, 4]);
        assert.deepEqual(await rm.history.replies(id, 1, { after: 0, limit: 10 }), []);
      });

      it('finds the messages changed after a position, by the position of their last change, sent at or before it', async () => {
        const id = uid('c');
        await put([1, 2, 3, 4].map((seq) => stored(id, seq)));
        await rm.history.write([edit(id, 2, 'edited', 500), react(id, 1, '👍', 'bob', true, 600), remove(id, 3, 700), edit(id, 4, 'late', 900)]);
        // Sync from 300: messages 1-3 were sent by then; 4 (position 400) is new, and sent as new.
        assert.deepEqual(seqs(await rm.history.changedAfter(id, 300, 800, 10)), [2, 1, 3]);
        assert.deepEqual(seqs(await rm.history.changedAfter(id, 300, 650, 10)), [2, 1]);
        assert.deepEqual(seqs(await rm.history.changedAfter(id, 550, 800, 1)), [1]);
        assert.deepEqual(seqs(await rm.history.changedAfter(id, 400, 1_000, 10)), [2, 1, 3, 4]);
        assert.deepEqual(await rm.history.changedAfter(id, 900, 1_000, 10), []);
      });
    });

    section('directory', 'directory', () => {
      const created = (id: string, members: string[], kind: 'direct' | 'group' = 'group') =>
        rm.directory.write([
          { op: 'conversation', conversation_id: id, kind, title: kind === 'group' ? 'Team ✓' : null, created_by: members[0]!, created_at: T0 },
          { op: 'members', conversation_id: id, user_ids: members, active: true },
        ]);

      it("keeps a conversation's retention (the later change winning) and pages every conversation by id", async () => {
        const prefix = uid('r');
        const ids = [`${prefix}-a`, `${prefix}-b`, `${prefix}-c`];
        for (const id of ids) await created(id, [uid('u')]);
        await rm.directory.write([
          { op: 'retention', conversation_id: ids[1]!, retention_days: 7, position: 5 },
          { op: 'retention', conversation_id: ids[1]!, retention_days: 30, position: 4 },
        ]);
        assert.equal((await rm.directory.get(ids[1]!))!.retention_days, 7);
        await rm.directory.write([{ op: 'retention', conversation_id: ids[1]!, retention_days: null, position: 6 }]);
        assert.equal((await rm.directory.get(ids[1]!))!.retention_days, null);
        await rm.directory.write([{ op: 'retention', conversation_id: ids[2]!, retention_days: 1, position: 7 }]);
        const seen: Array<{ conversation_id: string; retention_days: number | null }> = [];
        for (let after = `${prefix}-`; ; ) {
          const page = (await rm.directory.conversations(after, 2)).filter((c) => c.conversation_id.startsWith(prefix));
          seen.push(...page);
          if (page.length < 2) break;
          after = page[page.length - 1]!.conversation_id;
        }
        assert.deepEqual(seen, [
          { conversation_id: ids[0], retention_days: null },
          { conversation_id: ids[1], retention_days: null },
          { conversation_id: ids[2], retention_days: 1 },
        ]);
      });

      it('keeps admins among active members, and a rename only over an older one', async () => {
        const id = uid('c');
        const [a, b, c] = [uid('a'), uid('b'), uid('c')];
        await created(id, [a, b, c]);
        await rm.directory.write([{ op: 'admins', conversation_id: id, user_ids: [a, b], admin: true }]);
        assert.deepEqual(sortedIds((await rm.directory.get(id))!.admins), sortedIds([a, b]));
        await rm.directory.write([
          { op: 'admins', conversation_id: id, user_ids: [a], admin: false },
          { op: 'members', conversation_id: id, user_ids: [b], active: false },
        ]);
        assert.deepEqual((await rm.directory.get(id))!.admins, [], 'a member who leaves is no admin any more');
        await rm.directory.write([{ op: 'members', conversation_id: id, user_ids: [b], active: true }]);
        assert.deepEqual((await rm.directory.get(id))!.admins, [], 'nor when they come back');
        await rm.directory.write([
          { op: 'title', conversation_id: id, title: 'Newer', position: 20 },
          { op: 'title', conversation_id: id, title: 'Older', position: 10 },
        ]);
        assert.equal((await rm.directory.get(id))!.title, 'Newer');
        await rm.directory.write([{ op: 'title', conversation_id: uid('missing'), title: 'x', position: 30 }]);
        assert.equal(await rm.directory.get(uid('missing')), null, 'a rename does not create a conversation');
      });

      it('stores a conversation with its members', async () => {
        const id = uid('c');
        const [a, b, c] = [uid('a'), uid('b'), uid('c')];
        await created(id, [a, b, c]);
        const info = await rm.directory.get(id);
        assert.ok(info);
        assert.deepEqual(
          { ...info, members: sortedIds(info.members) },
          {
            conversation_id: id,
            kind: 'group',
            title: 'Team ✓',
            created_by: a,
            members: sortedIds([a, b, c]),
            admins: [],
            retention_days: null,
          },
        );
        assert.deepEqual(sortedIds(await rm.directory.members(id)), sortedIds([a, b, c]));
      });

      it('stores a direct conversation with a null title', async () => {
        const id = uid('c');
        const [a, b] = [uid('a'), uid('b')];
        await created(id, [a, b], 'direct');
        const info = await rm.directory.get(id);
        assert.equal(info?.kind, 'direct');
        assert.equal(info?.title, null);
      });

      it('returns null and no members for an unknown conversation', async () => {
        assert.equal(await rm.directory.get(uid('c')), null);
        assert.deepEqual(await rm.directory.members(uid('c')), []);
        assert.deepEqual(await rm.directory.conversationsOf(uid('u')), []);
      });

      it('deactivates a removed member and reactivates a re-added one', async () => {
        const id = uid('c');
        const [a, b, c] = [uid('a'), uid('b'), uid('c')];
        await created(id, [a, b, c]);
        await rm.directory.write([{ op: 'members', conversation_id: id, user_ids: [b], active: false }]);
        assert.deepEqual(sortedIds(await rm.directory.members(id)), sortedIds([a, c]));
        assert.deepEqual(sortedIds((await rm.directory.get(id))!.members), sortedIds([a, c]));
        assert.deepEqual(await rm.directory.conversationsOf(b), []);
        await rm.directory.write([{ op: 'members', conversation_id: id, user_ids: [b], active: true }]);
        assert.deepEqual(sortedIds(await rm.directory.members(id)), sortedIds([a, b, c]));
        assert.deepEqual(await rm.directory.conversationsOf(b), [id]);
      });

      it('lists the conversations where a user is an active member', async () => {
        const [u, v] = [uid('u'), uid('v')];
        const [c1, c2, c3] = [uid('c'), uid('c'), uid('c')];
        await created(c1, [u, v]);
        await created(c2, [v, u]);
        await created(c3, [v]);
        assert.deepEqual(sortedIds(await rm.directory.conversationsOf(u)), sortedIds([c1, c2]));
        assert.deepEqual(sortedIds(await rm.directory.conversationsOf(v)), sortedIds([c1, c2, c3]));
        await rm.directory.write([{ op: 'members', conversation_id: c1, user_ids: [u], active: false }]);
        assert.deepEqual(await rm.directory.conversationsOf(u), [c2]);
      });

      it('is idempotent: a replayed conversation op changes nothing and members stay unique', async () => {
        const id = uid('c');
        const [a, b] = [uid('a'), uid('b')];
        await created(id, [a, b]);
        await rm.directory.write([
          { op: 'conversation', conversation_id: id, kind: 'group', title: 'Team ✓', created_by: a, created_at: T0 },
          { op: 'members', conversation_id: id, user_ids: [a, b], active: true },
        ]);
        assert.deepEqual(sortedIds(await rm.directory.members(id)), sortedIds([a, b]));
        assert.deepEqual(await rm.directory.conversationsOf(a), [id]);
      });

      it('accepts an empty batch', async () => {
        await rm.directory.write([]);
      });
    });

    section('inbox', 'inbox', () => {
      type Msg = { seq: number; sender: string; ts: number; position: number };
      const conversation = (id: string, ts = T0, kind: 'direct' | 'group' = 'group'): InboxWrite => ({
        op: 'conversation',
        conversation_id: id,
        kind,
        title: kind === 'group' ? `title ${id}` : null,
        timestamp: ts,
      });
      // Membership ops carry the log position of their event; later ops get later positions.
      let membershipPosition = 0;
      const join = (user: string, id: string, ts = T0): InboxWrite => ({
        op: 'join',
        user_id: user,
        conversation_id: id,
        timestamp: ts,
        position: ++membershipPosition,
      });
      const leave = (user: string, id: string): InboxWrite => ({ op: 'leave', user_id: user, conversation_id: id, position: ++membershipPosition });
      const lastMessage = ({ seq, sender, ts }: Msg): LastMessage => ({
        message_id: `m-${seq}`,
        seq,
        sender_id: sender,
        preview: `preview ${seq} ✓`,
        timestamp: ts,
      });
      const message = (id: string, m: Msg): InboxWrite => ({ op: 'message', conversation_id: id, last_message: lastMessage(m), position: m.position });
      const read = (user: string, id: string, seq: number): InboxWrite => ({ op: 'read', user_id: user, conversation_id: id, read_seq: seq });
      /** What the projector emits for a MessageSent: the message, and the sender has read it. */
      const sent = (id: string, m: Msg): InboxWrite[] => [message(id, m), read(m.sender, id, m.seq)];

      const listAll = async (user: string, limit: number) => {
        const items: InboxEntry[] = [];
        let cursor: string | undefined;
        for (let pages = 0; ; pages++) {
          assert.ok(pages < 1000, 'pagination terminates');
          const page = await rm.inbox.list(user, { limit, ...(cursor ? { cursor } : {}) });
          assert.ok(page.items.length <= limit, 'a page holds at most `limit` items');
          items.push(...page.items);
          if (page.next_cursor === null) return items;
          assert.ok(page.items.length > 0, 'only the last page may be empty');
          cursor = page.next_cursor;
        }
      };
      const entry = async (user: string, id: string) => (await listAll(user, 1000)).find((e) => e.conversation_id === id);
      const unread = async (user: string, id: string) => (await entry(user, id))?.unread_count;

      it("shows a member's mute (until a time, or until unmuted) and lets it run out; a rename changes the title", async () => {
        const [id, a, b] = [uid('c'), uid('a'), uid('b')];
        const now = Date.now();
        await rm.inbox.write([conversation(id), join(a, id), join(b, id)]);
        await rm.inbox.write([
          { op: 'mute', user_id: a, conversation_id: id, muted: true, until: now + 60_000, position: 10 },
          { op: 'mute', user_id: b, conversation_id: id, muted: true, until: null, position: 11 },
        ]);
        assert.deepEqual([(await entry(a, id))!.muted, (await entry(a, id))!.muted_until], [true, now + 60_000]);
        assert.deepEqual([(await entry(b, id))!.muted, (await entry(b, id))!.muted_until], [true, null]);
        assert.deepEqual([...(await rm.inbox.mutedAmong(id, [a, b, uid('x')], now))].sort(), sortedIds([a, b]));
        assert.deepEqual([...(await rm.inbox.mutedAmong(id, [a, b], now + 120_000))], [b], 'a mute until a time runs out by itself');
        await rm.inbox.write([
          { op: 'mute', user_id: b, conversation_id: id, muted: false, until: null, position: 13 },
          { op: 'mute', user_id: b, conversation_id: id, muted: true, until: null, position: 12 },
        ]);
        assert.deepEqual(
          [(await entry(b, id))!.muted, (await entry(b, id))!.muted_until],
          [false, null],
          'an older mute replayed after the unmute changes nothing',
        );
        await rm.inbox.write([
          { op: 'title', conversation_id: id, title: 'Renamed ✓', position: 20 },
          { op: 'title', conversation_id: id, title: 'stale', position: 15 },
        ]);
        assert.equal((await entry(a, id))!.title, 'Renamed ✓');
        // A mute replayed before the join (it lives in the user's stream): it holds once the member joins.
        const [late, c] = [uid('c'), uid('c-user')];
        await rm.inbox.write([conversation(late), { op: 'mute', user_id: c, conversation_id: late, muted: true, until: null, position: 1 }, join(c, late)]);
        assert.equal((await entry(c, late))!.muted, true);
      });

      it('counts unread mentions above the read watermark, and drops those of a deleted message', async () => {
        const [id, a, b] = [uid('c'), uid('a'), uid('b')];
        await rm.inbox.write([conversation(id), join(a, id), join(b, id)]);
        await rm.inbox.write([...sent(id, { seq: 1, sender: a, ts: T0 + 1, position: 1_001 }), { op: 'mentions', conversation_id: id, seq: 1, user_ids: [b] }]);
        await rm.inbox.write([...sent(id, { seq: 2, sender: a, ts: T0 + 2, position: 1_002 }), { op: 'mentions', conversation_id: id, seq: 2, user_ids: [b] }]);
        await rm.inbox.write([...sent(id, { seq: 3, sender: a, ts: T0 + 3, position: 1_003 })]);
        assert.equal((await entry(b, id))!.unread_mentions, 2);
        assert.equal((await entry(a, id))!.unread_mentions, 0);
        await rm.inbox.write([read(b, id, 1)]);
        assert.equal((await entry(b, id))!.unread_mentions, 1);
        await rm.inbox.write([{ op: 'change', conversation_id: id, seq: 2, preview: '', deleted: true, position: 1_004 }]);
        assert.equal((await entry(b, id))!.unread_mentions, 0);
        await rm.inbox.write([{ op: 'mentions', conversation_id: id, seq: 2, user_ids: [b] }]);
        assert.ok((await entry(b, id))!.unread_mentions <= 1, 'a replayed mention stays bounded');
      });

      it('follows an edit and a delete of the last message in the preview, and ignores changes of older ones', async () => {
        const [id, a] = [uid('c'), uid('a')];
        await rm.inbox.write([
          conversation(id),
          join(a, id),
          ...sent(id, { seq: 1, sender: a, ts: T0 + 1, position: 2_001 }),
          ...sent(id, { seq: 2, sender: a, ts: T0 + 2, position: 2_002 }),
        ]);
        await rm.inbox.write([{ op: 'change', conversation_id: id, seq: 1, preview: 'old one edited', deleted: false, position: 2_003 }]);
        assert.equal((await entry(a, id))!.last_message!.preview, 'preview 2 ✓');
        await rm.inbox.write([{ op: 'change', conversation_id: id, seq: 2, preview: 'fixed typo', deleted: false, position: 2_004 }]);
        const edited = (await entry(a, id))!.last_message!;
        assert.equal(edited.preview, 'fixed typo');
        assert.equal(edited.edited, true);
        await rm.inbox.write([{ op: 'change', conversation_id: id, seq: 2, preview: '', deleted: true, position: 2_005 }]);
        await rm.inbox.write([{ op: 'change', conversation_id: id, seq: 2, preview: 'fixed typo', deleted: false, position: 2_004 }]);
        const deleted = (await entry(a, id))!.last_message!;
        assert.equal(deleted.preview, '', 'a replayed edit does not bring the text back');
        assert.equal(deleted.deleted, true);
        assert.ok(!JSON.stringify(await rm.inbox.list(a, { limit: 10 })).includes('fixed typo'));
      });

      it('drops the preview of an expired last message and its mentions, and keeps a newer preview', async () => {
        const [id, a, b] = [uid('c'), uid('a'), uid('b')];
        await rm.inbox.write([
          conversation(id),
          join(a, id),
          join(b, id),
          ...sent(id, { seq: 1, sender: a, ts: T0 + 1, position: 4_001 }),
          { op: 'mentions', conversation_id: id, seq: 1, user_ids: [b] },
        ]);
        await rm.inbox.write([{ op: 'expire', conversation_id: id, up_to_seq: 1, position: 4_002 }]);
        assert.equal((await entry(b, id))!.last_message, null);
        assert.equal((await entry(b, id))!.unread_mentions, 0);
        await rm.inbox.write([...sent(id, { seq: 2, sender: a, ts: T0 + 2, position: 4_003 })]);
        await rm.inbox.write([{ op: 'expire', conversation_id: id, up_to_seq: 1, position: 4_002 }]);
        assert.equal((await entry(b, id))!.last_message!.seq, 2, 'a newer last message stays');
      });

      it('reports a conversation as changed since a position when an edit, delete or reaction came after it', async () => {
        const [id, a] = [uid('c'), uid('a')];
        await rm.inbox.write([conversation(id), join(a, id), ...sent(id, { seq: 1, sender: a, ts: T0 + 1, position: 3_001 })]);
        assert.deepEqual(await rm.inbox.changedSince(a, 3_001), []);
        await rm.inbox.write([{ op: 'touch', conversation_id: id, position: 3_010 }]);
        assert.deepEqual(await rm.inbox.changedSince(a, 3_001), [id]);
        assert.deepEqual(await rm.inbox.changedSince(a, 3_010), []);
        await rm.inbox.write([{ op: 'change', conversation_id: id, seq: 1, preview: 'x', deleted: false, position: 3_020 }]);
        assert.deepEqual(await rm.inbox.changedSince(a, 3_010), [id]);
      });

      it("lists a member's conversation with its kind, title, members, last message and unread count", async () => {
        const id = uid('c');
        const [a, b] = [uid('a'), uid('b')];
        const m = { seq: 1, sender: a, ts: T0 + 10, position: 1234 };
        await rm.inbox.write([conversation(id), join(a, id), join(b, id), ...sent(id, m)]);
        const { items, next_cursor } = await rm.inbox.list(b, { limit: 10 });
        assert.equal(next_cursor, null);
        assert.deepEqual(items, [
          {
            conversation_id: id,
            kind: 'group',
            title: `title ${id}`,
            members_count: 2,
            last_message: lastMessage(m),
            unread_count: 1,
            unread_mentions: 0,
            muted: false,
            muted_until: null,
            last_activity: T0 + 10,
            last_position: 1234,
          },
        ]);
      });

      it('lists a conversation without messages with no last message, its creation as last activity, nothing unread', async () => {
        const id = uid('c');
        const a = uid('a');
        await rm.inbox.write([conversation(id, T0 + 5, 'direct'), join(a, id)]);
        assert.deepEqual(await entry(a, id), {
          conversation_id: id,
          kind: 'direct',
          title: null,
          members_count: 1,
          last_message: null,
          unread_count: 0,
          unread_mentions: 0,
          muted: false,
          muted_until: null,
          last_activity: T0 + 5,
          last_position: 0,
        });
      });

      it('returns an empty list for a user with no conversations', async () => {
        assert.deepEqual(await rm.inbox.list(uid('u'), { limit: 10 }), { items: [], next_cursor: null });
      });

      it('orders conversations by last activity, newest first', async () => {
        const u = uid('u');
        const [c1, c2, c3] = [uid('c'), uid('c'), uid('c')];
        await rm.inbox.write([conversation(c1, T0 + 1000), join(u, c1), conversation(c2, T0 + 2000), join(u, c2), conversation(c3, T0 + 3000), join(u, c3)]);
        assert.deepEqual(
          (await listAll(u, 10)).map((e) => e.conversation_id),
          [c3, c2, c1],
        );
        await rm.inbox.write(sent(c1, { seq: 1, sender: u, ts: T0 + 4000, position: 10 }));
        assert.deepEqual(
          (await listAll(u, 10)).map((e) => e.conversation_id),
          [c1, c3, c2],
        );
        await rm.inbox.write(sent(c2, { seq: 1, sender: u, ts: T0 + 5000, position: 11 }));
        assert.deepEqual(
          (await listAll(u, 10)).map((e) => e.conversation_id),
          [c2, c1, c3],
        );
      });

      it('paginates with a cursor: complete, without duplicates, in the same order whatever the page size, ties included', async () => {
        const u = uid('u');
        const activities = [5, 5, 5, 3, 3, 9, 1, 5, 7, 3, 3];
        const ids = activities.map(() => uid('c'));
        await rm.inbox.write(ids.flatMap((id, i) => [conversation(id, T0 + activities[i]!), join(u, id)]));
        // One more conversation reaches a tie through a message rather than its creation.
        const late = uid('c');
        await rm.inbox.write([conversation(late, T0), join(u, late), message(late, { seq: 1, sender: uid('x'), ts: T0 + 5, position: 1 })]);
        const everything = [...ids, late];

        const full = await listAll(u, 1000);
        assert.deepEqual(sortedIds(full.map((e) => e.conversation_id)), sortedIds(everything));
        for (let i = 1; i < full.length; i++) assert.ok(full[i - 1]!.last_activity >= full[i]!.last_activity, 'newest first');
        for (const limit of [1, 2, 3, 4, 5, 11, 12]) {
          const paged = (await listAll(u, limit)).map((e) => e.conversation_id);
          assert.deepEqual(
            paged,
            full.map((e) => e.conversation_id),
            `limit ${limit}: same order, nothing missed or repeated`,
          );
        }
        const first = await rm.inbox.list(u, { limit: 100 });
        assert.equal(first.next_cursor, null, 'no cursor when everything fits');
      });

      it('keeps the next page stable when conversations move to or appear at the top between pages', async () => {
        const u = uid('u');
        const ids = [1, 2, 3, 4].map(() => uid('c'));
        await rm.inbox.write(ids.flatMap((id, i) => [conversation(id, T0 + 10 * (4 - i)), join(u, id)]));
        const page1 = await rm.inbox.list(u, { limit: 2 });
        assert.deepEqual(
          page1.items.map((e) => e.conversation_id),
          [ids[0], ids[1]],
        );
        const fresh = uid('c');
        await rm.inbox.write([conversation(fresh, T0 + 90), join(u, fresh)]);
        await rm.inbox.write(sent(ids[1]!, { seq: 1, sender: u, ts: T0 + 100, position: 5 }));
        const page2 = await rm.inbox.list(u, { limit: 2, cursor: page1.next_cursor! });
        assert.deepEqual(
          page2.items.map((e) => e.conversation_id),
          [ids[2], ids[3]],
        );
        assert.equal(page2.next_cursor, null);
      });

      it('counts unread as last seq minus read seq, and a sender has read their own messages', async () => {
        const id = uid('c');
        const [a, b] = [uid('a'), uid('b')];
        await rm.inbox.write([conversation(id), join(a, id), join(b, id)]);
        await rm.inbox.write([
          ...sent(id, { seq: 1, sender: a, ts: T0 + 1, position: 1 }),
          ...sent(id, { seq: 2, sender: a, ts: T0 + 2, position: 2 }),
          ...sent(id, { seq: 3, sender: a, ts: T0 + 3, position: 3 }),
        ]);
        assert.equal(await unread(a, id), 0);
        assert.equal(await unread(b, id), 3);
        await rm.inbox.write([read(b, id, 2)]);
        assert.equal(await unread(b, id), 1);
        await rm.inbox.write([read(b, id, 1)]);
        assert.equal(await unread(b, id), 1, 'a lower read never moves the watermark back');
        await rm.inbox.write(sent(id, { seq: 4, sender: b, ts: T0 + 4, position: 4 }));
        assert.equal(await unread(b, id), 0, "sending reads everything up to one's own message");
        assert.equal(await unread(a, id), 1);
      });

      it('starts a member who joins after N messages with nothing unread', async () => {
        const id = uid('c');
        const [a, c] = [uid('a'), uid('c')];
        await rm.inbox.write([conversation(id), join(a, id)]);
        await rm.inbox.write([1, 2, 3, 4].flatMap((seq) => sent(id, { seq, sender: a, ts: T0 + seq, position: seq })));
        await rm.inbox.write([join(c, id, T0 + 10)]);
        assert.equal(await unread(c, id), 0);
        assert.equal((await entry(c, id))?.members_count, 2);
        await rm.inbox.write(sent(id, { seq: 5, sender: a, ts: T0 + 11, position: 5 }));
        assert.equal(await unread(c, id), 1);
      });

      it('keeps the unread count of a member whose join is replayed', async () => {
        const id = uid('c');
        const [a, b] = [uid('a'), uid('b')];
        const joinB = join(b, id);
        await rm.inbox.write([conversation(id), join(a, id), joinB]);
        await rm.inbox.write([1, 2, 3].flatMap((seq) => sent(id, { seq, sender: a, ts: T0 + seq, position: seq })));
        await rm.inbox.write([conversation(id), joinB]);
        assert.equal(await unread(b, id), 3);
      });

      it('removes the conversation from the list of a member who leaves', async () => {
        const id = uid('c');
        const [a, b] = [uid('a'), uid('b')];
        await rm.inbox.write([conversation(id), join(a, id), join(b, id), ...sent(id, { seq: 1, sender: a, ts: T0 + 1, position: 1 })]);
        await rm.inbox.write([leave(b, id)]);
        assert.deepEqual(await rm.inbox.list(b, { limit: 10 }), { items: [], next_cursor: null });
        assert.deepEqual(await rm.inbox.changedSince(b, 0), []);
        assert.equal((await entry(a, id))?.members_count, 1);
      });

      it('ignores a message op with an older seq than the last message (replay safety)', async () => {
        const id = uid('c');
        const a = uid('a');
        const newest = { seq: 5, sender: a, ts: T0 + 50, position: 500 };
        await rm.inbox.write([conversation(id), join(a, id), message(id, newest)]);
        await rm.inbox.write([message(id, { seq: 3, sender: uid('x'), ts: T0 + 99, position: 300 })]);
        await rm.inbox.write([message(id, newest)]);
        const e = await entry(a, id);
        assert.deepEqual(e?.last_message, lastMessage(newest));
        assert.equal(e?.last_activity, T0 + 50);
        assert.equal(e?.last_position, 500);
        assert.equal(e?.unread_count, 5);
      });

      it("keeps a re-joined member's unread count when a batch with their leave and re-join is replayed", async () => {
        const id = uid('c');
        const [a, b] = [uid('a'), uid('b')];
        const batch: InboxWrite[] = [
          conversation(id),
          join(a, id),
          join(b, id),
          ...sent(id, { seq: 1, sender: a, ts: T0 + 1, position: 1 }),
          leave(b, id),
          join(b, id, T0 + 2),
          ...sent(id, { seq: 2, sender: a, ts: T0 + 3, position: 2 }),
          ...sent(id, { seq: 3, sender: a, ts: T0 + 4, position: 3 }),
        ];
        await rm.inbox.write(batch);
        assert.equal(await unread(b, id), 2, 'b joined back after seq 1 and has not read seqs 2 and 3');
        await rm.inbox.write(batch);
        assert.equal(await unread(b, id), 2, 'a replayed batch changes nothing');
      });

      it('lists the conversations changed after a position', async () => {
        const [u, v] = [uid('u'), uid('v')];
        const [c1, c2, c3] = [uid('c'), uid('c'), uid('c')];
        await rm.inbox.write([
          conversation(c1),
          join(u, c1),
          conversation(c2),
          join(u, c2),
          join(v, c2),
          conversation(c3),
          join(u, c3),
          message(c1, { seq: 1, sender: u, ts: T0 + 1, position: 100 }),
          message(c2, { seq: 1, sender: v, ts: T0 + 2, position: 300 }),
        ]);
        assert.deepEqual(sortedIds(await rm.inbox.changedSince(u, 0)), sortedIds([c1, c2]));
        assert.deepEqual(sortedIds(await rm.inbox.changedSince(u, 99)), sortedIds([c1, c2]));
        assert.deepEqual(await rm.inbox.changedSince(u, 100), [c2]);
        assert.deepEqual(await rm.inbox.changedSince(u, 299), [c2]);
        assert.deepEqual(await rm.inbox.changedSince(u, 300), []);
        assert.deepEqual(await rm.inbox.changedSince(v, 0), [c2]);
        await rm.inbox.write([message(c3, { seq: 1, sender: u, ts: T0 + 3, position: 400 })]);
        assert.deepEqual(await rm.inbox.changedSince(u, 300), [c3]);
        assert.deepEqual(await rm.inbox.changedSince(uid('w'), 0), []);
      });

      it('accepts an empty batch', async () => {
        await rm.inbox.write([]);
      });
    });

    section('users', 'users: blocks and privacy', () => {
      it('lists whom a user blocks, answers either way, and keeps the later change of each pair', async () => {
        const [a, b, c] = [uid('a'), uid('b'), uid('c')];
        await rm.users.write([
          { op: 'block', user_id: a, blocked_user_id: b, blocked: true, position: 1 },
          { op: 'block', user_id: a, blocked_user_id: c, blocked: true, position: 2 },
          { op: 'block', user_id: a, blocked_user_id: c, blocked: false, position: 4 },
          { op: 'block', user_id: a, blocked_user_id: c, blocked: true, position: 3 },
        ]);
        assert.deepEqual(await rm.users.blocks(a), [b]);
        assert.equal(await rm.users.eitherBlocks(a, b), true);
        assert.equal(await rm.users.eitherBlocks(b, a), true, 'either way');
        assert.equal(await rm.users.eitherBlocks(a, c), false);
        assert.deepEqual(await rm.users.blocks(b), []);
      });

      it('keeps last-seen privacy per user, everyone by default, the later change winning', async () => {
        const [a, b] = [uid('a'), uid('b')];
        assert.equal(await rm.users.lastSeenVisibility(a), 'everyone');
        await rm.users.write([
          { op: 'privacy', user_id: a, last_seen: 'nobody', position: 5 },
          { op: 'privacy', user_id: a, last_seen: 'contacts', position: 3 },
        ]);
        await rm.users.write([{ op: 'privacy', user_id: b, last_seen: 'contacts', position: 6 }]);
        assert.equal(await rm.users.lastSeenVisibility(a), 'nobody');
        assert.equal(await rm.users.lastSeenVisibility(b), 'contacts');
      });
    });

    section('receipts', 'receipts', () => {
      const row = (user: string, delivered: number, read: number) => ({ user_id: user, delivered_seq: delivered, read_seq: read });
      const listSorted = async (id: string) => [...(await rm.receipts.list(id))].sort((x, y) => x.user_id.localeCompare(y.user_id));

      it('stores watermarks per member and lists them', async () => {
        const id = uid('c');
        const [a, b] = [uid('a'), uid('b')]; // 'a-…' sorts before 'b-…'
        await rm.receipts.write([
          { conversation_id: id, user_id: a, delivered_seq: 3, read_seq: 1 },
          { conversation_id: id, user_id: b, delivered_seq: 2, read_seq: 2 },
          { conversation_id: uid('c'), user_id: a, delivered_seq: 9, read_seq: 9 },
        ]);
        assert.deepEqual(await listSorted(id), [row(a, 3, 1), row(b, 2, 2)]);
        assert.deepEqual(await rm.receipts.list(uid('c')), []);
      });

      it('merges with max(): lower values never decrease a watermark', async () => {
        const id = uid('c');
        const a = uid('a');
        const w = (delivered: number, read: number) => ({ conversation_id: id, user_id: a, delivered_seq: delivered, read_seq: read });
        await rm.receipts.write([w(5, 2)]);
        await rm.receipts.write([w(3, 4)]);
        assert.deepEqual(await rm.receipts.list(id), [row(a, 5, 4)]);
        await rm.receipts.write([w(0, 0), w(1, 1)]);
        assert.deepEqual(await rm.receipts.list(id), [row(a, 5, 4)]);
        await rm.receipts.write([w(7, 0), w(6, 6)]);
        assert.deepEqual(await rm.receipts.list(id), [row(a, 7, 6)]);
        await rm.receipts.write([w(7, 6)]);
        assert.deepEqual(await rm.receipts.list(id), [row(a, 7, 6)]);
      });

      it('accepts an empty batch', async () => {
        await rm.receipts.write([]);
      });
    });

    section('checkpoints', 'checkpoints', () => {
      it('reads 0 for a projector that never saved one', async () => {
        assert.equal(await rm.checkpoints.get(uid('projector')), 0);
      });

      it('saves and reads back a position, the last set winning', async () => {
        const [p, q] = [uid('projector'), uid('projector')];
        await rm.checkpoints.set(p, 42);
        await rm.checkpoints.set(q, 7);
        assert.equal(await rm.checkpoints.get(p), 42);
        await rm.checkpoints.set(p, 1_000_000_000_123);
        assert.equal(await rm.checkpoints.get(p), 1_000_000_000_123);
        await rm.checkpoints.set(p, 0);
        assert.equal(await rm.checkpoints.get(p), 0, 'a rebuild sets the checkpoint back to 0');
        assert.equal(await rm.checkpoints.get(q), 7);
      });
    });

    section('all', 'projector ops under at-least-once delivery', () => {
      const apply = async (events: Recorded[]) => {
        await rm.directory.write(directoryOps(events));
        await rm.history.write(historyOps(events));
        await rm.inbox.write(inboxOps(events));
        await rm.receipts.write(receiptOps(events));
      };
      const snapshot = async (conversations: string[], users: string[]) => ({
        directory: await Promise.all(
          conversations.map(async (id) => {
            const info = await rm.directory.get(id);
            return info && { ...info, members: sortedIds(info.members) };
          }),
        ),
        members: await Promise.all(conversations.map(async (id) => sortedIds(await rm.directory.members(id)))),
        conversationsOf: await Promise.all(users.map(async (u) => sortedIds(await rm.directory.conversationsOf(u)))),
        history: await Promise.all(conversations.map((id) => rm.history.page(id, { limit: 1000 }))),
        inbox: await Promise.all(users.map(async (u) => (await rm.inbox.list(u, { limit: 1000 })).items)),
        changed: await Promise.all(users.map(async (u) => sortedIds(await rm.inbox.changedSince(u, 0)))),
        receipts: await Promise.all(conversations.map(async (id) => [...(await rm.receipts.list(id))].sort((x, y) => x.user_id.localeCompare(y.user_id)))),
      });

      const recorder = () => {
        let position = 1_000 + Math.floor(Math.random() * 1_000_000);
        const revisions = new Map<string, number>();
        return (stream: string, event: NatterEvent): Recorded => {
          const revision = (revisions.get(stream) ?? -1) + 1;
          revisions.set(stream, revision);
          position += 1 + Math.floor(Math.random() * 3);
          return { ...event, stream, revision, position, recordedAt: T0 } as Recorded;
        };
      };
      const messageEvent = (id: string, seq: number, sender: string, ts: number, contentType: 'text' | 'media' = 'text'): NatterEvent => ({
        type: 'MessageSent',
        data: {
          conversation_id: id,
          message_id: `m-${seq}-${id}`,
          seq,
          sender_id: sender,
          sender_device_id: `${sender}-d`,
          client_msg_id: `k-${seq}`,
          content: `message ${seq} ✓`,
          content_type: contentType,
          timestamp: ts,
        },
      });

      /** A group and a direct: creation, messages, receipts, a late joiner and a member who leaves. */
      const story = () => {
        const [a, b, c, d] = [uid('a'), uid('b'), uid('c'), uid('d')];
        const [g, dm] = [uid('g'), uid('dm')];
        const rec = recorder();
        const conv = (id: string, e: NatterEvent) => rec(`conversation-${id}`, e);
        const rcpt = (id: string, e: NatterEvent) => rec(`receipts-${id}`, e);
        const events: Recorded[] = [
          conv(g, {
            type: 'ConversationCreated',
            data: { conversation_id: g, kind: 'group', title: 'Team', created_by: a, member_ids: [a, b, c], timestamp: T0 },
          }),
          conv(dm, {
            type: 'ConversationCreated',
            data: { conversation_id: dm, kind: 'direct', title: null, created_by: a, member_ids: [a, b], timestamp: T0 + 1 },
          }),
          conv(g, messageEvent(g, 1, a, T0 + 10)),
          conv(g, messageEvent(g, 2, b, T0 + 11, 'media')),
          rcpt(g, { type: 'MessageDelivered', data: { conversation_id: g, user_id: c, up_to_seq: 2, timestamp: T0 + 12 } }),
          rcpt(g, { type: 'MessageRead', data: { conversation_id: g, user_id: c, up_to_seq: 1, timestamp: T0 + 13 } }),
          conv(dm, messageEvent(dm, 1, b, T0 + 14)),
          conv(g, { type: 'MembersAdded', data: { conversation_id: g, user_ids: [d], added_by: a, timestamp: T0 + 15 } }),
          conv(g, messageEvent(g, 3, c, T0 + 16)),
          conv(g, { type: 'MemberRemoved', data: { conversation_id: g, user_id: b, removed_by: b, timestamp: T0 + 17 } }),
          conv(g, messageEvent(g, 4, a, T0 + 18)),
          rcpt(dm, { type: 'MessageRead', data: { conversation_id: dm, user_id: a, up_to_seq: 1, timestamp: T0 + 19 } }),
          rcpt(g, { type: 'MessageRead', data: { conversation_id: g, user_id: d, up_to_seq: 4, timestamp: T0 + 20 } }),
        ];
        return { events, conversations: [g, dm], users: [a, b, c, d], a, b, c, d, g, dm, conv };
      };

      it('applying a recorded sequence twice leaves every read model as applying it once', async () => {
        const { events, conversations, users, a, b, c, d, g, dm } = story();
        await apply(events);
        const once = await snapshot(conversations, users);

        // The story itself landed as expected, so that the comparison below is not vacuous.
        assert.deepEqual(once.members, [sortedIds([a, c, d]), sortedIds([a, b])]);
        assert.deepEqual(
          once.history.map((h) => h.map((m) => m.seq)),
          [[1, 2, 3, 4], [1]],
        );
        const unreadOf = (userIndex: number, id: string) => once.inbox[userIndex]!.find((e) => e.conversation_id === id)?.unread_count;
        assert.equal(unreadOf(0, g), 0, 'a sent the last message, seq 4');
        assert.equal(unreadOf(2, g), 1, 'c sent seq 3, a sent seq 4 after');
        assert.equal(unreadOf(3, g), 0, 'd joined after seq 2 and read through 4');
        assert.equal(unreadOf(1, g), undefined, 'b left the group');
        assert.equal(unreadOf(0, dm), 0);
        assert.deepEqual(
          once.receipts[0],
          [
            { user_id: c, delivered_seq: 2, read_seq: 1 },
            { user_id: d, delivered_seq: 4, read_seq: 4 },
          ].sort((x, y) => x.user_id.localeCompare(y.user_id)),
        );

        await apply(events);
        assert.deepEqual(await snapshot(conversations, users), once, 'the whole sequence redelivered');
        await apply(events.slice(5));
        assert.deepEqual(await snapshot(conversations, users), once, 'a suffix redelivered');
        for (const event of events) await apply([event]);
        assert.deepEqual(await snapshot(conversations, users), once, 'redelivered one event per batch');
      });

      it('applying a sequence in which a member leaves and is added back twice leaves every read model as applying it once', async () => {
        const { events, conversations, users, a, b, g, conv } = story();
        const more = [
          conv(g, { type: 'MembersAdded', data: { conversation_id: g, user_ids: [b], added_by: a, timestamp: T0 + 30 } }),
          conv(g, messageEvent(g, 5, a, T0 + 31)),
          conv(g, messageEvent(g, 6, a, T0 + 32)),
        ];
        const all = [...events, ...more];
        await apply(all);
        const once = await snapshot(conversations, users);
        assert.equal(once.inbox[1]!.find((e) => e.conversation_id === g)?.unread_count, 2, 'b came back after seq 4 and has not read 5 and 6');
        await apply(all);
        assert.deepEqual(await snapshot(conversations, users), once);
      });
    });

    describe('reset', () => {
      itFor('history')('history.reset() empties the history, which can then be rebuilt', async () => {
        const id = uid('c');
        const m = stored(id, 1);
        await put([m]);
        await rm.history.reset();
        assert.deepEqual(await rm.history.page(id, { limit: 10 }), []);
        assert.deepEqual(await rm.history.afterPosition(id, 0, Number.MAX_SAFE_INTEGER, 10), []);
        await put([m]);
        assert.deepEqual(await rm.history.page(id, { limit: 10 }), [m]);
      });

      itFor('directory')('directory.reset() empties conversations and members', async () => {
        const id = uid('c');
        const a = uid('a');
        await rm.directory.write([
          { op: 'conversation', conversation_id: id, kind: 'group', title: null, created_by: a, created_at: T0 },
          { op: 'members', conversation_id: id, user_ids: [a], active: true },
        ]);
        await rm.directory.reset();
        assert.equal(await rm.directory.get(id), null);
        assert.deepEqual(await rm.directory.members(id), []);
        assert.deepEqual(await rm.directory.conversationsOf(a), []);
      });

      itFor('inbox')('inbox.reset() empties every list', async () => {
        const id = uid('c');
        const a = uid('a');
        await rm.inbox.write([
          { op: 'conversation', conversation_id: id, kind: 'group', title: null, timestamp: T0 },
          { op: 'join', user_id: a, conversation_id: id, timestamp: T0, position: 1 },
          { op: 'message', conversation_id: id, position: 5, last_message: { message_id: 'm', seq: 1, sender_id: a, preview: 'p', timestamp: T0 } },
        ]);
        await rm.inbox.reset();
        assert.deepEqual(await rm.inbox.list(a, { limit: 10 }), { items: [], next_cursor: null });
        assert.deepEqual(await rm.inbox.changedSince(a, 0), []);
      });

      itFor('receipts')('receipts.reset() empties the watermarks, so that lower values are taken again', async () => {
        const id = uid('c');
        const a = uid('a');
        await rm.receipts.write([{ conversation_id: id, user_id: a, delivered_seq: 9, read_seq: 9 }]);
        await rm.receipts.reset();
        assert.deepEqual(await rm.receipts.list(id), []);
        await rm.receipts.write([{ conversation_id: id, user_id: a, delivered_seq: 2, read_seq: 1 }]);
        assert.deepEqual(await rm.receipts.list(id), [{ user_id: a, delivered_seq: 2, read_seq: 1 }]);
      });
    });
  });
};

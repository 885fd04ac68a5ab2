import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { SearchHit, SearchIndex } from '../../ports/search.ts';
import type { Recorded } from '../../ports/projector.ts';
import type { NatterEvent } from '../../contracts/events.ts';
import type { ContentType } from '../../contracts/primitives.ts';
import { searchOps } from '../../projections/search/projector.ts';
import { parseQuery, searchableText } from '../../projections/search/text.ts';

/**
 * The search-index contract: every adapter runs this file unchanged, fed by the search projector's
 * own ops (given these events, then these queries find these messages). `refresh` makes what was
 * written visible (OpenSearch refreshes every second on its own; SQLite needs nothing). Every test
 * uses fresh conversation ids, so adapters may share one backend; reset() comes last.
 */
export type OpenedSearchIndex = { index: SearchIndex; refresh(): Promise<void>; close(): Promise<void> };

export const searchIndexContract = (name: string, open: () => Promise<OpenedSearchIndex>) => {
  describe(`search index contract: ${name}`, () => {
    let opened: OpenedSearchIndex;
    let index: SearchIndex;
    before(async () => {
      opened = await open();
      index = opened.index;
    });
    after(async () => {
      await opened.close();
    });

    let position = 1_000;
    const T0 = 1_700_000_000_000;
    const uid = () => `c-${randomUUID()}`;
    const recorded = (event: NatterEvent): Recorded =>
      ({
        ...event,
        stream: `conversation-${(event.data as { conversation_id: string }).conversation_id}`,
        revision: 0,
        position: ++position,
        recordedAt: T0,
      }) as Recorded;
    const sent = (conversation_id: string, seq: number, content: string, content_type: ContentType = 'text', sender_id = 'alice') =>
      recorded({
        type: 'MessageSent',
        data: {
          conversation_id,
          seq,
          message_id: `m-${conversation_id}-${seq}`,
          sender_id,
          sender_device_id: 'd',
          client_msg_id: `k-${seq}`,
          content,
          content_type,
          timestamp: T0 + seq,
        },
      });
    const edited = (conversation_id: string, seq: number, content: string) =>
      recorded({
        type: 'MessageEdited',
        data: {
          conversation_id,
          seq,
          edited_by: 'alice',
          content,
          content_type: 'text',
          timestamp: T0 + 1_000 + seq,
        },
      });
    const deleted = (conversation_id: string, seq: number) =>
      recorded({ type: 'MessageDeleted', data: { conversation_id, seq, deleted_by: 'alice', timestamp: T0 + 2_000 + seq } });
    const given = async (...events: Recorded[]) => {
      await index.write(searchOps(events));
      await opened.refresh();
    };
    const find = async (q: string, conversationIds: string[], options: { limit?: number; before?: number } = {}): Promise<SearchHit[]> =>
      index.search({ terms: parseQuery(q), conversationIds, limit: options.limit ?? 50, ...(options.before !== undefined ? { before: options.before } : {}) });
    const seqsOf = (hits: SearchHit[]) => hits.map((h) => h.seq);

    it('given a message, then a word of it finds it with every field the reply needs, and its text as sent', async () => {
      const c = uid();
      const event = sent(c, 1, 'Lunch at noon?');
      await given(event);
      const [hit, ...rest] = await find('lunch', [c]);
      assert.deepEqual(rest, []);
      assert.deepEqual(hit, {
        conversation_id: c,
        seq: 1,
        message_id: `m-${c}-1`,
        sender_id: 'alice',
        timestamp: T0 + 1,
        position: event.position,
        content_type: 'text',
        text: 'Lunch at noon?',
      });
    });

    it('given accented and upper-case text, then queries fold case and accents both ways', async () => {
      const c = uid();
      await given(
        sent(c, 1, 'Café au lait'),
        sent(c, 2, 'CAFÉ NOIR'),
        sent(c, 3, 'cafe crème'),
        sent(c, 4, 'Die Straße'),
        sent(c, 5, 'ΟΔΟΣ'),
        sent(c, 6, 'ﬁnal'),
      );
      assert.deepEqual(seqsOf(await find('cafe', [c])), [3, 2, 1]);
      assert.deepEqual(seqsOf(await find('CAFÉ', [c])), [3, 2, 1]);
      assert.deepEqual(seqsOf(await find('creme', [c])), [3]);
      assert.deepEqual(seqsOf(await find('strasse', [c])), [4]);
      assert.deepEqual(seqsOf(await find('οδος', [c])), [5]);
      assert.deepEqual(seqsOf(await find('final', [c])), [6]);
    });

    it('given several words, then every word must match, the last one as a prefix only', async () => {
      const c = uid();
      await given(sent(c, 1, 'hello world'), sent(c, 2, 'hello there'), sent(c, 3, 'helpful world'));
      assert.deepEqual(seqsOf(await find('hello wor', [c])), [1]);
      assert.deepEqual(seqsOf(await find('hel', [c])), [3, 2, 1]);
      assert.deepEqual(seqsOf(await find('hel world', [c])), [], 'only the last word is a prefix');
      assert.deepEqual(seqsOf(await find('world hello', [c])), [1], 'words in any order');
    });

    it('given phrases in quotes, then the words must be adjacent and in order; a closed phrase is no prefix, an open one is', async () => {
      const c = uid();
      await given(sent(c, 1, 'the quick brown fox'), sent(c, 2, 'brown and quick'), sent(c, 3, 'quick brownies'));
      assert.deepEqual(seqsOf(await find('"quick brown"', [c])), [1]);
      assert.deepEqual(seqsOf(await find('"brown quick"', [c])), []);
      assert.deepEqual(seqsOf(await find('"quick brow"', [c])), [], 'a closed phrase matches whole words');
      assert.deepEqual(seqsOf(await find('"quick brow', [c])), [3, 1], 'an open phrase ends in a prefix');
      assert.deepEqual(seqsOf(await find('fox "quick brown"', [c])), [1]);
    });

    it('given messages in several conversations, then only the conversations asked for are searched', async () => {
      const [a, b, other] = [uid(), uid(), uid()];
      await given(sent(a, 1, 'secret plan'), sent(b, 1, 'secret recipe'), sent(other, 1, 'secret other'));
      assert.deepEqual((await find('secret', [a, b])).map((h) => h.conversation_id).sort(), [a, b].sort());
      assert.deepEqual(await find('secret', [b]).then((hits) => hits.map((h) => h.conversation_id)), [b]);
      assert.deepEqual(await find('secret', []), []);
    });

    it('given an edit, then the message is found by its current text only; an older edit replayed later changes nothing', async () => {
      const c = uid();
      const message = sent(c, 1, 'first draft');
      const first = edited(c, 1, 'second draft');
      const second = edited(c, 1, 'final version');
      await given(message, first, second);
      assert.deepEqual(seqsOf(await find('first', [c])), []);
      assert.deepEqual(seqsOf(await find('draft', [c])), []);
      const [hit] = await find('final', [c]);
      assert.equal(hit?.text, 'final version');
      await given(first);
      assert.deepEqual(seqsOf(await find('second', [c])), [], 'a replayed older edit is ignored');
      assert.deepEqual(seqsOf(await find('version', [c])), [1]);
    });

    it('given an edit in a later batch than its message, then it applies (the adapter finds the rest of the message)', async () => {
      const c = uid();
      await given(sent(c, 1, 'typo hre'));
      await given(edited(c, 1, 'typo here'));
      const [hit] = await find('here', [c]);
      assert.deepEqual({ seq: hit?.seq, sender: hit?.sender_id, text: hit?.text }, { seq: 1, sender: 'alice', text: 'typo here' });
    });

    it('given a delete, then the message is gone for good: a replayed send or edit never brings it back', async () => {
      const c = uid();
      const message = sent(c, 1, 'delete me please');
      const edit = edited(c, 1, 'delete me now');
      await given(message, sent(c, 2, 'keep me please'), edit);
      await given(deleted(c, 1));
      assert.deepEqual(seqsOf(await find('please', [c])), [2]);
      assert.deepEqual(seqsOf(await find('delete', [c])), []);
      await given(message, edit);
      assert.deepEqual(seqsOf(await find('delete', [c])), [], 'replays after the delete');
      await given(deleted(c, 1));
      assert.deepEqual(seqsOf(await find('please', [c])), [2]);
    });

    it('given encrypted messages and media, then ciphertext is never indexed and media is found by its caption', async () => {
      const c = uid();
      await given(
        sent(c, 1, 'c2VjcmV0IHdvcmRz secret', 'ciphertext'),
        sent(c, 2, JSON.stringify({ media_id: 'abc', url: '/v1/media/abc', content_type: 'image/png', size: 10, caption: 'Sunset secret' }), 'media'),
        sent(c, 3, JSON.stringify({ media_id: 'def', url: '/v1/media/def', content_type: 'image/png', size: 10 }), 'media'),
      );
      assert.deepEqual(seqsOf(await find('secret', [c])), [2]);
      const [media] = await find('sunset', [c]);
      assert.equal(media?.content_type, 'media');
      assert.equal(
        searchableText(media!.text, media!.content_type),
        'Sunset secret',
        'the content is kept whole (as the log holds it); the caption is what shows',
      );
      assert.deepEqual(seqsOf(await find('png', [c])), [], 'the JSON around the caption is not text');
      assert.deepEqual(seqsOf(await find('abc', [c])), []);
    });

    it("given opened events (the log holds content sealed), then the words come from the text, the sealed form is kept, and an erased author's content is never indexed", async () => {
      const c = uid();
      const withSealed = (event: Recorded, data: Record<string, unknown>) => ({ ...event, data: { ...(event.data as object), ...data } }) as Recorded;
      await given(
        withSealed(sent(c, 1, 'open sesame'), { sealed: 'enc1|k1|c2VzYW1l' }),
        withSealed(sent(c, 2, 'x'), { content: '', sealed: 'enc1|k2|ZXJhc2Vk', erased: true }),
      );
      const hits = await find('sesame', [c]);
      assert.deepEqual(
        hits.map((h) => [h.seq, h.text]),
        [[1, 'enc1|k1|c2VzYW1l']],
      );
      assert.deepEqual(await find('enc1', [c]), [], 'the sealed form is not words');
      await given(withSealed(edited(c, 1, 'closed sesame'), { sealed: 'enc1|k1|Y2xvc2Vk' }));
      assert.deepEqual(
        (await find('closed', [c])).map((h) => h.text),
        ['enc1|k1|Y2xvc2Vk'],
      );
    });

    it('given messages past the retention horizon, then they leave the index for good; later ones stay', async () => {
      const c = uid();
      const old = sent(c, 2, 'ancient scroll two');
      const edit = edited(c, 2, 'ancient scroll edited');
      await given(sent(c, 1, 'ancient scroll one'), old, sent(c, 3, 'ancient scroll three'), edit);
      await given(
        sent(c, 4, 'ancient scroll four'),
        recorded({ type: 'MessagesExpired', data: { conversation_id: c, up_to_seq: 2, horizon: T0 + 3, timestamp: T0 + 5_000 } }),
      );
      assert.deepEqual(seqsOf(await find('scroll', [c])), [4, 3]);
      await given(old, edit);
      assert.deepEqual(seqsOf(await find('scroll', [c])), [4, 3], 'a replayed send or edit of an expired message stays out');
    });

    it("given an erased user, then none of their messages is found any more, in any conversation, replays included; others' are", async () => {
      const [a, b] = [uid(), uid()];
      const mallory = `mallory-${randomUUID()}`;
      const theirs = sent(a, 1, 'forget my zanzibar words', 'text', mallory);
      await given(theirs, sent(a, 2, 'zanzibar reply', 'text', 'bob'), sent(b, 1, 'zanzibar elsewhere', 'text', mallory));
      await given(recorded({ type: 'UserErased', data: { user_id: mallory, by: 'user', timestamp: T0 + 9_000 } }));
      assert.deepEqual(
        (await find('zanzibar', [a, b])).map((h) => h.sender_id),
        ['bob'],
      );
      await given(theirs);
      assert.deepEqual(await find('forget', [a, b]), [], 'a replayed send of theirs stays out');
    });

    it('given a batch replayed whole, then nothing is duplicated and nothing changes', async () => {
      const c = uid();
      const batch = [sent(c, 1, 'echo one'), sent(c, 2, 'echo two'), edited(c, 2, 'echo deux'), sent(c, 3, 'echo three'), deleted(c, 3)];
      await given(...batch);
      await given(...batch);
      await given(...batch.slice(0, 2));
      const hits = await find('echo', [c]);
      assert.deepEqual(
        hits.map((h) => [h.seq, h.text]),
        [
          [2, 'echo deux'],
          [1, 'echo one'],
        ],
      );
    });

    it('given pages read with the position cursor, then new messages arriving between pages neither repeat nor shift them', async () => {
      const c = uid();
      await given(...Array.from({ length: 7 }, (_, i) => sent(c, i + 1, `page item ${i + 1}`)));
      const first = await find('page', [c], { limit: 3 });
      assert.deepEqual(seqsOf(first), [7, 6, 5]);
      await given(sent(c, 8, 'page item 8'), sent(c, 9, 'page item 9'));
      const second = await find('page', [c], { limit: 3, before: first.at(-1)!.position });
      assert.deepEqual(seqsOf(second), [4, 3, 2]);
      const third = await find('page', [c], { limit: 3, before: second.at(-1)!.position });
      assert.deepEqual(seqsOf(third), [1]);
      assert.deepEqual(seqsOf(await find('page', [c], { limit: 3 })), [9, 8, 7], 'a new first page shows the new ones');
    });

    it('given hostile queries, then they match as plain words or not at all, never another conversation, never an error', async () => {
      const [mine, theirs] = [uid(), uid()];
      await given(sent(mine, 1, 'match all NEAR the star'), sent(theirs, 1, 'match all NEAR the star, and every other word'));
      const hostile = [
        '*:*',
        '{"match_all":{}}',
        'NEAR(',
        'NEAR(match all)',
        '"',
        '""',
        '" OR "',
        'match* OR all',
        'a" OR "b',
        "'; DROP TABLE search_messages; --",
        '\u0000\u0001\u001f match',
        'x'.repeat(256),
        '(((((',
        'match -all',
        'all^5 AND NOT x',
        'words:*',
        '_id:*',
        '\\"',
        '%',
        '\uD800',
        'ｍａｔｃｈ',
      ];
      for (const q of hostile) {
        const hits = await find(q, [mine]);
        assert.ok(
          hits.every((h) => h.conversation_id === mine),
          `${JSON.stringify(q)} stays in its conversation`,
        );
      }
      assert.deepEqual(seqsOf(await find('NEAR(match all)', [mine])), [1], 'FTS5 syntax is words');
      assert.deepEqual(seqsOf(await find('{"match_all":{}}', [mine])), [1], 'the words of a JSON query are words');
      assert.deepEqual(seqsOf(await find('ｍａｔｃｈ', [mine])), [1], 'full-width letters fold');
    });

    it('given one batch of 2,500 messages and an edit of the first, as a replay hands them, then every message is found as it is now', async () => {
      const c = uid();
      const batch = Array.from({ length: 2_500 }, (_, i) => sent(c, i + 1, `bulk item ${i + 1} ${'filler '.repeat(i % 50)}`));
      await given(...batch, edited(c, 1, 'bulk item one, edited'));
      const all = await find('bulk', [c], { limit: 3_000 });
      assert.equal(all.length, 2_500);
      assert.deepEqual(
        all.slice(0, 2).map((h) => h.seq),
        [2_500, 2_499],
      );
      assert.equal(all.at(-1)?.text, 'bulk item one, edited');
    });

    it('reset() empties the index', async () => {
      const c = uid();
      await given(sent(c, 1, 'soon forgotten'));
      await index.reset();
      await opened.refresh();
      assert.deepEqual(await find('forgotten', [c]), []);
      await given(sent(c, 2, 'after the reset'));
      assert.deepEqual(seqsOf(await find('reset', [c])), [2], 'usable again after a reset');
    });
  });
};

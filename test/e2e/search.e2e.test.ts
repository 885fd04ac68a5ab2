import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startNatter, rest, type Server } from '../support/natter.ts';
import { eventually } from '../support/eventually.ts';

/*
 * Search, in both profiles (SQLite FTS5 embedded, OpenSearch in the cluster): what a member finds,
 * what nobody else ever does, and bad queries. Search follows the log like every read model (in the
 * cluster, through Kafka, then OpenSearch's refresh), so a test waits for what it just wrote.
 */
const LAG = { timeoutMs: 20_000, everyMs: 100 };

describe('search', () => {
  let server: Server;
  const as = async (user: string) => rest(server.url, await server.token(user));
  const group = async (owner: string, members: string[]) => {
    const reply = await (await as(owner)).post('/v1/conversations', { type: 'group', title: 'search', member_ids: members });
    assert.equal(reply.status, 201, JSON.stringify(reply.body));
    return reply.body.conversation_id as string;
  };
  const post = async (user: string, conv: string, content: string) => {
    const reply = await (await as(user)).post(`/v1/conversations/${conv}/messages`, { client_msg_id: `k-${Math.random()}`, content });
    assert.equal(reply.status, 201, JSON.stringify(reply.body));
    return reply.body.seq as number;
  };
  const search = async (user: string, query: string) => {
    const reply = await (await as(user)).get(`/v1/search?${query}`);
    return reply;
  };
  const found = async (user: string, q: string, extra = '') => {
    const reply = await search(user, `q=${encodeURIComponent(q)}${extra}`);
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    return reply.body.items as Array<{ conversation_id: string; seq: number; message_id: string; sender_id: string; timestamp: number; snippet: string }>;
  };
  /** What `user` finds for `q`, once `settled` holds (or the lag is over). */
  const findsEventually = (user: string, q: string, settled: (items: Awaited<ReturnType<typeof found>>) => boolean, extra = '') =>
    eventually(() => found(user, q, extra), settled, LAG);

  before(async () => {
    server = await startNatter();
  });
  after(async () => {
    await server.close();
  });

  it("given alice's message, then bob (a member) finds it with a marked snippet, carol (not a member) never does", async () => {
    const conv = await group('alice', ['bob']);
    const seq = await post('alice', conv, 'The zebracorn meeting moved to Thursday');
    const items = await findsEventually('bob', 'zebracorn', (i) => i.length > 0);
    assert.equal(items.length, 1, JSON.stringify(items));
    const [hit] = items;
    assert.deepEqual({ conversation_id: hit!.conversation_id, seq: hit!.seq, sender_id: hit!.sender_id }, { conversation_id: conv, seq, sender_id: 'alice' });
    assert.match(hit!.message_id, /\S/);
    assert.equal(typeof hit!.timestamp, 'number');
    assert.equal(hit!.snippet, 'The <mark>zebracorn</mark> meeting moved to Thursday');
    assert.deepEqual(await found('carol', 'zebracorn'), []);
    const narrowed = await search('carol', `q=zebracorn&conversation_id=${conv}`);
    assert.equal(narrowed.status, 404);
    assert.equal(narrowed.body.error.code, 'conversation_not_found');
    assert.deepEqual(
      (await found('bob', 'zebracorn', `&conversation_id=${conv}`)).map((i) => i.seq),
      [seq],
    );
  });

  it('given bob removed from the group, then he no longer finds its messages, at once', async () => {
    const conv = await group('alice', ['bob', 'dan']);
    await post('alice', conv, 'quokkafish recipe');
    await findsEventually('bob', 'quokkafish', (i) => i.length === 1);
    const removed = await (await as('alice')).delete(`/v1/conversations/${conv}/members/bob`);
    assert.equal(removed.status, 200, JSON.stringify(removed.body));
    // The removal answers once applied to the directory, which every query reads.
    assert.deepEqual(await found('bob', 'quokkafish'), []);
    assert.equal((await search('bob', `q=quokkafish&conversation_id=${conv}`)).status, 404);
    assert.equal((await found('dan', 'quokkafish')).length, 1, 'the others still find it');
  });

  it('given an edit, then only the new text is found; given a delete, then nothing is', async () => {
    const conv = await group('alice', ['bob']);
    const seq = await post('alice', conv, 'oldword platypus');
    await findsEventually('bob', 'platypus', (i) => i.length === 1);
    const edited = await (await as('alice')).call('PATCH', `/v1/conversations/${conv}/messages/${seq}`, { content: 'newword platypus' });
    assert.equal(edited.status, 200, JSON.stringify(edited.body));
    assert.deepEqual(
      (await findsEventually('bob', 'newword', (i) => i.length === 1)).map((i) => i.seq),
      [seq],
    );
    assert.deepEqual(await found('bob', 'oldword'), []);
    assert.equal((await found('bob', 'platypus'))[0]?.snippet, 'newword <mark>platypus</mark>');
    assert.equal((await (await as('alice')).delete(`/v1/conversations/${conv}/messages/${seq}`)).status, 204);
    assert.deepEqual(await findsEventually('bob', 'platypus', (i) => i.length === 0), []);
    assert.deepEqual(await found('bob', 'newword'), []);
  });

  it("given an author who erases themself, then nobody finds their messages any more; the others' still are", async () => {
    const conv = await group('gina', ['bob']);
    await post('gina', conv, 'erasable marmoset notes');
    await post('bob', conv, 'marmoset answer');
    await findsEventually('bob', 'marmoset', (i) => i.length === 2);
    const erased = await (await as('gina')).call('DELETE', '/v1/users/me', { confirm: 'gina' });
    assert.equal(erased.status, 204, JSON.stringify(erased.body));
    const left = await findsEventually('bob', 'marmoset', (i) => i.length === 1);
    assert.deepEqual(
      left.map((i) => i.sender_id),
      ['bob'],
    );
    assert.deepEqual(await found('bob', 'erasable'), []);
  });

  it('given accents and capitals, then "cafe" finds "Café" and "CAFÉ", and the last word is a prefix', async () => {
    const conv = await group('alice', ['bob']);
    const [a, b] = [await post('alice', conv, "Un Café crème, s'il vous plaît"), await post('alice', conv, 'CAFÉ NOIR FOR EVERYONE')];
    const items = await findsEventually('bob', 'cafe', (i) => i.length === 2);
    assert.deepEqual(
      items.map((i) => i.seq),
      [b, a],
      'newest first',
    );
    assert.equal(items[1]!.snippet, "Un <mark>Café</mark> crème, s'il vous plaît");
    assert.deepEqual(
      (await found('bob', 'CAFÉ CRE')).map((i) => i.seq),
      [a],
    );
    assert.deepEqual(
      (await found('bob', '"cafe noir"')).map((i) => i.seq),
      [b],
    );
    assert.deepEqual(
      (await found('bob', 'plait')).map((i) => i.seq),
      [a],
    );
  });

  it('given pages read with next_cursor while new messages arrive, then no result is repeated or skipped', async () => {
    const conv = await group('alice', ['bob']);
    const sent: number[] = [];
    for (let i = 0; i < 7; i++) sent.push(await post('alice', conv, `wombatpage number ${i}`));
    await findsEventually('bob', 'wombatpage', (i) => i.length === 7);
    const bob = await as('bob');
    const page = async (cursor?: string) => {
      const reply = await bob.get(`/v1/search?q=wombatpage&limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      return reply.body as { items: Array<{ seq: number }>; next_cursor: string | null };
    };
    const first = await page();
    assert.deepEqual(
      first.items.map((i) => i.seq),
      sent.slice(4).reverse(),
    );
    const later = [await post('alice', conv, 'wombatpage late one'), await post('alice', conv, 'wombatpage late two')];
    await findsEventually('bob', 'wombatpage', (i) => i.length === 9);
    const second = await page(first.next_cursor!);
    assert.deepEqual(
      second.items.map((i) => i.seq),
      sent.slice(1, 4).reverse(),
    );
    const third = await page(second.next_cursor!);
    assert.deepEqual(
      third.items.map((i) => i.seq),
      [sent[0]],
    );
    assert.equal(third.next_cursor, null);
    assert.deepEqual(
      (await page()).items.map((i) => i.seq),
      [later[1], later[0], sent[6]],
      'a fresh first page shows the new ones',
    );
  });

  it("given hostile or malformed queries, then results of the caller's conversations or a clear 400, never a 500", async () => {
    const mine = await group('alice', ['bob']);
    const theirs = await group('erin', ['frank']);
    await post('alice', mine, 'match all NEAR the star');
    await post('erin', theirs, 'match all NEAR the star, and secrets');
    await findsEventually('bob', 'star', (i) => i.length === 1);
    await findsEventually('frank', 'star', (i) => i.length === 1);
    const queries = [
      'x'.repeat(10_000),
      'x'.repeat(257),
      '\u0001\u0002\u001f',
      'star\u0000',
      '*:*',
      '{"match_all":{}}',
      'NEAR(',
      'NEAR(match all)',
      '"',
      '""',
      '" OR "',
      'star OR *',
      '); DROP TABLE search_messages; --',
      '\\',
      '%',
      '_id:*',
      'conversation_id:*',
      '(((',
      'star^100',
      'match* AND NOT x',
      '',
      ' ',
    ];
    for (const q of queries) {
      const reply = await search('bob', `q=${encodeURIComponent(q)}`);
      assert.ok(reply.status === 200 || reply.status === 400, `${JSON.stringify(q.slice(0, 40))}: ${reply.status} ${JSON.stringify(reply.body)}`);
      if (reply.status === 400) {
        assert.equal(reply.body.error.code, 'invalid_request');
        assert.match(reply.body.error.message, /\S/);
      } else {
        for (const item of reply.body.items) assert.equal(item.conversation_id, mine, `${JSON.stringify(q.slice(0, 40))} found another conversation's message`);
      }
    }
    for (const extra of ['', '&limit=0', '&limit=1000', '&cursor=bm9wZQ', '&cursor=%00', '&conversation_id=..%2F..', '&q=twice', '&unknown=1']) {
      const reply = await search('bob', `q=star${extra}`);
      assert.ok(reply.status === 200 || reply.status === 400, `${extra}: ${reply.status}`);
      if (reply.status === 200) assert.ok(reply.body.items.every((i: { conversation_id: string }) => i.conversation_id === mine));
    }
    assert.equal((await search('bob', '')).status, 400, 'q is required');
    assert.deepEqual(
      (await found('bob', 'NEAR(match all)')).map((i) => i.conversation_id),
      [mine],
      'engine syntax is plain words',
    );
  });
});

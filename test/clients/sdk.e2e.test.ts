import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSigner } from 'fast-jwt';
import { NatterApi, NatterApiError, NatterClient, NatterRequestError, NatterSendError, hasReacted, memoryStorage } from '../../clients/sdk/index.ts';
import { spawnNatter, startNatter, tempDir, type Spawned } from '../support/natter.ts';
import { eventually } from '../support/eventually.ts';
import { device, history, nextEvent, until, withoutCursor } from './sdk-devices.ts';

const contents = (messages: Array<{ content: string }>) => messages.map((m) => m.content);
const range = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe('the TypeScript SDK against a real Natter', () => {
  it('two clients exchange messages, receipts and typing; the sender gets its acks', async () => {
    const server = await startNatter();
    const [aliceToken, bobToken] = [await server.token('alice'), await server.token('bob')];
    const { conversation_id: id } = await new NatterApi(server.url, aliceToken).createConversation({ type: 'direct', peer_id: 'bob' });
    const alice = device({ url: server.url, token: aliceToken, deviceId: 'laptop' });
    const bob = device({ url: () => server.wsUrl, token: async () => bobToken, deviceId: 'phone' });
    try {
      await Promise.all([alice.client.connect(), bob.client.connect()]);
      const acks = await Promise.all(range('hello ', 3).map((text) => alice.client.send(id, text)));
      assert.deepEqual(
        acks.map((a) => a.seq),
        [1, 2, 3],
      );
      await until(bob.client, () => bob.messages.length === 3, 'bob to get 3 messages');
      assert.deepEqual(contents(bob.messages), range('hello ', 3));
      assert.ok(bob.messages.every((m) => m.sender_id === 'alice' && m.conversation_id === id));

      const read = nextEvent(alice.client, 'status', (s) => s.status === 'read' && s.up_to_seq === 3);
      bob.client.markRead(id, 3);
      assert.equal((await read).user_id, 'bob');

      const typing = nextEvent(alice.client, 'typing', (t) => t.state === 'start');
      bob.client.typing(id, 'start');
      assert.equal((await typing).user_id, 'bob');

      await bob.client.send(id, 'hi alice');
      await until(alice.client, () => alice.messages.some((m) => m.content === 'hi alice'), 'alice to get the reply');
      // Alice's own messages reach her device too, once each.
      assert.deepEqual(contents(alice.messages), [...range('hello ', 3), 'hi alice']);
    } finally {
      alice.client.close();
      bob.client.close();
      await server.close();
    }
  });

  it('edits, deletes, reacts and replies live between two clients; a refused request rejects with its code', async () => {
    const server = await startNatter();
    const [aliceToken, bobToken] = [await server.token('alice'), await server.token('bob')];
    const aliceApi = new NatterApi(server.url, aliceToken);
    const { conversation_id: id } = await aliceApi.createConversation({ type: 'group', title: 'after send', member_ids: ['bob'] });
    const alice = device({ url: server.url, token: aliceToken, deviceId: 'laptop' });
    const bob = device({ url: server.url, token: bobToken, deviceId: 'phone' });
    try {
      await Promise.all([alice.client.connect(), bob.client.connect()]);
      await alice.client.send(id, 'helo');
      await alice.client.send(id, 'oops');
      await until(bob.client, () => bob.messages.length === 2, 'bob to get both messages');

      const edited = nextEvent(bob.client, 'updated', (u) => u.seq === 1);
      await alice.client.edit(id, 1, 'hello');
      const update = await edited;
      assert.equal(update.content, 'hello');
      assert.equal(typeof update.edited_at, 'number');
      assert.equal(update.deleted, false);

      const refused = await bob.client.edit(id, 1, 'hijacked').then(
        () => null,
        (error: unknown) => error,
      );
      assert.ok(refused instanceof NatterRequestError, `a NatterRequestError, not ${String(refused)}`);
      assert.equal(refused.code, 'forbidden');
      assert.equal(refused.frame.type, 'edit_message');
      await assert.rejects(bob.client.react(id, 1, 'ok'), (e: NatterRequestError) => e.code === 'invalid_request', 'a non-emoji is refused');
      await assert.rejects(alice.client.delete(id, 99), (e: NatterRequestError) => e.code === 'message_not_found');

      const deleted = nextEvent(bob.client, 'updated', (u) => u.seq === 2);
      await alice.client.delete(id, 2);
      assert.deepEqual([(await deleted).deleted, (await deleted).content], [true, '']);
      await alice.client.delete(id, 2); // deleting again succeeds

      const reacted = nextEvent(alice.client, 'reaction', (r) => r.op === 'add');
      await bob.client.react(id, 1, '👍');
      await bob.client.react(id, 1, '👍'); // a set: once is enough, twice is no error
      assert.deepEqual(
        { ...(await reacted), cursor: '' },
        { type: 'reaction', conversation_id: id, seq: 1, emoji: '👍', user_id: 'bob', op: 'add', cursor: '' },
      );
      const viaRest = nextEvent(bob.client, 'reaction', (r) => r.emoji === '🎉');
      await aliceApi.addReaction(id, 1, '🎉');
      assert.equal((await viaRest).user_id, 'alice');

      const reply = await bob.client.send(id, 'hey @alice', { replyTo: 1, mentions: ['alice'] });
      await until(alice.client, () => alice.messages.some((m) => m.seq === reply.seq), 'alice to get the reply');
      const received = alice.messages.find((m) => m.seq === reply.seq)!;
      assert.deepEqual([received.reply_to_seq, received.mentions], [1, ['alice']]);
      assert.equal(alice.view.get(`${id}:1`)!.reply_count, 1);
      assert.deepEqual(
        (await aliceApi.replies(id, 1)).items.map((m) => m.content),
        ['hey @alice'],
      );
      const inbox = await eventually(
        () => aliceApi.inbox(),
        (r) => r.items[0]?.unread_mentions === 1,
      );
      assert.equal(inbox.items[0]!.unread_mentions, 1, 'the mention is unread');

      const removed = nextEvent(alice.client, 'reaction', (r) => r.op === 'remove');
      await bob.client.unreact(id, 1, '👍');
      assert.equal((await removed).user_id, 'bob');
      assert.equal((await aliceApi.editMessage(id, 1, 'hello!')).content, 'hello!');
      await until(bob.client, () => bob.view.get(`${id}:1`)?.content === 'hello!', 'bob to see the REST edit');
      assert.ok(!hasReacted(alice.view.get(`${id}:1`)!, '👍', 'bob') && hasReacted(alice.view.get(`${id}:1`)!, '🎉', 'alice'));

      const stored = await eventually(
        () => history(aliceApi, id),
        (h) => h[0]?.content === 'hello!' && h[0].reactions.length === 1,
      );
      assert.deepEqual(alice.shown(id), stored.map(withoutCursor), 'alice shows what history holds');
      assert.deepEqual(bob.shown(id), stored.map(withoutCursor), 'bob shows what history holds');
      assert.deepEqual(stored[1]!.deleted, true);
    } finally {
      alice.client.close();
      bob.client.close();
      await server.close();
    }
  });

  it('a device that was away gets what changed, and waits with its own requests: after sync it shows what history holds', async () => {
    const server = await startNatter();
    const [aliceToken, bobToken] = [await server.token('alice'), await server.token('bob')];
    const aliceApi = new NatterApi(server.url, aliceToken);
    const { conversation_id: id } = await aliceApi.createConversation({ type: 'group', title: 'away', member_ids: ['bob'] });
    const alice = device({ url: server.url, token: aliceToken, deviceId: 'laptop' });
    let reachable = true;
    const bob = device({ url: () => (reachable ? server.url : 'http://127.0.0.1:9'), token: bobToken, deviceId: 'phone' });
    try {
      await Promise.all([alice.client.connect(), bob.client.connect()]);
      for (const text of ['one', 'two', 'three']) await alice.client.send(id, text);
      await until(bob.client, () => bob.messages.length === 3, 'bob to get three messages');

      reachable = false;
      const away = nextEvent(bob.client, 'state', (s) => s === 'offline');
      bob.drop();
      await away;
      // Asked while offline: it goes out after the reconnect.
      const bobsReaction = bob.client.react(id, 1, '😂');
      await alice.client.edit(id, 1, 'one, edited');
      await alice.client.delete(id, 2);
      await alice.client.react(id, 3, '👍');
      // The reaction above came first: sync sends seq 3 as it is now, reply included, before the reply itself.
      await alice.client.send(id, 're: three', { replyTo: 3 });
      await alice.client.react(id, 1, '❤️');
      await alice.client.unreact(id, 1, '❤️');
      const five = await alice.client.send(id, 'five');
      await alice.client.send(id, 're: five', { replyTo: five.seq, mentions: ['bob'] });
      await alice.client.edit(id, five.seq, 'five, edited');

      reachable = true;
      await nextEvent(bob.client, 'state', (s) => s === 'online', 20_000);
      await bobsReaction;
      await until(bob.client, () => hasReacted(bob.view.get(`${id}:1`)!, '😂', 'bob'), 'bob to see his own reaction');
      const stored = await eventually(
        () => history(aliceApi, id),
        (h) => h[0]?.reactions.length === 1,
      );
      assert.deepEqual(
        stored.map((m) => [m.seq, m.content, m.reply_count, m.reactions.map((r) => r.emoji).join('')]),
        [
          [1, 'one, edited', 0, '😂'],
          [2, '', 0, ''],
          [3, 'three', 1, '👍'],
          [4, 're: three', 0, ''],
          [5, 'five, edited', 1, ''],
          [6, 're: five', 0, ''],
        ],
      );
      assert.deepEqual(bob.shown(id), stored.map(withoutCursor), 'bob, after his sync, shows what history holds');
      assert.deepEqual(alice.shown(id), stored.map(withoutCursor), 'alice, live all along, shows it too');
      assert.ok(
        bob.wire.some((f) => f.type === 'message_updated' && f.seq === 3 && f.reply_count === 1),
        'seq 3 came as its whole state',
      );
    } finally {
      alice.client.close();
      bob.client.close();
      await server.close();
    }
  });

  it('survives kill -9 in the middle of a burst: every send resolves once, nothing is duplicated, order is kept', async () => {
    const dataDir = tempDir();
    let server: Spawned = await spawnNatter(dataDir);
    const [aliceToken, bobToken] = [await server.token('alice'), await server.token('bob')];
    const api = new NatterApi(server.url, aliceToken);
    const direct = (await api.createConversation({ type: 'direct', peer_id: 'bob' })).conversation_id;
    const group = (await api.createConversation({ type: 'group', title: 'burst', member_ids: ['bob'] })).conversation_id;
    // A restarted server listens on a new port; the url function follows it.
    const alice = device({ url: () => server.wsUrl, token: aliceToken, deviceId: 'laptop' });
    const bob = device({ url: () => server.wsUrl, token: bobToken, deviceId: 'phone' });
    try {
      await Promise.all([alice.client.connect(), bob.client.connect()]);
      const perConversation = 120;
      const sends = range('', perConversation).flatMap((i) => [alice.client.send(direct, `d${i}`), alice.client.send(group, `g${i}`)]);
      let settled = 0;
      const settledEach = sends.map((p) =>
        p.finally(() => {
          settled++;
        }),
      );

      await until(alice.client, () => alice.acks.length >= 40, '40 acks before the kill');
      await server.kill9();
      assert.ok(settled < sends.length, 'the kill happened mid-burst');
      server = await spawnNatter(dataDir);

      const acks = await Promise.all(settledEach);
      assert.equal(new Set(acks.map((a) => a.client_msg_id)).size, sends.length, 'one ack per send');
      assert.equal(alice.acks.length, sends.length, 'no send was acked twice');

      const after = new NatterApi(server.url, aliceToken);
      for (const [id, prefix] of [
        [direct, 'd'],
        [group, 'g'],
      ] as const) {
        const stored = await history(after, id);
        assert.deepEqual(contents(stored), range(prefix, perConversation), `${prefix}: each message once, in send order`);
        assert.deepEqual(
          stored.map((m) => m.seq),
          range('', perConversation).map((i) => Number(i) + 1),
        );
        await until(bob.client, () => bob.messages.filter((m) => m.conversation_id === id).length >= perConversation, `bob to get all of ${prefix}`);
        assert.deepEqual(
          contents(bob.messages.filter((m) => m.conversation_id === id)),
          range(prefix, perConversation),
          `${prefix}: bob sees each once, in order`,
        );
      }
      assert.ok(
        bob.wire.some((f) => f.type === 'sync_done'),
        'bob resumed with sync',
      );
    } finally {
      alice.client.close();
      bob.client.close();
      await server.close();
    }
  });

  it('honours goaway: leaves a draining server at once, then reconnects elsewhere and delivers what was queued', async () => {
    const dataDir = tempDir();
    const draining = await spawnNatter(dataDir, { NATTER_DRAIN_JITTER_MS: '200', NATTER_DRAIN_TIMEOUT_MS: '20000', NATTER_LOG_LEVEL: 'info' });
    let server: Spawned = draining;
    const [aliceToken, bobToken] = [await server.token('alice'), await server.token('bob')];
    const id = (await new NatterApi(server.url, aliceToken).createConversation({ type: 'direct', peer_id: 'bob' })).conversation_id;
    const alice = device({ url: () => server.wsUrl, token: aliceToken, deviceId: 'laptop' });
    const bob = device({ url: () => server.wsUrl, token: bobToken, deviceId: 'phone' });
    try {
      await Promise.all([alice.client.connect(), bob.client.connect()]);
      await alice.client.send(id, 'before');

      const aliceLeft = nextEvent(alice.client, 'state', (s) => s === 'offline');
      const bobLeft = nextEvent(bob.client, 'state', (s) => s === 'offline');
      draining.process.kill('SIGTERM');
      await Promise.all([aliceLeft, bobLeft]);
      assert.ok(alice.wire.some((f) => f.type === 'goaway') && bob.wire.some((f) => f.type === 'goaway'));
      const queued = range('during ', 5).map((text) => alice.client.send(id, text));

      await once(draining.process, 'exit');
      // The drain ended because both devices left, not because its 20 s deadline passed.
      assert.match(draining.output(), /"remaining":0/);
      server = await spawnNatter(dataDir);

      await Promise.all(queued);
      await until(bob.client, () => bob.messages.length === 6, 'bob to get the queued messages');
      assert.deepEqual(contents(bob.messages), ['before', ...range('during ', 5)]);
    } finally {
      alice.client.close();
      bob.client.close();
      await server.close();
    }
  });

  it('searches with NatterApi.search(): typed results with marked snippets, pages by next_cursor, a 400 as NatterApiError', async () => {
    const server = await startNatter();
    try {
      const alice = new NatterApi(server.url, await server.token('alice'));
      const bob = new NatterApi(server.url, await server.token('bob'));
      const id = (await alice.createConversation({ type: 'group', title: 'search', member_ids: ['bob'] })).conversation_id;
      for (const [i, text] of ['Crème brûlée tonight', 'more creme please', 'nothing to see'].entries()) await alice.sendMessage(id, `k-${i}`, text);
      const reply = await eventually(
        () => bob.search('creme', { limit: 1 }),
        (r) => r.items.length === 1 && r.next_cursor !== null,
        { timeoutMs: 10_000 },
      );
      assert.deepEqual(
        reply.items.map((i) => [i.conversation_id, i.sender_id, i.snippet]),
        [[id, 'alice', 'more <mark>creme</mark> please']],
      );
      const next = await bob.search('creme', { limit: 1, cursor: reply.next_cursor!, conversation_id: id });
      assert.deepEqual(
        next.items.map((i) => i.snippet),
        ['<mark>Crème</mark> brûlée tonight'],
      );
      assert.equal(next.next_cursor, null);
      await assert.rejects(bob.search('"'), (error: unknown) => error instanceof NatterApiError && error.status === 400 && error.code === 'invalid_request');
      assert.deepEqual((await new NatterApi(server.url, await server.token('carol')).search('creme')).items, []);
    } finally {
      await server.close();
    }
  });

  it('waits out rate_limited sends for retry_after_ms and keeps their order', async () => {
    // A bucket of 60 sends refilled at one per second: the burst overflows it by a few.
    const server = await startNatter({ NATTER_MESSAGES_PER_MINUTE: '60' });
    const token = await server.token('alice');
    const id = (await new NatterApi(server.url, token).createConversation({ type: 'group', title: 'limits', member_ids: [] })).conversation_id;
    const alice = device({ url: server.url, token, deviceId: 'laptop' });
    try {
      await alice.client.connect();
      await Promise.all(range('m', 62).map((text) => alice.client.send(id, text)));
      assert.ok(
        alice.wire.some((f) => f.type === 'error' && f.code === 'rate_limited' && typeof f.retry_after_ms === 'number'),
        'the server did refuse some',
      );
      assert.deepEqual(contents(await history(new NatterApi(server.url, token), id)), range('m', 62));
    } finally {
      alice.client.close();
      await server.close();
    }
  });

  it('renews its token through the token provider on token_expiring and outlives its first token without reconnecting', async () => {
    const server = await startNatter({ NATTER_TOKEN_EXPIRING_NOTICE_MS: '1500' });
    // Tokens of 4 s, signed with the server's secret: the provider hands out a fresh one each time.
    const sign = createSigner({ key: readFileSync(join(server.dataDir, 'jwt-secret'), 'utf8').trim(), algorithm: 'HS256', expiresIn: 4_000 });
    const issued: number[] = [];
    const provider = async () => {
      const token = sign({ sub: 'bob' });
      issued.push(JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).exp as number);
      return token;
    };
    const aliceToken = await server.token('alice');
    const id = (await new NatterApi(server.url, aliceToken).createConversation({ type: 'direct', peer_id: 'bob' })).conversation_id;
    const bob = device({ url: server.url, token: provider, deviceId: 'phone' });
    const states: string[] = [];
    bob.client.on('state', (state) => states.push(state));
    try {
      await bob.client.connect();
      const firstExpiry = issued[0]! * 1000;
      // Renewals raise no SDK event: poll the provider's count and the clock.
      for (const deadline = Date.now() + 15_000; !(Date.now() > firstExpiry + 1_000 && issued.length >= 3); ) {
        assert.ok(Date.now() < deadline, `only ${issued.length} tokens issued`);
        await new Promise((r) => setTimeout(r, 50));
      }
      await new NatterApi(server.url, aliceToken).sendMessage(id, 'late', 'after the first expiry');
      await until(bob.client, () => bob.messages.some((m) => m.client_msg_id === 'late'), 'bob to get the message on his renewed socket');
      assert.deepEqual(states, ['connecting', 'syncing', 'online'], 'one connection: never offline, never reconnected');
      assert.ok(bob.wire.filter((f) => f.type === 'token_expiring').length >= 2, "a notice before each token's expiry");
      assert.ok(bob.wire.filter((f) => f.type === 'ok').length >= 2, 'each reauth accepted');
      assert.equal(bob.wire.filter((f) => f.type === 'sync_done').length, 1, 'synced once: no reconnect');
    } finally {
      bob.client.close();
      await server.close();
    }
  });

  it('resumes a reloaded page from storage: unacked sends go out once, the cursor skips what was seen', async () => {
    const server = await startNatter();
    const token = await server.token('alice');
    const id = (await new NatterApi(server.url, token).createConversation({ type: 'group', title: 'reload', member_ids: [] })).conversation_id;
    const storage = memoryStorage();
    const first = device({ url: server.url, token, deviceId: 'tab', storage });
    await first.client.connect();
    await first.client.send(id, 'seen');
    await until(first.client, () => first.messages.length === 1, 'the first page to see its message');
    first.client.close();

    // A page that queued a send while the network was down, then was reloaded.
    const offline = device({ url: 'http://127.0.0.1:9', token, deviceId: 'tab', storage });
    const queued = nextEvent(offline.client, 'queued');
    const unsent = offline.client.send(id, 'queued while unreachable');
    await queued;
    offline.client.close();
    await assert.rejects(unsent, /closed before the ack/);

    const second = device({ url: server.url, token, deviceId: 'tab', storage });
    try {
      await second.client.connect();
      await until(second.client, () => second.acks.length === 1 && second.messages.length === 1, 'the restored send to be acked and seen');
      assert.deepEqual(contents(second.messages), ['queued while unreachable'], 'sync resumed after the stored cursor');
      assert.deepEqual(contents(await history(new NatterApi(server.url, token), id)), ['seen', 'queued while unreachable']);
    } finally {
      second.client.close();
      await server.close();
    }
  });

  it('governs a group and a user over REST: rename, admins, removal, mute, blocks, last-seen privacy; devices hear of it', async () => {
    const server = await startNatter({ NATTER_PRESENCE_THROTTLE_MS: '0' });
    const [aliceToken, bobToken, carolToken] = [await server.token('alice'), await server.token('bob'), await server.token('carol')];
    const [aliceApi, bobApi, carolApi] = [aliceToken, bobToken, carolToken].map((token) => new NatterApi(server.url, token)) as [
      NatterApi,
      NatterApi,
      NatterApi,
    ];
    const refusedWith = (status: number, code: string) => (error: unknown) => error instanceof NatterApiError && error.status === status && error.code === code;
    const { conversation_id: id } = await aliceApi.createConversation({ type: 'group', title: 'crew', member_ids: ['bob', 'carol'] });
    const bob = device({ url: server.url, token: bobToken, deviceId: 'phone' });
    try {
      await bob.client.connect();
      assert.deepEqual((await aliceApi.conversation(id)).admins, ['alice'], 'the creator is the first admin');

      const renamedFrame = nextEvent(bob.client, 'conversation', (c) => c.conversation_id === id && c.title === 'launch crew');
      assert.equal((await aliceApi.renameConversation(id, 'launch crew')).title, 'launch crew');
      assert.deepEqual((await renamedFrame).admins, ['alice'], 'conversation_updated carries the admins');
      await assert.rejects(bobApi.renameConversation(id, 'mine'), refusedWith(403, 'forbidden'));

      const granted = nextEvent(bob.client, 'conversation', (c) => c.conversation_id === id && c.admins.includes('bob'));
      await aliceApi.addAdmin(id, 'bob');
      assert.deepEqual((await granted).admins, ['alice', 'bob']);
      await assert.rejects(carolApi.addAdmin(id, 'carol'), refusedWith(403, 'forbidden'));
      await aliceApi.removeAdmin(id, 'alice');
      await assert.rejects(bobApi.removeAdmin(id, 'bob'), refusedWith(409, 'last_admin'));
      assert.deepEqual((await bobApi.conversation(id)).admins, ['bob']);

      await assert.rejects(aliceApi.removeMember(id, 'carol'), refusedWith(403, 'forbidden'), 'no longer an admin');
      const removed = nextEvent(bob.client, 'conversation', (c) => c.conversation_id === id && !c.members.includes('carol'));
      assert.deepEqual((await bobApi.removeMember(id, 'carol')).members, ['alice', 'bob']);
      assert.deepEqual((await removed).members, ['alice', 'bob']);
      await assert.rejects(carolApi.conversation(id), refusedWith(404, 'conversation_not_found'));

      const mutedOf = async () => (await bobApi.inbox()).items.find((i) => i.conversation_id === id)!;
      const until = Date.now() + 3_600_000;
      await bobApi.mute(id, until);
      assert.deepEqual(
        await eventually(
          async () => {
            const i = await mutedOf();
            return [i.muted, i.muted_until];
          },
          (m) => m[1] === until,
        ),
        [true, until],
      );
      await bobApi.mute(id, null);
      assert.deepEqual(
        await eventually(
          async () => {
            const i = await mutedOf();
            return [i.muted, i.muted_until];
          },
          (m) => m[1] === null,
        ),
        [true, null],
      );
      await bobApi.unmute(id);
      assert.equal((await eventually(mutedOf, (i) => !i.muted)).muted, false);
      assert.equal((await aliceApi.inbox()).items.find((i) => i.conversation_id === id)!.muted, false, 'a mute is per user');
      await assert.rejects(bobApi.mute(id, Date.now() - 1_000), refusedWith(400, 'invalid_request'));

      const { conversation_id: direct } = await aliceApi.createConversation({ type: 'direct', peer_id: 'bob' });
      await aliceApi.block('bob');
      await aliceApi.block('bob');
      assert.deepEqual(
        await eventually(
          () => aliceApi.blocks(),
          (b) => b.items.length === 1,
        ),
        { items: ['bob'] },
      );
      const refusedSend = await bob.client.send(direct, 'anyone there?').then(
        () => null,
        (error: unknown) => error,
      );
      assert.ok(refusedSend instanceof NatterSendError && refusedSend.code === 'blocked', `a blocked send, not ${String(refusedSend)}`);
      await assert.rejects(bobApi.sendMessage(direct, 'rest-1', 'hello?'), refusedWith(403, 'blocked'));
      await aliceApi.unblock('bob');
      assert.deepEqual(
        await eventually(
          () => aliceApi.blocks(),
          (b) => b.items.length === 0,
        ),
        { items: [] },
      );
      assert.equal((await bob.client.send(direct, 'back again')).seq, 1, 'the refused sends appended nothing');

      // Alice shares a direct conversation with Bob, so "contacts" still shows him her last_seen; "nobody" does not.
      const alice = device({ url: server.url, token: aliceToken, deviceId: 'laptop' });
      await alice.client.connect();
      alice.client.close();
      const lastSeen = () => bobApi.presence('alice').then((p) => [p.status, typeof p.last_seen]);
      assert.deepEqual(await eventually(lastSeen, (p) => p[0] === 'offline'), ['offline', 'number']);
      await aliceApi.setLastSeenPrivacy('contacts');
      assert.deepEqual(await lastSeen(), ['offline', 'number']);
      await aliceApi.setLastSeenPrivacy('nobody');
      assert.deepEqual(await eventually(lastSeen, (p) => p[1] === 'undefined'), ['offline', 'undefined']);
      await assert.rejects(aliceApi.setLastSeenPrivacy('friends' as 'nobody'), refusedWith(400, 'invalid_request'));
    } finally {
      bob.client.close();
      await server.close();
    }
  });
});

// Node 20 has no global WebSocket; the SDK says so instead of failing later.
it('asks for a WebSocket implementation where there is no global one', { skip: 'WebSocket' in globalThis }, () => {
  assert.throws(() => new NatterClient({ url: 'http://x', token: 't', deviceId: 'd' }), /pass the `ws` package/);
});

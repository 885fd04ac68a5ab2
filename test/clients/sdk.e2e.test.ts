import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { NatterApi, NatterClient, memoryStorage } from '../../clients/sdk/index.ts';
import { spawnNatter, startNatter, tempDir, type Spawned } from '../support/natter.ts';
import { device, history, nextEvent, until } from './sdk-devices.ts';

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
      assert.deepEqual(acks.map((a) => a.seq), [1, 2, 3]);
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
      const settledEach = sends.map((p) => p.finally(() => { settled++; }));

      await until(alice.client, () => alice.acks.length >= 40, '40 acks before the kill');
      await server.kill9();
      assert.ok(settled < sends.length, 'the kill happened mid-burst');
      server = await spawnNatter(dataDir);

      const acks = await Promise.all(settledEach);
      assert.equal(new Set(acks.map((a) => a.client_msg_id)).size, sends.length, 'one ack per send');
      assert.equal(alice.acks.length, sends.length, 'no send was acked twice');

      const after = new NatterApi(server.url, aliceToken);
      for (const [id, prefix] of [[direct, 'd'], [group, 'g']] as const) {
        const stored = await history(after, id);
        assert.deepEqual(contents(stored), range(prefix, perConversation), `${prefix}: each message once, in send order`);
        assert.deepEqual(stored.map((m) => m.seq), range('', perConversation).map((i) => Number(i) + 1));
        await until(bob.client, () => bob.messages.filter((m) => m.conversation_id === id).length >= perConversation, `bob to get all of ${prefix}`);
        assert.deepEqual(contents(bob.messages.filter((m) => m.conversation_id === id)), range(prefix, perConversation), `${prefix}: bob sees each once, in order`);
      }
      assert.ok(bob.wire.some((f) => f.type === 'sync_done'), 'bob resumed with sync');
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

  it('waits out rate_limited sends for retry_after_ms and keeps their order', async () => {
    // A bucket of 60 sends refilled at one per second: the burst overflows it by a few.
    const server = await startNatter({ NATTER_MESSAGES_PER_MINUTE: '60' });
    const token = await server.token('alice');
    const id = (await new NatterApi(server.url, token).createConversation({ type: 'group', title: 'limits', member_ids: [] })).conversation_id;
    const alice = device({ url: server.url, token, deviceId: 'laptop' });
    try {
      await alice.client.connect();
      await Promise.all(range('m', 62).map((text) => alice.client.send(id, text)));
      assert.ok(alice.wire.some((f) => f.type === 'error' && f.code === 'rate_limited' && typeof f.retry_after_ms === 'number'), 'the server did refuse some');
      assert.deepEqual(contents(await history(new NatterApi(server.url, token), id)), range('m', 62));
    } finally {
      alice.client.close();
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
});

// Node 20 has no global WebSocket; the SDK says so instead of failing later.
it('asks for a WebSocket implementation where there is no global one', { skip: 'WebSocket' in globalThis }, () => {
  assert.throws(() => new NatterClient({ url: 'http://x', token: 't', deviceId: 'd' }), /pass the `ws` package/);
});

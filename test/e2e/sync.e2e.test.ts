import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rest } from '../support/natter.ts';
import { useNatter } from '../support/fixture.ts';
import { Device, type Frame } from '../support/ws-client.ts';

/** The first frame of each message, in arrival order: delivery is at least once. */
const firstOfEach = (frames: Frame[]) => {
  const seen = new Set<string>();
  return frames.filter((f) => !seen.has(f.message_id) && seen.add(f.message_id));
};

const eventually = async (check: () => Promise<boolean>, timeoutMs = 10_000) => {
  for (const deadline = Date.now() + timeoutMs; !(await check()); ) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 30));
  }
};

describe('offline delivery with sync', () => {
  const { server } = useNatter();

  it('gives a user who was offline for 50 messages all 50 through sync, in order, then sync_done', async () => {
    const pam = rest(server.url, await server.token('pam'));
    const { body: conv } = await pam.post('/v1/conversations', { type: 'direct', peer_id: 'quin' });
    const quinPhone = await Device.connect(server.wsUrl, await server.token('quin', 'phone'), 'phone');
    const { cursor } = await quinPhone.syncAll();
    await quinPhone.close();

    const pamDevice = await Device.connect(server.wsUrl, await server.token('pam'), 'phone');
    for (let i = 1; i <= 50; i++) await pamDevice.sendMessage(conv.conversation_id, `offline ${i}`);
    await pamDevice.close();

    const back = await Device.connect(server.wsUrl, await server.token('quin', 'phone'), 'phone');
    await back.syncAll(cursor);
    // Sync returns what the read models hold; anything they apply later arrives live, after it.
    const received = firstOfEach(await back.waitFor('new_message', () => true, 50, 15_000));
    assert.deepEqual(
      received.map((m) => m.seq),
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
    assert.equal(received[49]!.content, 'offline 50');
    // Once everything is applied, a sync from the last cursor has nothing new.
    await eventually(async () => (await back.syncAll(received[49]!.cursor)).messages.every((m) => m.seq <= 50));
    await back.close();
  });

  it('gives a new device every message of its conversations, paged with has_more, in per-conversation order', async () => {
    const rae = await Device.connect(server.wsUrl, await server.token('rae'), 'phone');
    const raeRest = rest(server.url, await server.token('rae'));
    const { body: a } = await raeRest.post('/v1/conversations', { type: 'direct', peer_id: 'sal' });
    const { body: b } = await raeRest.post('/v1/conversations', { type: 'group', title: 'b', member_ids: ['sal', 'tom'] });
    for (let i = 1; i <= 15; i++) {
      await rae.sendMessage(a.conversation_id, `a${i}`);
      await rae.sendMessage(b.conversation_id, `b${i}`);
    }
    await rae.close();
    const fresh = await Device.connect(server.wsUrl, await server.token('sal', 'new-laptop'), 'new-laptop');
    const pages: number[] = [];
    fresh.send({ type: 'sync', limit: 7 });
    const [first] = await fresh.waitFor('sync_done');
    assert.equal(first!.has_more, true);
    pages.push(fresh.of('new_message').length);
    await fresh.syncAll(first!.cursor, 7);
    const all = firstOfEach(await fresh.waitFor('new_message', () => true, 30, 15_000));
    assert.equal(pages[0], 7);
    for (const id of [a.conversation_id, b.conversation_id]) {
      assert.deepEqual(
        all.filter((m) => m.conversation_id === id).map((m) => m.seq),
        Array.from({ length: 15 }, (_, i) => i + 1),
      );
    }
    await fresh.close();
  });

  it('sends live messages that arrive during a sync after the synced ones, never before', async () => {
    const uma = rest(server.url, await server.token('uma'));
    const { body: conv } = await uma.post('/v1/conversations', { type: 'direct', peer_id: 'val' });
    const umaDevice = await Device.connect(server.wsUrl, await server.token('uma'), 'phone');
    for (let i = 1; i <= 200; i++) umaDevice.send({ type: 'send_message', conversation_id: conv.conversation_id, client_msg_id: `p${i}`, content: `p${i}` });
    await umaDevice.waitFor('ack', () => true, 200, 10_000);
    const val = await Device.connect(server.wsUrl, await server.token('val'), 'phone');
    // Live traffic races the sync.
    const live = Promise.all(Array.from({ length: 50 }, (_, i) => umaDevice.sendMessage(conv.conversation_id, `live${i}`, `l${i}`)));
    await val.syncAll();
    await live;
    const seqs = [...new Set((await val.waitFor('new_message', (f) => f.conversation_id === conv.conversation_id, 250, 10_000)).map((f) => f.seq))];
    assert.deepEqual(
      seqs,
      Array.from({ length: 250 }, (_, i) => i + 1),
      'each seq once, in order',
    );
    await Promise.all([umaDevice.close(), val.close()]);
  });

  it('serves the same sync over REST', async () => {
    const wes = rest(server.url, await server.token('wes'));
    const { body: conv } = await wes.post('/v1/conversations', { type: 'direct', peer_id: 'xia' });
    for (let i = 1; i <= 3; i++) await wes.post(`/v1/conversations/${conv.conversation_id}/messages`, { client_msg_id: `r${i}`, content: `r${i}` });
    const xia = rest(server.url, await server.token('xia'));
    // Wait until the read models have all three (REST sends answer once durable, not once projected).
    await eventually(async () => (await xia.get('/v1/sync?limit=10')).body.items.length === 3);
    const page = (await xia.get('/v1/sync?limit=2')).body;
    assert.deepEqual(
      page.items.map((m: any) => m.seq),
      [1, 2],
    );
    assert.equal(page.has_more, true);
    const rest2 = (await xia.get(`/v1/sync?cursor=${page.cursor}`)).body;
    assert.deepEqual(
      rest2.items.map((m: any) => m.seq),
      [3],
    );
    assert.equal(rest2.has_more, false);
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startNatter, rest } from '../support/natter.ts';
import { useNatter } from '../support/fixture.ts';
import { eventually } from '../support/eventually.ts';

describe('messaging over real sockets', () => {
  const { connect, as } = useNatter();

  it('creates one direct conversation per pair, whoever creates it', async () => {
    const byAlice = await (await as('alice')).post('/v1/conversations', { type: 'direct', peer_id: 'bob' });
    const byBob = await (await as('bob')).post('/v1/conversations', { type: 'direct', peer_id: 'alice' });
    assert.equal(byAlice.status, 201);
    assert.equal(byBob.status, 200);
    assert.equal(byAlice.body.conversation_id, byBob.body.conversation_id);
    assert.deepEqual(byAlice.body.members, ['alice', 'bob']);
    assert.equal(byAlice.body.type, 'direct');
  });

  it("acks a message with seq and id, and pushes it to every device of every member, the sender's other devices included", async () => {
    const { body: conv } = await (await as('ann')).post('/v1/conversations', { type: 'direct', peer_id: 'ben' });
    const annPhone = await connect('ann', 'phone');
    const annLaptop = await connect('ann', 'laptop');
    const benPhone = await connect('ben', 'phone');
    const benTablet = await connect('ben', 'tablet');
    const ack = await annPhone.sendMessage(conv.conversation_id, 'hello ben', 'm-1');
    assert.equal(ack.seq, 1);
    assert.equal(ack.conversation_id, conv.conversation_id);
    assert.match(ack.message_id, /^[0-9a-f-]{36}$/);
    for (const device of [annPhone, annLaptop, benPhone, benTablet]) {
      const [frame] = await device.waitFor('new_message', (f) => f.message_id === ack.message_id);
      assert.equal(frame!.content, 'hello ben');
      assert.equal(frame!.sender_id, 'ann');
      assert.equal(frame!.seq, 1);
      assert.equal(frame!.client_msg_id, 'm-1');
      assert.equal(frame!.content_type, 'text');
      assert.match(frame!.cursor, /^[0-9]+$/);
    }
  });

  it('answers a retry with the same client_msg_id with the first ack and appends nothing (socket and REST)', async () => {
    const { body: conv } = await (await as('cat')).post('/v1/conversations', { type: 'direct', peer_id: 'dan' });
    const cat = await connect('cat');
    const first = await cat.sendMessage(conv.conversation_id, 'once', 'retry-1');
    const again = await cat.sendMessage(conv.conversation_id, 'once', 'retry-1');
    assert.deepEqual(again, first);
    // Concurrent retries, as a client resending after a lost connection would.
    const burst = await Promise.all([1, 2, 3].map(() => cat.sendMessage(conv.conversation_id, 'twice', 'retry-2')));
    assert.equal(new Set(burst.map((a) => a.message_id)).size, 1);
    const catRest = await as('cat');
    const viaRest = await catRest.post(`/v1/conversations/${conv.conversation_id}/messages`, { client_msg_id: 'retry-1', content: 'once' });
    assert.equal(viaRest.status, 200);
    assert.equal(viaRest.body.message_id, first.message_id);
    const created = await catRest.post(`/v1/conversations/${conv.conversation_id}/messages`, { client_msg_id: 'retry-3', content: 'rest' });
    assert.equal(created.status, 201);
    assert.equal(created.body.seq, 3);
    // Reads are eventually consistent with sends (the history projection follows the log).
    const history = await eventually(
      () => catRest.get(`/v1/conversations/${conv.conversation_id}/messages`),
      (r) => r.body.items.length >= 3,
    );
    assert.deepEqual(
      history.body.items.map((m: any) => m.client_msg_id),
      ['retry-1', 'retry-2', 'retry-3'],
    );
  });

  it('gives three senders racing 200 messages each into one group seq 1..600, in one order on every device', async () => {
    const users = ['r1', 'r2', 'r3', 'r4'];
    const { body: group } = await (await as('r1')).post('/v1/conversations', { type: 'group', title: 'race', member_ids: users });
    const senders = await Promise.all(['r1', 'r2', 'r3'].map((u) => connect(u)));
    const watchers = await Promise.all([connect('r4', 'phone'), connect('r4', 'laptop'), connect('r1', 'laptop')]);
    const acks = await Promise.all(
      senders.map((device, s) => Promise.all(Array.from({ length: 200 }, (_, i) => device.sendMessage(group.conversation_id, `s${s}-${i}`, `s${s}-${i}`)))),
    );
    const seqs = acks
      .flat()
      .map((a) => a.seq)
      .sort((a, b) => a - b);
    assert.deepEqual(
      seqs,
      Array.from({ length: 600 }, (_, i) => i + 1),
    );
    // Per sender, seq follows send order.
    for (const list of acks) for (let i = 1; i < list.length; i++) assert.ok(list[i]!.seq > list[i - 1]!.seq);
    const orders = await Promise.all(
      watchers.map(async (w) =>
        (await w.waitFor('new_message', (f) => f.conversation_id === group.conversation_id, 600, 15_000)).map((f) => `${f.seq}:${f.content}`),
      ),
    );
    assert.deepEqual(
      orders[0]!.map((s) => Number(s.split(':')[0])),
      Array.from({ length: 600 }, (_, i) => i + 1),
    );
    assert.deepEqual(orders[1], orders[0]);
    assert.deepEqual(orders[2], orders[0]);
  });

  it('serves history pages: newest by default, before pages back, after pages forward', async () => {
    const eve = await as('eve');
    const { body: conv } = await eve.post('/v1/conversations', { type: 'direct', peer_id: 'fay' });
    for (let i = 1; i <= 12; i++) await eve.post(`/v1/conversations/${conv.conversation_id}/messages`, { client_msg_id: `h${i}`, content: `m${i}` });
    const seqs = async (query: string) => (await eve.get(`/v1/conversations/${conv.conversation_id}/messages${query}`)).body.items.map((m: any) => m.seq);
    // REST sends answer once durable; the history projection follows within moments.
    await eventually(
      () => seqs('?limit=200'),
      (all) => all.length === 12,
    );
    assert.deepEqual(await seqs('?limit=5'), [8, 9, 10, 11, 12]);
    assert.deepEqual(await seqs('?limit=5&before=8'), [3, 4, 5, 6, 7]);
    assert.deepEqual(await seqs('?limit=5&before=3'), [1, 2]);
    assert.deepEqual(await seqs('?after=10'), [11, 12]);
    assert.deepEqual(await seqs('?after=2&limit=3'), [3, 4, 5]);
    assert.deepEqual(await seqs('?after=2&before=6'), [3, 4, 5]);
    assert.equal((await seqs('')).length, 12);
  });

  it('lists the inbox by last activity with last message preview and unread counts', async () => {
    const gil = await as('gil');
    const hal = await as('hal');
    const { body: one } = await gil.post('/v1/conversations', { type: 'direct', peer_id: 'hal' });
    const { body: two } = await gil.post('/v1/conversations', { type: 'group', title: 'team', member_ids: ['hal', 'ivy'] });
    await hal.post(`/v1/conversations/${one.conversation_id}/messages`, { client_msg_id: 'a', content: 'first' });
    await hal.post(`/v1/conversations/${one.conversation_id}/messages`, { client_msg_id: 'b', content: 'second' });
    await new Promise((r) => setTimeout(r, 5));
    await gil.post(`/v1/conversations/${two.conversation_id}/messages`, { client_msg_id: 'c', content: 'x'.repeat(300) });
    // Reads follow the log: wait until the inbox reflects all three messages.
    const inboxOf = async (client: typeof gil) => {
      const settled = (body: any) =>
        body.items.length >= 2 &&
        body.items[0].last_message?.sender_id === 'gil' &&
        body.items.find((i: any) => i.conversation_id === one.conversation_id)?.last_message?.seq === 2;
      return (
        await eventually(
          () => client.get('/v1/conversations'),
          (r) => settled(r.body),
        )
      ).body;
    };
    const gilInbox = await inboxOf(gil);
    assert.deepEqual(
      gilInbox.items.map((i: any) => i.conversation_id),
      [two.conversation_id, one.conversation_id],
    );
    const [team, direct] = gilInbox.items;
    assert.equal(team.type, 'group');
    assert.equal(team.title, 'team');
    assert.equal(team.unread_count, 0, 'own messages are read');
    assert.equal(team.last_message.preview.length, 100);
    assert.equal(direct.unread_count, 2);
    assert.equal(direct.last_message.preview, 'second');
    assert.equal(direct.last_message.seq, 2);
    const halInbox = await inboxOf(hal);
    assert.equal(halInbox.items.find((i: any) => i.conversation_id === two.conversation_id).unread_count, 1);
    // Pages: one item, then the next with the cursor.
    const first = await gil.get('/v1/conversations?limit=1');
    assert.equal(first.body.items.length, 1);
    const second = await gil.get(`/v1/conversations?limit=1&cursor=${first.body.next_cursor}`);
    assert.equal(second.body.items[0].conversation_id, one.conversation_id);
    assert.equal(second.body.next_cursor, null);
  });

  it('moves receipts as watermarks, pushes message_status to members and clears unread', async () => {
    const jo = await as('jo');
    const { body: conv } = await jo.post('/v1/conversations', { type: 'direct', peer_id: 'kim' });
    const joPhone = await connect('jo');
    const kimPhone = await connect('kim');
    const kimLaptop = await connect('kim', 'laptop');
    for (let i = 1; i <= 3; i++) await joPhone.sendMessage(conv.conversation_id, `m${i}`);
    kimPhone.send({ type: 'mark_delivered', conversation_id: conv.conversation_id, up_to_seq: 3 });
    const [delivered] = await joPhone.waitFor('message_status', (f) => f.status === 'delivered' && f.user_id === 'kim');
    assert.equal(delivered!.up_to_seq, 3);
    kimPhone.send({ type: 'mark_read', conversation_id: conv.conversation_id, up_to_seq: 2 });
    await joPhone.waitFor('message_status', (f) => f.status === 'read' && f.up_to_seq === 2);
    await kimLaptop.waitFor('message_status', (f) => f.status === 'read' && f.up_to_seq === 2);
    // A lower mark changes nothing; a mark past the last message is clamped.
    kimPhone.send({ type: 'mark_read', conversation_id: conv.conversation_id, up_to_seq: 1 });
    const kim = await as('kim');
    assert.equal((await kim.post(`/v1/conversations/${conv.conversation_id}/read`, { up_to_seq: 99 })).status, 204);
    await joPhone.waitFor('message_status', (f) => f.status === 'read' && f.up_to_seq === 3);
    assert.equal(joPhone.of('message_status', (f) => f.status === 'read' && f.up_to_seq === 1).length, 0);
    const receipts = await kim.get(`/v1/conversations/${conv.conversation_id}/receipts`);
    assert.deepEqual(receipts.body.items, [
      { user_id: 'jo', delivered_seq: 0, read_seq: 0 },
      { user_id: 'kim', delivered_seq: 3, read_seq: 3 },
    ]);
    const inbox = await kim.get('/v1/conversations');
    assert.equal(inbox.body.items.find((i: any) => i.conversation_id === conv.conversation_id).unread_count, 0);
  });

  it('adds and removes group members; a removed member stops receiving at once', async () => {
    const lea = await as('lea');
    const { body: group } = await lea.post('/v1/conversations', { type: 'group', title: 'g', member_ids: ['max'] });
    const added = await lea.post(`/v1/conversations/${group.conversation_id}/members`, { user_ids: ['ned', 'max'] });
    assert.deepEqual(added.body.members, ['lea', 'max', 'ned']);
    const ned = await connect('ned');
    const max = await connect('max');
    const leaDevice = await connect('lea');
    await leaDevice.sendMessage(group.conversation_id, 'before');
    await ned.waitFor('new_message', (f) => f.content === 'before');
    const removed = await lea.delete(`/v1/conversations/${group.conversation_id}/members/ned`);
    assert.deepEqual(removed.body.members, ['lea', 'max']);
    await ned.waitFor('conversation_updated', (f) => f.removed === true);
    await leaDevice.sendMessage(group.conversation_id, 'after');
    await max.waitFor('new_message', (f) => f.content === 'after');
    assert.equal(ned.of('new_message', (f) => f.content === 'after').length, 0);
    const nedRest = await as('ned');
    assert.equal((await nedRest.get(`/v1/conversations/${group.conversation_id}/messages`)).status, 404);
    const send = await nedRest.post(`/v1/conversations/${group.conversation_id}/messages`, { client_msg_id: 'x', content: 'hi' });
    assert.equal(send.status, 403);
    assert.equal(send.body.error.code, 'not_a_member');
    // Only the creator removes others; anyone may leave.
    const maxRest = await as('max');
    assert.equal((await maxRest.delete(`/v1/conversations/${group.conversation_id}/members/lea`)).status, 403);
    assert.deepEqual((await maxRest.delete(`/v1/conversations/${group.conversation_id}/members/max`)).body.members, ['lea']);
  });

  it('refuses a group above the member limit', async () => {
    const small = await startNatter({ NATTER_MAX_GROUP_MEMBERS: '3' });
    try {
      const client = rest(small.url, await small.token('oz'));
      const tooBig = await client.post('/v1/conversations', { type: 'group', title: 'big', member_ids: ['a', 'b', 'c'] });
      assert.equal(tooBig.status, 422);
      assert.equal(tooBig.body.error.code, 'group_too_large');
      const ok = await client.post('/v1/conversations', { type: 'group', title: 'ok', member_ids: ['a', 'b'] });
      assert.equal(ok.status, 201);
      const add = await client.post(`/v1/conversations/${ok.body.conversation_id}/members`, { user_ids: ['c'] });
      assert.equal(add.body.error.code, 'group_too_large');
    } finally {
      await small.close();
    }
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Device } from '../support/ws-client.ts';
import { useNatter } from '../support/fixture.ts';
import { eventually } from '../support/eventually.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A ping/pong round trip: every frame the server wrote to this socket before the pong has arrived. */
const flush = async (device: Device) => {
  const seen = device.of('pong').length;
  device.send({ type: 'ping' });
  await device.waitFor('pong', () => true, seen + 1);
};

const typing = (conversationId: string, state: 'start' | 'stop') => ({ type: 'typing', conversation_id: conversationId, state });

describe('typing indicators with a long TTL and throttle', () => {
  // Nothing expires or re-opens its window during a test here, so every frame is the test's doing.
  const h = useNatter({ NATTER_TYPING_TTL_MS: '10000', NATTER_TYPING_THROTTLE_MS: '10000' });

  it("forwards a start to every device of the other members, and to none of the typist's own devices", async () => {
    const { body: group } = await (await h.as('ta')).post('/v1/conversations', { type: 'group', title: 'typing', member_ids: ['tb', 'tc'] });
    const taPhone = await h.connect('ta', 'phone');
    const taLaptop = await h.connect('ta', 'laptop');
    const others = [await h.connect('tb', 'phone'), await h.connect('tb', 'laptop'), await h.connect('tc', 'phone')];
    taPhone.send(typing(group.conversation_id, 'start'));
    for (const device of others) {
      const [frame] = await device.waitFor('typing');
      assert.deepEqual(frame, { ...frame, type: 'typing', conversation_id: group.conversation_id, user_id: 'ta', state: 'start' });
    }
    await flush(taPhone);
    await flush(taLaptop);
    assert.deepEqual(taPhone.of('typing'), []);
    assert.deepEqual(taLaptop.of('typing'), []);
    assert.deepEqual(taPhone.of('error'), []);
  });

  it('forwards repeated starts within the throttle window once, and forwards an explicit stop at once', async () => {
    const { body: conv } = await (await h.as('ua')).post('/v1/conversations', { type: 'direct', peer_id: 'ub' });
    const ua = await h.connect('ua');
    const ub = await h.connect('ub');
    for (let i = 0; i < 5; i++) ua.send(typing(conv.conversation_id, 'start'));
    await ub.waitFor('typing', (f) => f.state === 'start');
    ua.send(typing(conv.conversation_id, 'stop'));
    await ub.waitFor('typing', (f) => f.state === 'stop'); // the TTL is 10 s: only the explicit stop can arrive in time
    await flush(ub);
    assert.deepEqual(
      ub.of('typing').map((f) => f.state),
      ['start', 'stop'],
    );
    // A stop ends the typing session: the next start is news again, and a second stop is not.
    ua.send(typing(conv.conversation_id, 'start'));
    await ub.waitFor('typing', (f) => f.state === 'start', 2);
    ua.send(typing(conv.conversation_id, 'stop'));
    ua.send(typing(conv.conversation_id, 'stop'));
    await ub.waitFor('typing', (f) => f.state === 'stop', 2);
    await flush(ub);
    assert.deepEqual(
      ub.of('typing').map((f) => f.state),
      ['start', 'stop', 'start', 'stop'],
    );
  });

  it('never stores typing: history, inbox and sync are the same before and after', async () => {
    const va = await h.as('va');
    const vb = await h.as('vb');
    const { body: conv } = await va.post('/v1/conversations', { type: 'direct', peer_id: 'vb' });
    assert.equal((await va.post(`/v1/conversations/${conv.conversation_id}/messages`, { client_msg_id: 'v-1', content: 'before typing' })).status, 201);
    const snapshot = async () => ({
      history: (await vb.get(`/v1/conversations/${conv.conversation_id}/messages`)).body,
      inbox: (await vb.get('/v1/conversations')).body,
      // The sync cursor may move on as the log advances (the cluster's watermark); the items must not.
      sync: (await vb.get('/v1/sync')).body.items,
    });
    const before = await eventually(
      snapshot,
      (s) =>
        s.history.items.length === 1 &&
        s.sync.length === 1 &&
        s.inbox.items.some((c: any) => c.conversation_id === conv.conversation_id && c.last_message?.seq === 1),
    );
    assert.equal(before.history.items.length, 1);
    assert.equal(before.sync.length, 1);

    const typist = await h.connect('va');
    const watcher = await h.connect('vb');
    for (let i = 0; i < 3; i++) {
      typist.send(typing(conv.conversation_id, 'start'));
      await watcher.waitFor('typing', (f) => f.state === 'start', i + 1);
      typist.send(typing(conv.conversation_id, 'stop'));
      await watcher.waitFor('typing', (f) => f.state === 'stop', i + 1);
    }
    assert.deepEqual(await snapshot(), before);
    const { messages } = await watcher.syncAll();
    assert.deepEqual(
      messages.map((m) => m.client_msg_id),
      ['v-1'],
    );
    assert.equal(watcher.of('new_message').length, 1, 'typing never becomes a message frame');
  });

  it('answers typing in a conversation one is not in with conversation_not_found and forwards it to no one', async () => {
    const { body: conv } = await (await h.as('wa')).post('/v1/conversations', { type: 'direct', peer_id: 'wb' });
    const members = [await h.connect('wa'), await h.connect('wb')];
    const outsider = await h.connect('wc');
    outsider.send(typing(conv.conversation_id, 'start'));
    const [error] = await outsider.waitFor('error');
    assert.equal(error!.code, 'conversation_not_found');
    outsider.send(typing('g_does_not_exist', 'start'));
    const [, missing] = await outsider.waitFor('error', () => true, 2);
    assert.equal(missing!.code, 'conversation_not_found', 'the same answer as for a conversation that does not exist');
    assert.equal(outsider.open, true);
    for (const device of members) {
      await flush(device);
      assert.deepEqual(device.of('typing'), []);
    }
  });

  it('answers typing from a removed member with not_a_member and forwards it to no one', async () => {
    const xa = await h.as('xa');
    const { body: group } = await xa.post('/v1/conversations', { type: 'group', title: 'leavers', member_ids: ['xb', 'xc'] });
    assert.equal((await xa.delete(`/v1/conversations/${group.conversation_id}/members/xc`)).status, 200);
    const remaining = [await h.connect('xa'), await h.connect('xb')];
    const removed = await h.connect('xc');
    removed.send(typing(group.conversation_id, 'start'));
    const [error] = await removed.waitFor('error');
    assert.equal(error!.code, 'not_a_member');
    for (const device of remaining) {
      await flush(device);
      assert.deepEqual(device.of('typing'), []);
    }
  });
});

describe('typing indicators that expire', () => {
  const TTL_MS = 1000;
  const THROTTLE_MS = 300;
  const h = useNatter({ NATTER_TYPING_TTL_MS: String(TTL_MS), NATTER_TYPING_THROTTLE_MS: String(THROTTLE_MS) });

  it('turns a start into a stop by itself after the TTL when no refresh comes', async () => {
    const { body: conv } = await (await h.as('ya')).post('/v1/conversations', { type: 'direct', peer_id: 'yb' });
    const ya = await h.connect('ya');
    const yb = await h.connect('yb');
    ya.send(typing(conv.conversation_id, 'start'));
    await yb.waitFor('typing', (f) => f.state === 'start');
    const started = Date.now();
    const [stop] = await yb.waitFor('typing', (f) => f.state === 'stop', 1, TTL_MS * 5);
    assert.deepEqual(stop, { ...stop, type: 'typing', conversation_id: conv.conversation_id, user_id: 'ya', state: 'stop' });
    assert.ok(Date.now() - started >= TTL_MS - 50, `the stop came ${Date.now() - started} ms after the start, not before the TTL`);
  });

  it('keeps a refreshed indicator alive, forwarding at most one start per throttle window, then expires it', async () => {
    const { body: conv } = await (await h.as('za')).post('/v1/conversations', { type: 'direct', peer_id: 'zb' });
    const za = await h.connect('za');
    const zb = await h.connect('zb');
    const began = Date.now();
    while (Date.now() - began < TTL_MS * 1.5) {
      za.send(typing(conv.conversation_id, 'start'));
      await sleep(TTL_MS / 8);
    }
    const refreshedFor = Date.now() - began;
    assert.deepEqual(
      zb.of('typing', (f) => f.state === 'stop'),
      [],
      'no stop while the typist keeps refreshing',
    );
    const starts = zb.of('typing', (f) => f.state === 'start').length;
    assert.ok(starts >= 1 && starts <= Math.ceil(refreshedFor / THROTTLE_MS) + 1, `${starts} starts forwarded in ${refreshedFor} ms`);
    await zb.waitFor('typing', (f) => f.state === 'stop', 1, TTL_MS * 5);
  });
});

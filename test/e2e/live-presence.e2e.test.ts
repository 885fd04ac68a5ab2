import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { useNatter } from '../support/fixture.ts';
import type { Device, Frame } from '../support/ws-client.ts';

// Short intervals so that heartbeats, TTLs and throttle windows pass within a test.
const HEARTBEAT_MS = 200;
const TTL_MS = 500;
const THROTTLE_MS = 400;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A ping/pong round trip: every frame the server wrote to this socket before the pong has arrived. */
const flush = async (device: Device) => {
  const seen = device.of('pong').length;
  device.send({ type: 'ping' });
  await device.waitFor('pong', () => true, seen + 1);
};

describe('presence and heartbeats over real sockets', () => {
  const { connect, as } = useNatter({
    NATTER_HEARTBEAT_INTERVAL_MS: String(HEARTBEAT_MS),
    NATTER_PRESENCE_TTL_MS: String(TTL_MS),
    NATTER_PRESENCE_THROTTLE_MS: String(THROTTLE_MS),
  });
  const presenceOf = (device: Device, user: string): Frame[] => device.of('presence', (f) => f.user_id === user);

  it("tells a contact when a user's first device comes online, says nothing for the second, and says offline with last_seen when the last one leaves", async () => {
    const pa = await as('pa');
    await pa.post('/v1/conversations', { type: 'direct', peer_id: 'pb' });
    await (await as('px')).post('/v1/conversations', { type: 'direct', peer_id: 'py' });
    const contact = await connect('pb');
    const stranger = await connect('px');

    const phone = await connect('pa', 'phone');
    const [online] = await contact.waitFor('presence', (f) => f.user_id === 'pa' && f.status === 'online');
    assert.equal(online!.user_id, 'pa');
    assert.equal(online!.last_seen, undefined, 'an online user has no last_seen');

    const laptop = await connect('pa', 'laptop');
    await sleep(THROTTLE_MS * 2); // past any throttle window: an announcement would have gone out by now
    await flush(contact);
    assert.equal(presenceOf(contact, 'pa').length, 1, 'a second device changes nothing contacts can see');

    const leftAt = Date.now();
    await phone.close();
    await laptop.close();
    const [offline] = await contact.waitFor('presence', (f) => f.user_id === 'pa' && f.status === 'offline');
    assert.equal(typeof offline!.last_seen, 'number');
    assert.ok(offline!.last_seen >= leftAt - 5 && offline!.last_seen <= Date.now() + 5, `last_seen ${offline!.last_seen} is when the last device left`);
    assert.equal(presenceOf(contact, 'pa').length, 2);

    await flush(stranger);
    assert.deepEqual(stranger.of('presence'), [], 'someone who shares no conversation never hears about pa');
  });

  it('answers GET /v1/users/:id/presence to contacts and 404 to everyone else', async () => {
    await (await as('qa')).post('/v1/conversations', { type: 'group', title: 'presence', member_ids: ['qb'] });
    const contact = await as('qb');
    const stranger = await as('qz');

    const device = await connect('qa');
    const online = await contact.get('/v1/users/qa/presence');
    assert.equal(online.status, 200);
    assert.equal(online.body.user_id, 'qa');
    assert.equal(online.body.status, 'online');
    assert.equal(online.body.last_seen, undefined);
    const refused = await stranger.get('/v1/users/qa/presence');
    assert.equal(refused.status, 404);
    assert.equal(typeof refused.body.error.code, 'string');
    assert.equal((await stranger.get('/v1/users/nobody-at-all/presence')).status, 404, 'the same answer as for a user who does not exist');

    const leftAt = Date.now();
    await device.close();
    let offline = await contact.get('/v1/users/qa/presence');
    for (let i = 0; i < 100 && offline.body.status !== 'offline'; i++) {
      await sleep(20);
      offline = await contact.get('/v1/users/qa/presence');
    }
    assert.equal(offline.status, 200);
    assert.equal(offline.body.user_id, 'qa');
    assert.equal(offline.body.status, 'offline');
    assert.equal(typeof offline.body.last_seen, 'number');
    assert.ok(offline.body.last_seen >= leftAt - 5);
    assert.equal((await stranger.get('/v1/users/qa/presence')).status, 404);
  });

  it('closes a socket that stops answering pings with 4000 and tells contacts the user went offline', async () => {
    await (await as('ha')).post('/v1/conversations', { type: 'direct', peer_id: 'hb' });
    const contact = await connect('hb');
    const mute = await connect('ha', 'phone', { autoPong: false });
    await contact.waitFor('presence', (f) => f.user_id === 'ha' && f.status === 'online');

    assert.equal(await mute.closed(HEARTBEAT_MS * 10), 4000);
    assert.ok(mute.pings >= 1, 'the server pinged before giving up');
    const [offline] = await contact.waitFor('presence', (f) => f.user_id === 'ha' && f.status === 'offline');
    assert.equal(typeof offline!.last_seen, 'number');
    assert.equal((await (await as('hb')).get('/v1/users/ha/presence')).body.status, 'offline');
  });

  it('keeps a socket that answers pings open across many heartbeats, and answers a ping frame with a pong', async () => {
    const device = await connect('hc');
    for (let i = 0; i < 100 && device.pings < 4; i++) await sleep(HEARTBEAT_MS / 2);
    assert.ok(device.pings >= 4, `server pings arrive every heartbeat interval (got ${device.pings})`);
    assert.equal(device.open, true, 'a device that pongs is never cut off');
    device.send({ type: 'ping' });
    const [pong] = await device.waitFor('pong');
    assert.deepEqual(pong, { type: 'pong' });
  });

  it('coalesces a flapping connection that ends offline into a bounded number of frames that ends offline', async () => {
    await (await as('fa')).post('/v1/conversations', { type: 'direct', peer_id: 'fb' });
    const contact = await connect('fb');
    for (let i = 0; i < 6; i++) await (await connect('fa', 'phone')).close();
    await contact.waitFor('presence', (f) => f.user_id === 'fa' && f.status === 'offline');
    await sleep(THROTTLE_MS * 2);
    await flush(contact);
    const frames = presenceOf(contact, 'fa');
    assert.ok(frames.length <= 4, `12 changes became ${frames.length} frames: ${JSON.stringify(frames)}`);
    assert.equal(frames.at(-1)!.status, 'offline');
    assert.equal((await (await as('fb')).get('/v1/users/fa/presence')).body.status, 'offline');
  });

  it('coalesces a flapping connection that ends online into a bounded number of frames that ends online', async () => {
    await (await as('ga')).post('/v1/conversations', { type: 'direct', peer_id: 'gb' });
    const contact = await connect('gb');
    for (let i = 0; i < 6; i++) await (await connect('ga', 'phone')).close();
    await connect('ga', 'phone');
    await sleep(THROTTLE_MS * 2);
    await flush(contact);
    const frames = presenceOf(contact, 'ga');
    assert.ok(frames.length >= 1 && frames.length <= 4, `13 changes became ${frames.length} frames: ${JSON.stringify(frames)}`);
    assert.equal(frames.at(-1)!.status, 'online');
    assert.equal((await (await as('gb')).get('/v1/users/ga/presence')).body.status, 'online');
  });
});

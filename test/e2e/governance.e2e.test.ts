import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { allMessages } from '../support/natter.ts';
import { useNatter } from '../support/fixture.ts';
import type { Device } from '../support/ws-client.ts';
import { eventually } from '../support/eventually.ts';

const THROTTLE_MS = 100;
// A low budget, so that the burst is over it however slowly a loaded machine serves it.
const HOT_PER_SECOND = 1;
const HOT_BURST = 3;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A ping/pong round trip: every frame the server wrote to this socket before the pong has arrived. */
/** This file's conversations are hot (HOT_BURST): a send refused for the rate waits as the server says, then goes again. */
const sendPaced = async (client: { post(path: string, body: unknown): Promise<{ status: number; body: any }> }, path: string, body: unknown) => {
  for (;;) {
    const reply = await client.post(path, body);
    if (reply.status !== 429) return reply;
    await new Promise((r) => setTimeout(r, reply.body.error.retry_after_ms ?? 100));
  }
};

const flush = async (device: Device) => {
  const seen = device.of('pong').length;
  device.send({ type: 'ping' });
  await device.waitFor('pong', () => true, seen + 1);
};

describe('group governance: admins, rename, mute, block, last-seen privacy, hot conversations', () => {
  const { connect, as } = useNatter({
    NATTER_PRESENCE_THROTTLE_MS: String(THROTTLE_MS),
    NATTER_CONVERSATION_MESSAGES_PER_SECOND: String(HOT_PER_SECOND),
    NATTER_CONVERSATION_BURST: String(HOT_BURST),
  });
  const group = async (owner: string, members: string[], title = 'team') =>
    (await (await as(owner)).post('/v1/conversations', { type: 'group', title, member_ids: members })).body.conversation_id as string;
  const inboxItem = async (user: string, conv: string) =>
    ((await (await as(user)).get('/v1/conversations')).body.items as any[]).find((i) => i.conversation_id === conv);

  it('makes the creator admin; admins grant and revoke, never the last one; every device hears of it', async () => {
    const conv = await group('ada', ['bo', 'cy']);
    const boPhone = await connect('bo');
    const ada = await as('ada');
    assert.deepEqual((await ada.get(`/v1/conversations/${conv}`)).body.admins, ['ada']);
    assert.equal((await ada.call('PUT', `/v1/conversations/${conv}/admins/bo`)).status, 204);
    assert.deepEqual((await ada.get(`/v1/conversations/${conv}`)).body.admins, ['ada', 'bo']);
    await boPhone.waitFor('conversation_updated', (f) => f.conversation_id === conv && f.admins.includes('bo'));
    const cy = await as('cy');
    const notAdmin = await cy.call('PUT', `/v1/conversations/${conv}/admins/cy`);
    assert.equal(notAdmin.status, 403);
    assert.equal(notAdmin.body.error.code, 'forbidden');
    const stranger = await ada.call('PUT', `/v1/conversations/${conv}/admins/zed`);
    assert.equal(stranger.status, 400, 'the target must be a member');
    assert.equal((await ada.call('DELETE', `/v1/conversations/${conv}/admins/ada`)).status, 204);
    const last = await (await as('bo')).call('DELETE', `/v1/conversations/${conv}/admins/bo`);
    assert.equal(last.status, 409);
    assert.equal(last.body.error.code, 'last_admin');
    assert.deepEqual((await ada.get(`/v1/conversations/${conv}`)).body.admins, ['bo']);
  });

  it('takes the power from a removed admin at once, and hands it to the longest-standing member when the last admin leaves', async () => {
    const conv = await group('di', ['ed', 'fi', 'gu']);
    const di = await as('di');
    assert.equal((await di.call('PUT', `/v1/conversations/${conv}/admins/ed`)).status, 204);
    assert.equal((await di.delete(`/v1/conversations/${conv}/members/ed`)).status, 200);
    const ed = await as('ed');
    const gone = await ed.delete(`/v1/conversations/${conv}/members/fi`);
    assert.ok(gone.status === 403 || gone.status === 404, `a removed admin removes nobody: ${gone.status}`);
    const fiSocket = await connect('fi');
    assert.equal((await di.delete(`/v1/conversations/${conv}/members/di`)).status, 200, 'the last admin leaves');
    const [frame] = await fiSocket.waitFor('conversation_updated', (f) => f.conversation_id === conv && f.admins.length > 0 && !f.members.includes('di'));
    assert.deepEqual(frame!.admins, ['fi'], 'fi joined before gu');
    const fi = await as('fi');
    assert.deepEqual((await fi.get(`/v1/conversations/${conv}`)).body.admins, ['fi']);
    assert.equal((await fi.delete(`/v1/conversations/${conv}/members/gu`)).status, 200, 'the new admin has the power');
  });

  it('renames a group (admins only): 200 with the conversation, conversation_updated to every device, the inbox follows', async () => {
    const conv = await group('ha', ['io']);
    const ioTablet = await connect('io', 'tablet');
    const renamed = await (await as('ha')).call('PATCH', `/v1/conversations/${conv}`, { title: 'Launch crew' });
    assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
    assert.equal(renamed.body.title, 'Launch crew');
    await ioTablet.waitFor('conversation_updated', (f) => f.conversation_id === conv && f.title === 'Launch crew');
    assert.equal(
      (
        await eventually(
          () => inboxItem('io', conv),
          (i) => i?.title === 'Launch crew',
        )
      ).title,
      'Launch crew',
    );
    const refused = await (await as('io')).call('PATCH', `/v1/conversations/${conv}`, { title: 'mine now' });
    assert.equal(refused.status, 403);
    for (const body of [{}, { title: '' }, { title: 'x'.repeat(201) }, { title: 'ok', extra: 1 }]) {
      assert.equal((await (await as('ha')).call('PATCH', `/v1/conversations/${conv}`, body)).status, 400, JSON.stringify(body));
    }
    const direct = (await (await as('ha')).post('/v1/conversations', { type: 'direct', peer_id: 'io' })).body.conversation_id;
    assert.equal((await (await as('ha')).call('PATCH', `/v1/conversations/${direct}`, { title: 'x' })).status, 400, 'a direct conversation has no title');
  });

  it('mutes per user across devices, until unmuted or until a time, and lets a mute run out by itself', async () => {
    const conv = await group('ja', ['ko']);
    const ko = await as('ko');
    assert.equal((await ko.call('PUT', `/v1/conversations/${conv}/mute`, { until: null })).status, 204);
    assert.deepEqual(
      await eventually(
        async () => {
          const i = await inboxItem('ko', conv);
          return [i.muted, i.muted_until];
        },
        (v) => v[0] === true,
      ),
      [true, null],
    );
    const until = Date.now() + 1_500;
    assert.equal((await ko.call('PUT', `/v1/conversations/${conv}/mute`, { until })).status, 204);
    assert.equal(
      (
        await eventually(
          () => inboxItem('ko', conv),
          (i) => i.muted_until === until,
        )
      ).muted,
      true,
    );
    await (await as('ja')).post(`/v1/conversations/${conv}/messages`, { client_msg_id: 'm1', content: 'still counts' });
    assert.equal(
      (
        await eventually(
          () => inboxItem('ko', conv),
          (i) => i.unread_count === 1,
        )
      ).muted,
      true,
      'a muted conversation still counts unread',
    );
    await sleep(1_700);
    const expired = await inboxItem('ko', conv);
    assert.deepEqual([expired.muted, expired.muted_until], [false, null], 'the mute ran out');
    assert.equal((await ko.call('PUT', `/v1/conversations/${conv}/mute`, { until: null })).status, 204);
    assert.equal((await ko.call('DELETE', `/v1/conversations/${conv}/mute`)).status, 204);
    assert.equal(
      (
        await eventually(
          () => inboxItem('ko', conv),
          (i) => i.muted === false,
        )
      ).muted,
      false,
    );
    for (const body of [{ until: Date.now() - 1000 }, { until: 'tomorrow' }, { until: -5 }, {}]) {
      assert.equal((await ko.call('PUT', `/v1/conversations/${conv}/mute`, body)).status, 400, JSON.stringify(body));
    }
    assert.equal((await (await as('lu')).call('PUT', `/v1/conversations/${conv}/mute`, { until: null })).status, 404, 'a non-member cannot mute it');
    assert.equal((await inboxItem('ko', conv)).muted, false, 'bad input changed nothing');
  });

  it('blocks: the blocked user cannot send in or open the direct conversation, nothing is appended; groups are unaffected', async () => {
    const mo = await as('mo');
    const no = await as('no');
    const direct = (await mo.post('/v1/conversations', { type: 'direct', peer_id: 'no' })).body.conversation_id as string;
    const shared = await group('mo', ['no']);
    assert.equal((await no.post(`/v1/conversations/${direct}/messages`, { client_msg_id: 'before', content: 'hi' })).status, 201);
    assert.equal((await mo.call('PUT', '/v1/users/me/blocks/no')).status, 204);
    assert.equal((await mo.call('PUT', '/v1/users/me/blocks/no')).status, 204, 'idempotent');
    assert.deepEqual((await mo.get('/v1/users/me/blocks')).body, { items: ['no'] });
    const refused = await no.post(`/v1/conversations/${direct}/messages`, { client_msg_id: 'after', content: 'hello?' });
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error.code, 'blocked');
    const noSocket = await connect('no');
    noSocket.send({ type: 'send_message', conversation_id: direct, client_msg_id: 'after-ws', content: 'x' });
    assert.equal((await noSocket.waitFor('error', (f) => f.client_msg_id === 'after-ws'))[0]!.code, 'blocked');
    assert.equal((await no.post('/v1/conversations', { type: 'direct', peer_id: 'mo' })).status, 403, 'nor open it');
    assert.equal((await sendPaced(mo, `/v1/conversations/${direct}/messages`, { client_msg_id: 'mo-1', content: 'I can still write' })).status, 201);
    assert.equal(
      (await sendPaced(no, `/v1/conversations/${shared}/messages`, { client_msg_id: 'grp', content: 'in the group' })).status,
      201,
      'groups are unaffected',
    );
    const history = await eventually(
      () => allMessages(mo, direct),
      (ms) => ms.length === 2,
    );
    assert.deepEqual(
      history.map((m) => m.client_msg_id),
      ['before', 'mo-1'],
      'the refused sends appended nothing',
    );
    assert.equal((await mo.call('DELETE', '/v1/users/me/blocks/no')).status, 204);
    assert.equal((await sendPaced(no, `/v1/conversations/${direct}/messages`, { client_msg_id: 'unblocked', content: 'back' })).status, 201);
    assert.equal((await mo.call('PUT', '/v1/users/me/blocks/mo')).status, 400, 'nobody blocks themselves');
    assert.equal((await mo.call('PUT', '/v1/users/me/blocks/bad%20id')).status, 400);
  });

  it("blocks: the blocked user sees neither the blocker's presence nor typing, and the blocker stops getting theirs", async () => {
    const [pa, qu] = [await as('pa'), await as('qu')];
    const direct = (await pa.post('/v1/conversations', { type: 'direct', peer_id: 'qu' })).body.conversation_id as string;
    assert.equal((await pa.call('PUT', '/v1/users/me/blocks/qu')).status, 204);
    const quSocket = await connect('qu');
    await eventually(
      () => pa.get('/v1/users/me/blocks'),
      (r) => r.body.items.includes('qu'),
    );
    const paSocket = await connect('pa');
    await sleep(THROTTLE_MS * 3);
    paSocket.send({ type: 'typing', conversation_id: direct, state: 'start' });
    quSocket.send({ type: 'typing', conversation_id: direct, state: 'start' });
    await sleep(200);
    await Promise.all([flush(paSocket), flush(quSocket)]);
    assert.equal(quSocket.of('presence', (f) => f.user_id === 'pa').length, 0, 'no presence of the blocker');
    assert.equal(quSocket.of('typing').length, 0, 'no typing of the blocker');
    assert.equal(paSocket.of('typing').length, 0, 'no typing of the blocked');
    assert.equal((await qu.get('/v1/users/pa/presence')).status, 404, 'nor through REST');
  });

  it('honours last-seen privacy: nobody, contacts (a shared direct conversation) or everyone', async () => {
    const ra = await as('ra');
    await ra.post('/v1/conversations', { type: 'direct', peer_id: 'sa' });
    await group('ra', ['ta']);
    assert.equal((await ra.call('PUT', '/v1/users/me/privacy', { last_seen: 'contacts' })).status, 204);
    const [sa, ta] = [await connect('sa'), await connect('ta')];
    const raSocket = await connect('ra');
    await sa.waitFor('presence', (f) => f.user_id === 'ra' && f.status === 'online');
    await sleep(THROTTLE_MS * 2);
    await raSocket.close();
    const [toContact] = await sa.waitFor('presence', (f) => f.user_id === 'ra' && f.status === 'offline');
    const [toGroupPeer] = await ta.waitFor('presence', (f) => f.user_id === 'ra' && f.status === 'offline');
    assert.equal(typeof toContact!.last_seen, 'number', 'a contact sees last_seen');
    assert.equal(toGroupPeer!.last_seen, undefined, 'a group peer does not');
    assert.equal(typeof (await (await as('sa')).get('/v1/users/ra/presence')).body.last_seen, 'number');
    assert.equal((await (await as('ta')).get('/v1/users/ra/presence')).body.last_seen, undefined);
    assert.equal((await ra.call('PUT', '/v1/users/me/privacy', { last_seen: 'nobody' })).status, 204);
    await eventually(
      () => as('sa').then((c) => c.get('/v1/users/ra/presence')),
      (r) => r.body.last_seen === undefined,
    );
    for (const body of [{ last_seen: 'friends' }, {}, { last_seen: 'nobody', x: 1 }]) {
      assert.equal((await ra.call('PUT', '/v1/users/me/privacy', body)).status, 400);
    }
  });

  it('throttles a hot conversation, answering rate_limited with retry_after_ms, while another conversation of the same users flows', async () => {
    const hot = await group('ua', ['vi']);
    const calm = await group('ua', ['vi'], 'calm');
    const ua = await connect('ua');
    const vi = await as('vi');
    const sends = Array.from({ length: HOT_BURST + 10 }, (_, i) =>
      ua.sendMessage(hot, `burst ${i}`, `hot-${i}`).then(
        () => 'ok',
        (e: Error) => e.message,
      ),
    );
    const outcomes = await Promise.all(sends);
    const limited = ua.of('error', (f) => f.code === 'rate_limited' && String(f.client_msg_id).startsWith('hot-'));
    assert.ok(limited.length >= 3, `${limited.length} of ${outcomes.length} sends throttled`);
    assert.ok(limited.every((f) => typeof f.retry_after_ms === 'number' && f.retry_after_ms > 0));
    const rest429 = await vi.post(`/v1/conversations/${hot}/messages`, { client_msg_id: 'rest-hot', content: 'me too' });
    assert.equal(rest429.status, 429);
    assert.ok(Number(rest429.headers.get('retry-after')) >= 1);
    assert.equal(
      (await vi.post(`/v1/conversations/${calm}/messages`, { client_msg_id: 'calm-1', content: 'calm here' })).status,
      201,
      'another conversation is not throttled',
    );
    await sleep(1_100);
    assert.equal((await vi.post(`/v1/conversations/${hot}/messages`, { client_msg_id: 'rest-later', content: 'later' })).status, 201, 'the budget refills');
  });
});

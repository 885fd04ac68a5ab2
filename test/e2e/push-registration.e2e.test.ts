import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnNatter, tempDir, rest } from '../support/natter.ts';
import { useNatter } from '../support/fixture.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const apnsToken = 'ab'.repeat(32);

describe('push registrations over REST', () => {
  const { server: natter } = useNatter();

  it('given a device, then POST registers, GET reads, a second POST replaces, DELETE removes (idempotent)', async () => {
    const api = rest(natter.url, await natter.token('uma'));
    const fcm = await api.post('/v1/devices/phone/push', { platform: 'fcm', token: 'tok-1' });
    assert.equal(fcm.status, 200);
    assert.equal(fcm.body.platform, 'fcm');
    assert.equal((await api.get('/v1/devices/phone/push')).body.platform, 'fcm');
    assert.equal((await api.post('/v1/devices/phone/push', { platform: 'apns', token: apnsToken })).status, 200);
    assert.equal((await api.get('/v1/devices/phone/push')).body.platform, 'apns');
    assert.equal((await api.delete('/v1/devices/phone/push')).status, 204);
    assert.equal((await api.delete('/v1/devices/phone/push')).status, 204);
    const gone = await api.get('/v1/devices/phone/push');
    assert.equal(gone.status, 404);
    assert.equal(gone.body.error.code, 'push_target_not_found');
  });

  it('given bad bodies, then 400 invalid_request', async () => {
    const api = rest(natter.url, await natter.token('vic'));
    for (const body of [
      { platform: 'sms', token: 'x' },
      { platform: 'fcm' },
      { platform: 'apns', token: 'not-hex' },
      { platform: 'fcm', token: 'x', extra: 1 },
      { platform: 'webpush', subscription: { endpoint: 'https://fcm.googleapis.com/x', keys: { p256dh: 'short', auth: 'x' } } },
    ]) {
      const reply = await api.post('/v1/devices/phone/push', body);
      assert.equal(reply.status, 400, JSON.stringify(body));
      assert.equal(reply.body.error.code, 'invalid_request');
    }
    assert.equal((await api.post('/v1/devices/bad%20id/push', { platform: 'fcm', token: 'x' })).status, 400);
    assert.equal((await rest(natter.url).post('/v1/devices/phone/push', { platform: 'fcm', token: 'x' })).status, 401);
  });

  it('given a token another account registered (an app signed in again under another user), then it moves to the new account', async () => {
    const wes = rest(natter.url, await natter.token('wes'));
    const xia = rest(natter.url, await natter.token('xia'));
    await wes.post('/v1/devices/tablet/push', { platform: 'fcm', token: 'shared-install' });
    await xia.post('/v1/devices/tablet/push', { platform: 'fcm', token: 'shared-install' });
    assert.equal((await wes.get('/v1/devices/tablet/push')).status, 404);
    assert.equal((await xia.get('/v1/devices/tablet/push')).status, 200);
  });
});

describe('the log push provider (nothing configured)', () => {
  it('given no push credentials, then the server logs what it would send, without content', async () => {
    const server = await spawnNatter(tempDir(), { NATTER_LOG_LEVEL: 'info', NATTER_PUSH_COLLAPSE_MS: '100' });
    try {
      const [ta, tb] = [await server.token('yan'), await server.token('zed')];
      const conv = (await rest(server.url, ta).post('/v1/conversations', { type: 'direct', peer_id: 'zed' })).body.conversation_id;
      await rest(server.url, tb).post('/v1/devices/zed-phone/push', { platform: 'apns', token: apnsToken });
      await rest(server.url, ta).post(`/v1/conversations/${conv}/messages`, { client_msg_id: 'y-1', content: 'classified' });
      for (let i = 0; i < 100 && !server.output().includes('push (log provider'); i++) await sleep(30);
      const line = server
        .output()
        .split('\n')
        .find((l) => l.includes('push (log provider'));
      assert.ok(line, `no log line in: ${server.output().slice(-2000)}`);
      const logged = JSON.parse(line!);
      assert.equal(logged.push.platform, 'apns');
      assert.equal(logged.push.user_id, 'zed');
      assert.equal(logged.push.body, 'yan sent you a message');
      assert.ok(!server.output().includes('classified'));
    } finally {
      await server.close();
    }
  });
});

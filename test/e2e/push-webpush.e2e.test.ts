import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import webpush from 'web-push';
import { rest } from '../support/natter.ts';
import { useNatter } from '../support/fixture.ts';
import { Device } from '../support/ws-client.ts';
import { selfSignedCert } from '../support/tls.ts';
import { startHttpsServer, verifyJwt, p256PublicKey, webPushClient, type ProtocolServer, type Answer } from '../support/push-servers.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('offline push over Web Push (VAPID, aes128gcm) to a local push service', () => {
  const vapid = webpush.generateVAPIDKeys();
  const tls = selfSignedCert();
  let service: ProtocolServer;
  const script = new Map<string, Answer[]>();

  before(async () => {
    service = await startHttpsServer(tls, (r) => script.get(r.path)?.shift() ?? { status: 201 });
  });
  const { server: natter } = useNatter({
    NATTER_VAPID_PUBLIC_KEY: vapid.publicKey,
    NATTER_VAPID_PRIVATE_KEY: vapid.privateKey,
    NATTER_VAPID_SUBJECT: 'mailto:ops@natter.test',
    NATTER_WEBPUSH_ALLOWED_HOSTS: '127.0.0.1',
    NATTER_PUSH_CA: tls.certPath,
    NATTER_PUSH_INCLUDE_CONTENT: 'true',
    NATTER_PUSH_COLLAPSE_MS: '200',
  });
  after(async () => {
    await service.close();
  });

  it('given a subscription, then the push carries a verifiable VAPID JWT and an aes128gcm body the browser decrypts; content only for text, never for ciphertext', async () => {
    const [ta, tb] = [await natter.token('ann'), await natter.token('bo')];
    const conv = (await rest(natter.url, ta).post('/v1/conversations', { type: 'direct', peer_id: 'bo' })).body.conversation_id as string;
    const browser = webPushClient(`${service.url}/push/bo-1`);
    const reg = await rest(natter.url, tb).post('/v1/devices/bo-browser/push', { platform: 'webpush', subscription: browser.subscription });
    assert.equal(reg.status, 200);
    assert.equal(reg.body.platform, 'webpush');

    const ann = await Device.connect(natter.wsUrl, ta, 'laptop');
    await ann.sendMessage(conv, 'lunch at noon?');
    const [request] = await service.waitFor(1, (r) => r.path === '/push/bo-1');
    assert.equal(request!.method, 'POST');
    assert.equal(request!.headers['content-encoding'], 'aes128gcm');
    assert.ok(Number(request!.headers.ttl) > 0);
    const match = /^vapid t=([^,]+), k=(.+)$/.exec(String(request!.headers.authorization));
    assert.ok(match, `VAPID authorization header: ${request!.headers.authorization}`);
    assert.equal(match[2], vapid.publicKey);
    const { claims } = verifyJwt(match[1]!, p256PublicKey(Buffer.from(match[2]!, 'base64url')), 'ES256');
    assert.equal(claims.aud, service.url);
    assert.equal(claims.sub, 'mailto:ops@natter.test');
    assert.ok((claims.exp as number) > Date.now() / 1000);
    assert.ok(!request!.body.includes(Buffer.from('lunch')), 'the body is encrypted');
    const payload = JSON.parse(browser.decrypt(request!.body));
    assert.equal(payload.title, 'ann');
    assert.equal(payload.body, 'lunch at noon?', 'NATTER_PUSH_INCLUDE_CONTENT=true shows text');
    assert.equal(payload.badge, 1);
    assert.equal(payload.conversation_id, conv);

    await sleep(350); // a new collapse window
    ann.send({
      type: 'send_message',
      conversation_id: conv,
      client_msg_id: 'enc-1',
      content: Buffer.from('sealed box bytes').toString('base64'),
      content_type: 'ciphertext',
    });
    await ann.waitFor('ack', (f) => f.client_msg_id === 'enc-1');
    const [, second] = await service.waitFor(2, (r) => r.path === '/push/bo-1');
    const encrypted = JSON.parse(browser.decrypt(second!.body));
    assert.equal(encrypted.body, 'ann sent you 2 messages', 'never the content of a ciphertext message');
    assert.ok(!browser.decrypt(second!.body).includes(Buffer.from('sealed box bytes').toString('base64')));
    assert.equal(encrypted.badge, 2);
    await ann.close();
  });

  it('given the push service answers 410 Gone, then the subscription is removed', async () => {
    const [ta, tb] = [await natter.token('cy'), await natter.token('di')];
    const conv = (await rest(natter.url, ta).post('/v1/conversations', { type: 'direct', peer_id: 'di' })).body.conversation_id as string;
    const browser = webPushClient(`${service.url}/push/di-1`);
    await rest(natter.url, tb).post('/v1/devices/di-browser/push', { platform: 'webpush', subscription: browser.subscription });
    script.set('/push/di-1', [{ status: 410 }]);
    await rest(natter.url, ta).post(`/v1/conversations/${conv}/messages`, { client_msg_id: 'c-1', content: 'hey' });
    await service.waitFor(1, (r) => r.path === '/push/di-1');
    for (let i = 0; i < 50; i++) {
      if ((await rest(natter.url, tb).get('/v1/devices/di-browser/push')).status === 404) return;
      await sleep(20);
    }
    assert.fail('the subscription is still registered');
  });

  it('given a subscription endpoint outside the allowed push services, then 400 and nothing is stored (no SSRF)', async () => {
    const tb = await natter.token('ed');
    const evil = webPushClient('https://169.254.169.254/latest/meta-data');
    const reply = await rest(natter.url, tb).post('/v1/devices/ed-browser/push', { platform: 'webpush', subscription: evil.subscription });
    assert.equal(reply.status, 400);
    assert.equal(reply.body.error.code, 'invalid_request');
    const plain = await rest(natter.url, tb).post('/v1/devices/ed-browser/push', {
      platform: 'webpush',
      subscription: { ...evil.subscription, endpoint: 'http://127.0.0.1/x' },
    });
    assert.equal(plain.status, 400);
    assert.equal((await rest(natter.url, tb).get('/v1/devices/ed-browser/push')).status, 404);
  });
});

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { rest } from '../support/natter.ts';
import { useNatter } from '../support/fixture.ts';
import { selfSignedCert } from '../support/tls.ts';
import { startHttp2Server, verifyJwt, type ProtocolServer, type Answer, type Recorded } from '../support/push-servers.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const deviceToken = (n: number) => n.toString(16).padStart(64, 'a');

describe('offline push over APNs (a local HTTP/2 server with token auth)', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const tls = selfSignedCert();
  let apns: ProtocolServer;
  const script = new Map<string, Answer[]>();
  const tokenOf = (r: Recorded) => r.path.split('/').pop()!;
  const to = (token: string) => (r: Recorded) => tokenOf(r) === token;

  before(async () => {
    apns = await startHttp2Server(tls, (r) => script.get(tokenOf(r))?.shift() ?? { status: 200 });
  });
  const { server: natter } = useNatter(() => ({
    NATTER_APNS_KEY: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    NATTER_APNS_KEY_ID: 'ABC123DEFG',
    NATTER_APNS_TEAM_ID: 'TEAM123456',
    NATTER_APNS_TOPIC: 'chat.natter.app',
    NATTER_APNS_ENDPOINT: apns.url,
    NATTER_PUSH_CA: tls.certPath,
    NATTER_PUSH_COLLAPSE_MS: '500',
    NATTER_PUSH_RETRY_BASE_MS: '20',
    NATTER_PUSH_MAX_ATTEMPTS: '3',
  }));
  after(async () => {
    await apns.close();
  });

  const group = async (creator: string, others: string[]) => {
    const tc = await natter.token(creator);
    const conv = (await rest(natter.url, tc).post('/v1/conversations', { type: 'group', title: 'Climbing', member_ids: others })).body
      .conversation_id as string;
    return { tc, conv };
  };

  it('given an offline member with an APNs token, then an HTTP/2 POST /3/device/<token> with an ES256 provider token, topic, collapse id and badge', async () => {
    const { tc, conv } = await group('amy', ['ben']);
    const tb = await natter.token('ben');
    assert.equal((await rest(natter.url, tb).post('/v1/devices/ben-iphone/push', { platform: 'apns', token: deviceToken(1) })).status, 200);
    await rest(natter.url, tc).post(`/v1/conversations/${conv}/messages`, { client_msg_id: 'a-1', content: 'top secret' });
    const [request] = await apns.waitFor(1, to(deviceToken(1)));
    assert.equal(request!.method, 'POST');
    assert.equal(request!.path, `/3/device/${deviceToken(1)}`);
    const auth = String(request!.headers.authorization);
    assert.match(auth, /^bearer /);
    const { header, claims } = verifyJwt(auth.slice('bearer '.length), publicKey, 'ES256');
    assert.equal(header.kid, 'ABC123DEFG');
    assert.equal(claims.iss, 'TEAM123456');
    assert.ok(Math.abs((claims.iat as number) - Date.now() / 1000) < 60);
    assert.equal(request!.headers['apns-topic'], 'chat.natter.app');
    assert.equal(request!.headers['apns-push-type'], 'alert');
    assert.equal(request!.headers['apns-collapse-id'], conv);
    const payload = JSON.parse(String(request!.body));
    assert.deepEqual(payload.aps.alert, { title: 'Climbing', body: 'amy sent a message' });
    assert.equal(payload.aps.badge, 1);
    assert.equal(payload.aps['thread-id'], conv);
    assert.ok(!String(request!.body).includes('top secret'));
  });

  it('given APNs answers 410 Unregistered or 400 BadDeviceToken, then the registration is removed', async () => {
    const { tc, conv } = await group('cat', ['dan', 'eve']);
    const [td, te] = [await natter.token('dan'), await natter.token('eve')];
    await rest(natter.url, td).post('/v1/devices/dan-iphone/push', { platform: 'apns', token: deviceToken(2) });
    await rest(natter.url, te).post('/v1/devices/eve-iphone/push', { platform: 'apns', token: deviceToken(3) });
    script.set(deviceToken(2), [{ status: 410, body: { reason: 'Unregistered', timestamp: Date.now() } }]);
    script.set(deviceToken(3), [{ status: 400, body: { reason: 'BadDeviceToken' } }]);
    await rest(natter.url, tc).post(`/v1/conversations/${conv}/messages`, { client_msg_id: 'c-1', content: 'hi' });
    await apns.waitFor(1, to(deviceToken(2)));
    await apns.waitFor(1, to(deviceToken(3)));
    for (let i = 0; i < 50; i++) {
      const gone = [
        (await rest(natter.url, td).get('/v1/devices/dan-iphone/push')).status,
        (await rest(natter.url, te).get('/v1/devices/eve-iphone/push')).status,
      ];
      if (gone.every((s) => s === 404)) return;
      await sleep(20);
    }
    assert.fail('the registrations are still there');
  });

  it('given 503 then 429 with Retry-After, then the push is retried until it goes through; 403 ExpiredProviderToken makes a new provider token', async () => {
    const { tc, conv } = await group('fay', ['gus']);
    const tg = await natter.token('gus');
    await rest(natter.url, tg).post('/v1/devices/gus-iphone/push', { platform: 'apns', token: deviceToken(4) });
    script.set(deviceToken(4), [
      { status: 503, body: { reason: 'ServiceUnavailable' } },
      { status: 429, headers: { 'retry-after': '1' }, body: { reason: 'TooManyRequests' } },
      { status: 403, body: { reason: 'ExpiredProviderToken' } },
    ]);
    await rest(natter.url, tc).post(`/v1/conversations/${conv}/messages`, { client_msg_id: 'f-1', content: 'hi' });
    const attempts = await apns.waitFor(4, to(deviceToken(4)), 6_000);
    assert.ok(attempts[2]!.at - attempts[1]!.at >= 950, 'waited out Retry-After');
    // After the 403 the provider signs a fresh token at once (same second is fine: a new JWT object).
    assert.equal(attempts[3]!.at - attempts[2]!.at < 900, true);
    await sleep(200);
    assert.equal(apns.requests.filter(to(deviceToken(4))).length, 4);
  });
});

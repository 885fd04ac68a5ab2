import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { rest } from '../support/natter.ts';
import { useNatter } from '../support/fixture.ts';
import { Device } from '../support/ws-client.ts';
import { selfSignedCert } from '../support/tls.ts';
import { startHttpsServer, verifyJwt, type ProtocolServer, type Recorded, type Answer } from '../support/push-servers.ts';

// A cluster push crosses the relay, Kafka and the push topic before its window opens: a longer window keeps the test about windows, not latency.
const COLLAPSE_MS = process.env.NATTER_TEST_PROFILE === 'cluster' ? 2_000 : 600;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('offline push over FCM HTTP v1 (a local HTTPS token endpoint and FCM server)', () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const tls = selfSignedCert();
  let fcm: ProtocolServer;
  let accessTokens = 0;
  /** Answers for messages:send by device token; 200 otherwise. */
  const script = new Map<string, Answer[]>();
  const sends = (token: string) => fcm.requests.filter((r) => r.path.endsWith('/messages:send') && JSON.parse(String(r.body)).message.token === token);
  const body = (r: Recorded) => JSON.parse(String(r.body)).message;

  before(async () => {
    fcm = await startHttpsServer(tls, (r) => {
      if (r.path === '/token') {
        accessTokens++;
        return { status: 200, body: { access_token: `at-${accessTokens}`, expires_in: 3600, token_type: 'Bearer' } };
      }
      const token = JSON.parse(String(r.body)).message.token as string;
      const next = script.get(token)?.shift();
      return next ?? { status: 200, body: { name: 'projects/natter-test/messages/1' } };
    });
  });
  const { server: natter } = useNatter(() => ({
    NATTER_FCM_SERVICE_ACCOUNT: JSON.stringify({
      type: 'service_account',
      project_id: 'natter-test',
      client_email: 'push@natter-test.iam.gserviceaccount.com',
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }),
    }),
    NATTER_FCM_ENDPOINT: fcm.url,
    NATTER_FCM_TOKEN_URL: `${fcm.url}/token`,
    NATTER_PUSH_CA: tls.certPath,
    NATTER_PUSH_COLLAPSE_MS: String(COLLAPSE_MS),
    NATTER_PUSH_RETRY_BASE_MS: '20',
    NATTER_PUSH_MAX_ATTEMPTS: '3',
  }));
  after(async () => {
    await fcm.close();
  });

  const pair = async (a: string, b: string) => {
    const [ta, tb] = [await natter.token(a), await natter.token(b)];
    const conv = (await rest(natter.url, ta).post('/v1/conversations', { type: 'direct', peer_id: b })).body.conversation_id as string;
    return { ta, tb, conv };
  };

  it('given an offline member with an FCM token, then one push goes at once and the burst that follows collapses into one, with unread counts and no content', async () => {
    const { ta, tb, conv } = await pair('alice', 'bob');
    assert.equal((await rest(natter.url, tb).post('/v1/devices/bob-phone/push', { platform: 'fcm', token: 'fcm-bob' })).status, 200);
    const alice = await Device.connect(natter.wsUrl, ta, 'laptop');
    const sentAt = Date.now();
    await alice.sendMessage(conv, 'secret plans');
    const [first] = await fcm.waitFor(1, (r) => r.path.endsWith('/messages:send'));
    // The OAuth2 exchange: a service-account JWT signed with the account's key.
    const tokenRequest = fcm.requests.find((r) => r.path === '/token')!;
    const form = new URLSearchParams(String(tokenRequest.body));
    assert.equal(form.get('grant_type'), 'urn:ietf:params:oauth:grant-type:jwt-bearer');
    const { claims } = verifyJwt(form.get('assertion')!, publicKey, 'RS256');
    assert.equal(claims.iss, 'push@natter-test.iam.gserviceaccount.com');
    assert.equal(claims.scope, 'https://www.googleapis.com/auth/firebase.messaging');
    assert.equal(claims.aud, `${fcm.url}/token`);
    assert.ok((claims.exp as number) > Date.now() / 1000);

    assert.equal(first!.path, '/v1/projects/natter-test/messages:send');
    assert.equal(first!.headers.authorization, 'Bearer at-1');
    const m = body(first!);
    assert.equal(m.token, 'fcm-bob');
    assert.deepEqual(m.notification, { title: 'alice', body: 'alice sent you a message' });
    assert.equal(m.data.conversation_id, conv);
    assert.equal(m.data.badge, '1');
    assert.equal(m.android.collapse_key, conv);
    assert.ok(!String(first!.body).includes('secret plans'), 'no content by default');

    for (let i = 2; i <= 5; i++) await alice.sendMessage(conv, `more ${i}`);
    await sleep(COLLAPSE_MS / 3);
    assert.equal(sends('fcm-bob').length, 1, 'nothing more inside the window');
    const [, collapsed] = await fcm.waitFor(2, (r) => r.path.endsWith('/messages:send') && body(r).token === 'fcm-bob', COLLAPSE_MS * 4);
    assert.equal(body(collapsed!).notification.body, 'alice sent you 5 messages');
    assert.equal(body(collapsed!).data.badge, '5');
    assert.equal(body(collapsed!).data.unread, '5');
    // The window opens when the first message is pushed (its delivery may take a while: TLS, the token exchange).
    assert.ok(collapsed!.at - sentAt >= COLLAPSE_MS - 20, 'at most one push per window');
    await sleep(COLLAPSE_MS * 1.5);
    assert.equal(sends('fcm-bob').length, 2, 'the window closes with nothing pending');
    assert.equal(accessTokens, 1, 'the access token is cached');
    await alice.close();
  });

  it('given a member with a live socket, then no push; a member who reads during the window gets no trailing push', async () => {
    const { ta, tb, conv } = await pair('dave', 'erin');
    await rest(natter.url, tb).post('/v1/devices/erin-phone/push', { platform: 'fcm', token: 'fcm-erin' });
    const erin = await Device.connect(natter.wsUrl, tb, 'erin-web');
    const dave = await Device.connect(natter.wsUrl, ta, 'laptop');
    await dave.sendMessage(conv, 'are you there?');
    await erin.waitFor('new_message');
    await erin.close();
    await sleep(200); // the gateway drops the socket from its registry
    const ack = await dave.sendMessage(conv, 'now offline');
    await fcm.waitFor(1, (r) => r.path.endsWith('/messages:send') && body(r).token === 'fcm-erin');
    assert.equal(sends('fcm-erin').length, 1, 'only the message sent while offline was pushed');
    assert.equal(body(sends('fcm-erin')[0]!).data.badge, '2');
    await dave.sendMessage(conv, 'third');
    const read = await rest(natter.url, tb).post(`/v1/conversations/${conv}/read`, { up_to_seq: ack.seq + 1 });
    assert.equal(read.status, 204);
    await sleep(COLLAPSE_MS * 1.6);
    assert.equal(sends('fcm-erin').length, 1, 'read meanwhile: no trailing push');
    await dave.close();
  });

  it('given an offline member who muted the group, then plain messages push nothing, a mention does and says so; edits, deletes and reactions never push', async () => {
    const [ta, tb] = [await natter.token('hana'), await natter.token('ira')];
    const conv = (await rest(natter.url, ta).post('/v1/conversations', { type: 'group', title: 'ops', member_ids: ['ira'] })).body.conversation_id as string;
    await rest(natter.url, tb).post('/v1/devices/ira-phone/push', { platform: 'fcm', token: 'fcm-ira' });
    assert.equal((await rest(natter.url, tb).call('PUT', `/v1/conversations/${conv}/mute`, { until: null })).status, 204);
    assert.equal((await rest(natter.url, ta).post(`/v1/conversations/${conv}/messages`, { client_msg_id: 'h-0', content: 'noise' })).status, 201);
    await sleep(COLLAPSE_MS * 1.5);
    assert.equal(sends('fcm-ira').length, 0, 'muted: a plain message pushes nothing');
    const sent = await rest(natter.url, ta).post(`/v1/conversations/${conv}/messages`, { client_msg_id: 'h-1', content: 'look', mentions: ['ira'] });
    assert.equal(sent.status, 201);
    const [push] = await fcm.waitFor(1, (r) => r.path.endsWith('/messages:send') && body(r).token === 'fcm-ira');
    assert.equal(body(push!).notification.body, 'hana mentioned you');
    await sleep(COLLAPSE_MS * 1.5);
    const seq = sent.body.seq as number;
    assert.equal((await rest(natter.url, ta).call('PATCH', `/v1/conversations/${conv}/messages/${seq}`, { content: 'look here' })).status, 200);
    assert.equal((await rest(natter.url, ta).call('PUT', `/v1/conversations/${conv}/messages/${seq}/reactions/${encodeURIComponent('👀')}`)).status, 204);
    assert.equal((await rest(natter.url, ta).delete(`/v1/conversations/${conv}/messages/${seq}`)).status, 204);
    await sleep(COLLAPSE_MS * 1.5);
    assert.equal(sends('fcm-ira').length, 1, 'no push for an edit, a reaction or a delete');
  });

  it('given FCM answers 404 UNREGISTERED, then the registration is removed', async () => {
    const { ta, tb, conv } = await pair('frank', 'gina');
    await rest(natter.url, tb).post('/v1/devices/gina-phone/push', { platform: 'fcm', token: 'fcm-gina' });
    script.set('fcm-gina', [
      {
        status: 404,
        body: {
          error: { code: 404, status: 'NOT_FOUND', details: [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode: 'UNREGISTERED' }] },
        },
      },
    ]);
    await rest(natter.url, ta).post(`/v1/conversations/${conv}/messages`, { client_msg_id: 'f-1', content: 'hello' });
    await fcm.waitFor(1, (r) => r.path.endsWith('/messages:send') && body(r).token === 'fcm-gina');
    for (let i = 0; i < 50; i++) {
      if ((await rest(natter.url, tb).get('/v1/devices/gina-phone/push')).status === 404) return;
      await sleep(20);
    }
    assert.fail('the registration is still there');
  });

  it('given 5xx and 429 answers, then it retries with backoff, waits out Retry-After, and stops after the last attempt', async () => {
    const { ta, tb, conv } = await pair('hank', 'ivy');
    const { tb: tj, conv: conv2 } = await pair('hank', 'jules');
    await rest(natter.url, tb).post('/v1/devices/ivy-phone/push', { platform: 'fcm', token: 'fcm-ivy' });
    await rest(natter.url, tj).post('/v1/devices/jules-phone/push', { platform: 'fcm', token: 'fcm-jules' });
    script.set('fcm-ivy', [{ status: 503 }, { status: 429, headers: { 'retry-after': '1' } }]);
    script.set('fcm-jules', [{ status: 500 }, { status: 500 }, { status: 500 }, { status: 500 }]);
    const api = rest(natter.url, ta);
    await api.post(`/v1/conversations/${conv}/messages`, { client_msg_id: 'h-1', content: 'hello ivy' });
    await api.post(`/v1/conversations/${conv2}/messages`, { client_msg_id: 'h-2', content: 'hello jules' });
    const ivy = await fcm.waitFor(3, (r) => r.path.endsWith('/messages:send') && body(r).token === 'fcm-ivy', 5_000);
    assert.ok(ivy[2]!.at - ivy[1]!.at >= 950, `the third attempt waited out Retry-After: 1 (${ivy[2]!.at - ivy[1]!.at} ms)`);
    await fcm.waitFor(3, (r) => r.path.endsWith('/messages:send') && body(r).token === 'fcm-jules', 5_000);
    await sleep(300);
    assert.equal(sends('fcm-jules').length, 3, 'NATTER_PUSH_MAX_ATTEMPTS bounds the attempts');
    assert.equal(sends('fcm-ivy').length, 3);
    assert.equal((await rest(natter.url, tj).get('/v1/devices/jules-phone/push')).status, 200, 'a failing service does not unregister anyone');
  });

  it('given FCM answers 401, then a fresh access token is fetched and the push sent again', async () => {
    const { ta, tb, conv } = await pair('kim', 'lou');
    await rest(natter.url, tb).post('/v1/devices/lou-phone/push', { platform: 'fcm', token: 'fcm-lou' });
    script.set('fcm-lou', [{ status: 401, body: { error: { code: 401, status: 'UNAUTHENTICATED' } } }]);
    const before = accessTokens;
    await rest(natter.url, ta).post(`/v1/conversations/${conv}/messages`, { client_msg_id: 'k-1', content: 'hi' });
    const [, second] = await fcm.waitFor(2, (r) => r.path.endsWith('/messages:send') && body(r).token === 'fcm-lou');
    assert.equal(accessTokens, before + 1);
    assert.equal(second!.headers.authorization, `Bearer at-${accessTokens}`);
  });
});

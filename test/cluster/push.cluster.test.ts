import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { createSigner } from 'fast-jwt';
import webpush from 'web-push';
import { clusterNamespace, type ClusterNamespace } from '../support/cluster.ts';
import { spawnRole, type Role } from '../support/cluster-processes.ts';
import { rest } from '../support/natter.ts';
import { Device } from '../support/ws-client.ts';
import { Redis } from 'ioredis';
import { namespace } from '../../adapters/redis/keys.ts';
import { selfSignedCert } from '../support/tls.ts';
import { startHttpsServer, verifyJwt, p256PublicKey, webPushClient, type Answer, type ProtocolServer, type Recorded } from '../support/push-servers.ts';
import { testLimits } from '../support/limits.ts';

// Long enough that a push worker stopping mid-window hands its partitions over well inside it.
const COLLAPSE_MS = 10_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ws = (role: Role) => role.url!.replace('http', 'ws');

const eventually = async (check: () => Promise<boolean>, what: string, timeoutMs = 15_000) => {
  for (const deadline = Date.now() + timeoutMs; ; ) {
    if (await check()) return;
    if (Date.now() > deadline) assert.fail(`timed out: ${what}`);
    await sleep(100);
  }
};

describe('cluster push: gateways register in Redis, push workers send through the configured providers', { concurrency: false }, () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const vapid = webpush.generateVAPIDKeys();
  const tls = selfSignedCert();
  let env: ClusterNamespace;
  let sign: (claims: object) => string;
  let fcm: ProtocolServer;
  let browsers: ProtocolServer;
  let gwA: Role;
  let gwB: Role;
  const workers = new Map<string, Role>();
  const roles: Role[] = [];
  /** FCM answers by device token, then 200; Web Push answers by path, then 201. */
  const fcmScript = new Map<string, Answer[]>();
  const webScript = new Map<string, Answer[]>();

  const serviceAccount = (worker: string) =>
    JSON.stringify({
      type: 'service_account',
      project_id: 'natter-test',
      client_email: `${worker}@natter-test.iam.gserviceaccount.com`,
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }),
    });
  const message = (r: Recorded) => JSON.parse(String(r.body)).message;
  const sendsTo = (token: string) => (r: Recorded) => r.path.endsWith('/messages:send') && message(r).token === token;
  /** Which push worker sent a request: each has its own service account, so its own access token. */
  const sender = (r: Recorded) => String(r.headers.authorization).replace('Bearer at-', '');
  const token = (user: string) => sign({ sub: user });
  const api = (role: Role, user: string) => rest(role.url!, token(user));

  const spawn = async (role: string, extra: Record<string, string> = {}) => {
    const r = await spawnRole(role, env, extra);
    roles.push(r);
    return r;
  };

  before(async () => {
    fcm = await startHttpsServer(tls, (r) => {
      if (r.path === '/token') {
        const { claims } = verifyJwt(new URLSearchParams(String(r.body)).get('assertion')!, publicKey, 'RS256');
        return { status: 200, body: { access_token: `at-${String(claims.iss).split('@')[0]}`, expires_in: 3600, token_type: 'Bearer' } };
      }
      return fcmScript.get(message(r).token)?.shift() ?? { status: 200, body: { name: 'projects/natter-test/messages/1' } };
    });
    browsers = await startHttpsServer(tls, (r) => webScript.get(r.path)?.shift() ?? { status: 201 });
    env = {
      ...(await clusterNamespace()),
      ...testLimits,
      NATTER_KAFKA_SESSION_TIMEOUT_MS: '6000',
      NATTER_FCM_ENDPOINT: fcm.url,
      NATTER_FCM_TOKEN_URL: `${fcm.url}/token`,
      NATTER_FCM_SERVICE_ACCOUNT: serviceAccount('gateway'),
      NATTER_VAPID_PUBLIC_KEY: vapid.publicKey,
      NATTER_VAPID_PRIVATE_KEY: vapid.privateKey,
      NATTER_VAPID_SUBJECT: 'mailto:ops@natter.test',
      NATTER_WEBPUSH_ALLOWED_HOSTS: '127.0.0.1',
      NATTER_PUSH_CA: tls.certPath,
      NATTER_PUSH_COLLAPSE_MS: String(COLLAPSE_MS),
      NATTER_PUSH_RETRY_BASE_MS: '20',
      NATTER_PUSH_MAX_ATTEMPTS: '3',
    };
    sign = createSigner({ key: env.NATTER_JWT_SECRET!, algorithm: 'HS256', expiresIn: 3_600_000 });
    await spawn('relay');
    await spawn('projector');
    gwA = await spawn('gateway', { NATTER_GATEWAY_ID: 'gwA' });
    gwB = await spawn('gateway', { NATTER_GATEWAY_ID: 'gwB' });
    // Two workers share the consumer group; each is told apart by its service account.
    for (const name of ['w1', 'w2']) workers.set(name, await spawn('push-worker', { NATTER_FCM_SERVICE_ACCOUNT: serviceAccount(name) }));
  });
  after(async () => {
    await Promise.all(roles.map((r) => r.kill9()));
    await fcm?.close();
    await browsers?.close();
  });

  const directPair = async (from: string, to: string) =>
    (await api(gwB, from).post('/v1/conversations', { type: 'direct', peer_id: to })).body.conversation_id as string;

  it("given a token registered on one gateway, when messages come through another while the user is offline, then one FCM push goes at once and the rest collapse into one at the window's end", async () => {
    assert.equal((await api(gwA, 'bob').post('/v1/devices/bob-phone/push', { platform: 'fcm', token: 'fcm-bob' })).status, 200);
    assert.equal((await api(gwB, 'bob').get('/v1/devices/bob-phone/push')).body.platform, 'fcm', 'every gateway reads the shared registry');
    const conv = await directPair('alice', 'bob');
    const alice = await Device.connect(ws(gwB), token('alice'), 'laptop');
    const sentAt = Date.now();
    await alice.sendMessage(conv, 'secret plans');
    const [first] = await fcm.waitFor(1, sendsTo('fcm-bob'), 15_000);
    assert.equal(first!.path, '/v1/projects/natter-test/messages:send');
    assert.match(String(first!.headers.authorization), /^Bearer at-w[12]$/, 'sent by a push worker with its own OAuth2 access token');
    const m = message(first!);
    assert.deepEqual(m.notification, { title: 'alice', body: 'alice sent you a message' });
    assert.equal(m.data.conversation_id, conv);
    assert.equal(m.data.badge, '1');
    assert.equal(m.data.unread, '1');
    assert.equal(m.android.collapse_key, conv);
    assert.equal(m.apns.headers['apns-collapse-id'], conv);
    assert.ok(!String(first!.body).includes('secret plans'), 'no content by default');

    for (let i = 2; i <= 5; i++) await alice.sendMessage(conv, `more ${i}`);
    await sleep(COLLAPSE_MS / 3);
    assert.equal(fcm.requests.filter(sendsTo('fcm-bob')).length, 1, 'nothing more inside the window');
    const [, collapsed] = await fcm.waitFor(2, sendsTo('fcm-bob'), COLLAPSE_MS * 2);
    const c = message(collapsed!);
    assert.equal(c.notification.body, 'alice sent you 5 messages');
    assert.equal(c.data.badge, '5');
    assert.equal(c.data.unread, '5');
    assert.equal(c.data.seq, '5');
    assert.ok(collapsed!.at - sentAt >= COLLAPSE_MS - 50, `at most one push per window (${collapsed!.at - sentAt} ms)`);
    await alice.close();
  });

  it('given a member with a live socket on any gateway, then no push; once the socket is closed, the next message is pushed', async () => {
    await api(gwB, 'hank').post('/v1/devices/hank-phone/push', { platform: 'fcm', token: 'fcm-hank' });
    const conv = await directPair('ivy', 'hank');
    const hank = await Device.connect(ws(gwA), token('hank'), 'web');
    await api(gwB, 'ivy').post(`/v1/conversations/${conv}/messages`, { client_msg_id: 'i-1', content: 'you there?' });
    await hank.waitFor('new_message', () => true, 1, 10_000);
    // The fast path delivers ahead of the projector workers, whose push reactor decides who is
    // offline: hank stays until sync returns the message, i.e. until that batch was applied.
    await eventually(async () => (await hank.syncAll()).messages.some((m) => m.conversation_id === conv), 'the projectors applied the message');
    await sleep(300);
    await hank.close();
    await sleep(1_500);
    assert.equal(fcm.requests.filter(sendsTo('fcm-hank')).length, 0, 'online: no push');
    await api(gwB, 'ivy').post(`/v1/conversations/${conv}/messages`, { client_msg_id: 'i-2', content: 'now?' });
    const [push] = await fcm.waitFor(1, sendsTo('fcm-hank'), 15_000);
    assert.equal(message(push!).data.badge, '2');
    assert.equal(message(push!).data.seq, '2');
  });

  it('given FCM answers 404 UNREGISTERED, then the registration is removed from the shared registry', async () => {
    await api(gwA, 'gina').post('/v1/devices/gina-phone/push', { platform: 'fcm', token: 'fcm-gina' });
    fcmScript.set('fcm-gina', [
      {
        status: 404,
        body: {
          error: { code: 404, status: 'NOT_FOUND', details: [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode: 'UNREGISTERED' }] },
        },
      },
    ]);
    const conv = await directPair('frank', 'gina');
    await api(gwB, 'frank').post(`/v1/conversations/${conv}/messages`, { client_msg_id: 'f-1', content: 'hello' });
    await fcm.waitFor(1, sendsTo('fcm-gina'), 15_000);
    await eventually(async () => (await api(gwB, 'gina').get('/v1/devices/gina-phone/push')).status === 404, 'the registration is removed');
    assert.equal((await api(gwA, 'gina').get('/v1/devices/gina-phone/push')).body.error.code, 'push_target_not_found');
  });

  it('given a Web Push subscription, then the push carries a VAPID JWT and an aes128gcm payload the browser decrypts; a 410 Gone removes the subscription', async () => {
    const carol = webPushClient(`${browsers.url}/push/carol`);
    assert.equal((await api(gwA, 'carol').post('/v1/devices/carol-browser/push', { platform: 'webpush', subscription: carol.subscription })).status, 200);
    const conv = await directPair('dan', 'carol');
    await api(gwB, 'dan').post(`/v1/conversations/${conv}/messages`, { client_msg_id: 'd-1', content: 'lunch at noon?' });
    const [request] = await browsers.waitFor(1, (r) => r.path === '/push/carol', 15_000);
    assert.equal(request!.headers['content-encoding'], 'aes128gcm');
    assert.ok(request!.headers.topic, 'a Topic, so the push service keeps one message per conversation');
    const vapidHeader = /^vapid t=([^,]+), k=(.+)$/.exec(String(request!.headers.authorization));
    assert.ok(vapidHeader, `VAPID authorization: ${request!.headers.authorization}`);
    assert.equal(verifyJwt(vapidHeader[1]!, p256PublicKey(Buffer.from(vapidHeader[2]!, 'base64url')), 'ES256').claims.aud, browsers.url);
    const payload = JSON.parse(carol.decrypt(request!.body));
    assert.equal(payload.title, 'dan');
    assert.equal(payload.body, 'dan sent you a message');
    assert.equal(payload.badge, 1);
    assert.equal(payload.conversation_id, conv);

    const erin = webPushClient(`${browsers.url}/push/erin`);
    await api(gwB, 'erin').post('/v1/devices/erin-browser/push', { platform: 'webpush', subscription: erin.subscription });
    webScript.set('/push/erin', [{ status: 410 }]);
    const conv2 = await directPair('dan', 'erin');
    await api(gwB, 'dan').post(`/v1/conversations/${conv2}/messages`, { client_msg_id: 'd-2', content: 'hi' });
    await browsers.waitFor(1, (r) => r.path === '/push/erin', 15_000);
    await eventually(async () => (await api(gwA, 'erin').get('/v1/devices/erin-browser/push')).status === 404, 'the subscription is removed');
  });

  it('given the push worker holding a user stops inside a window, then the other one takes over the window: no early push, and what waited is pushed at its end', async () => {
    await api(gwA, 'kim').post('/v1/devices/kim-phone/push', { platform: 'fcm', token: 'fcm-kim' });
    const conv = await directPair('lee', 'kim');
    const lee = api(gwB, 'lee');
    // The window opens when the worker claims it, after the send and before the first push leaves.
    const sentAt = Date.now();
    await lee.post(`/v1/conversations/${conv}/messages`, { client_msg_id: 'l-1', content: 'one' });
    const [first] = await fcm.waitFor(1, sendsTo('fcm-kim'), 15_000);
    const owner = sender(first!);
    const other = owner === 'w1' ? 'w2' : 'w1';
    await lee.post(`/v1/conversations/${conv}/messages`, { client_msg_id: 'l-2', content: 'two' });
    await sleep(500); // the request reaches the owner, where it waits for the window's end
    const stopping = Date.now();
    await workers.get(owner)!.stop();
    console.log(`${owner} stopped in ${Date.now() - stopping} ms`);
    assert.equal(workers.get(owner)!.child.exitCode, 0, workers.get(owner)!.output());
    const [, second] = await fcm.waitFor(2, sendsTo('fcm-kim'), COLLAPSE_MS * 2);
    const delay = second!.at - sentAt;
    console.log(`second push ${delay} ms after the first send (window ${COLLAPSE_MS} ms; first push after ${first!.at - sentAt} ms), from ${sender(second!)}`);
    assert.equal(sender(second!), other);
    assert.ok(delay >= COLLAPSE_MS - 20, `the new owner waited for the window the first one opened (${delay} ms)`);
    assert.equal(message(second!).notification.body, 'lee sent you 2 messages');
    assert.equal(message(second!).data.seq, '2', 'the message that waited in the stopped worker was pushed');
    await sleep(2_000);
    assert.equal(fcm.requests.filter(sendsTo('fcm-kim')).length, 2, 'and nothing twice');
  });

  it("given the push worker holding a user is killed with -9 inside a window, then the other one finds the parked messages and pushes them at the window's end", async () => {
    // The previous test stopped one worker: two again, each with its own service account.
    const alive = [...workers].filter(([, role]) => role.child.exitCode === null && role.child.signalCode === null).map(([name]) => name);
    for (const name of ['w3', 'w4'].slice(0, 2 - alive.length))
      workers.set(name, await spawn('push-worker', { NATTER_FCM_SERVICE_ACCOUNT: serviceAccount(name) }));
    await sleep(3_000); // the group rebalances over the new worker
    await api(gwA, 'mia').post('/v1/devices/mia-phone/push', { platform: 'fcm', token: 'fcm-mia' });
    const conv = await directPair('ned', 'mia');
    const ned = api(gwB, 'ned');
    const sentAt = Date.now();
    await ned.post(`/v1/conversations/${conv}/messages`, { client_msg_id: 'n-1', content: 'one' });
    const [first] = await fcm.waitFor(1, sendsTo('fcm-mia'), 15_000);
    const owner = sender(first!);
    await ned.post(`/v1/conversations/${conv}/messages`, { client_msg_id: 'n-2', content: 'two' });
    await ned.post(`/v1/conversations/${conv}/messages`, { client_msg_id: 'n-3', content: 'three' });
    // Both wait for the window's end, parked in Redis by the worker that holds the window.
    const redis = new Redis(env.NATTER_REDIS_URL!);
    try {
      const parked = `${namespace(env.NATTER_REDIS_PREFIX!)}push:park:${conv}:mia`;
      await eventually(async () => (await redis.hlen(parked)) === 2, 'the two messages are parked');
    } finally {
      redis.disconnect();
    }
    await workers.get(owner)!.kill9();
    const [, second] = await fcm.waitFor(2, sendsTo('fcm-mia'), COLLAPSE_MS * 2);
    const delay = second!.at - sentAt;
    console.log(`after ${owner} was killed: second push ${delay} ms after the first send (window ${COLLAPSE_MS} ms), from ${sender(second!)}`);
    assert.notEqual(sender(second!), owner);
    assert.ok(delay >= COLLAPSE_MS - 20, `not before the window's end (${delay} ms)`);
    assert.equal(message(second!).notification.body, 'ned sent you 3 messages');
    assert.equal(message(second!).data.seq, '3', 'the messages parked by the killed worker were pushed');
    await sleep(2_000);
    assert.equal(fcm.requests.filter(sendsTo('fcm-mia')).length, 2, 'and nothing twice');
  });
});

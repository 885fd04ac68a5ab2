import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSigner } from 'fast-jwt';
import { closeCodes } from '../../contracts/close-codes.ts';
import { startNatter, rest, type Server } from '../support/natter.ts';
import { Device } from '../support/ws-client.ts';

// Tokens must carry exp, live at most NATTER_JWT_MAX_LIFETIME_SECONDS and name the configured
// issuer and audience; a socket is warned before its token expires, renews it with `reauth`, or is
// closed with 4001. Tokens are signed here with the server's secret (embedded: dataDir/jwt-secret;
// the cluster harness writes its NATTER_JWT_SECRET there too), with lifetimes of a few seconds.

const ISSUER = 'https://id.natter.test';
const AUDIENCE = 'natter-api';
const MAX_LIFETIME_S = 3600;
const NOTICE_MS = 1_500;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const nowS = () => Math.floor(Date.now() / 1000);
const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;

describe('token expiry, lifetime, issuer and audience', () => {
  let server: Server;
  let secret: string;
  const devices: Device[] = [];

  /** A token with exactly these claims (no exp, iat, iss or aud unless given). */
  const signed = (claims: Record<string, unknown>) => createSigner({ key: secret, algorithm: 'HS256', noTimestamp: true })(claims);
  /** A well-formed token for `sub` that expires in `seconds` (plus the part of the current second already gone). */
  const expiringIn = (sub: string, seconds: number) => signed({ sub, iss: ISSUER, aud: AUDIENCE, iat: nowS(), exp: nowS() + seconds });
  const connect = async (token: string, deviceId = 'phone') => {
    const device = await Device.connect(server.wsUrl, token, deviceId);
    devices.push(device);
    return device;
  };

  before(async () => {
    server = await startNatter({
      NATTER_JWT_ISSUER: ISSUER,
      NATTER_JWT_AUDIENCE: AUDIENCE,
      NATTER_JWT_MAX_LIFETIME_SECONDS: String(MAX_LIFETIME_S),
      NATTER_TOKEN_TTL_SECONDS: String(MAX_LIFETIME_S),
      NATTER_TOKEN_EXPIRING_NOTICE_MS: String(NOTICE_MS),
    });
    secret = readFileSync(join(server.dataDir, 'jwt-secret'), 'utf8').trim();
  });
  after(async () => {
    for (const device of devices) device.socket.terminate();
    await server.close();
  });

  it('refuses, over REST and on the socket upgrade, a token without exp, one that lives too long, and one with the wrong or no issuer or audience', async () => {
    const now = nowS();
    const good = { sub: 'alice', iss: ISSUER, aud: AUDIENCE };
    const refused: Record<string, string> = {
      'no exp': signed({ ...good, iat: now }),
      'lifetime over the maximum (exp - iat)': signed({ ...good, iat: now, exp: now + MAX_LIFETIME_S + 60 }),
      'lifetime over the maximum, no iat (exp - now)': signed({ ...good, exp: now + MAX_LIFETIME_S + 60 }),
      'an iat in the future does not stretch the lifetime': signed({ ...good, iat: now + 30 * 24 * 3600, exp: now + 30 * 24 * 3600 + 60 }),
      'wrong issuer': signed({ ...good, iss: 'https://evil.test', iat: now, exp: now + 60 }),
      'no issuer': signed({ sub: 'alice', aud: AUDIENCE, iat: now, exp: now + 60 }),
      'wrong audience': signed({ ...good, aud: 'another-api', iat: now, exp: now + 60 }),
      'no audience': signed({ sub: 'alice', iss: ISSUER, iat: now, exp: now + 60 }),
      expired: signed({ ...good, iat: now - 120, exp: now - 60 }),
    };
    for (const [name, token] of Object.entries(refused)) {
      const reply = await rest(server.url, token).get('/v1/conversations');
      assert.equal(reply.status, 401, `${name}: ${JSON.stringify(reply.body)}`);
      assert.equal(reply.body.error.code, 'unauthorized', name);
      await assert.rejects(Device.connect(server.wsUrl, token), /upgrade refused: 401/, name);
    }
    assert.match((await rest(server.url, refused['no exp']).get('/v1/conversations')).body.error.message, /exp/);
    assert.match((await rest(server.url, refused['lifetime over the maximum (exp - iat)']).get('/v1/conversations')).body.error.message, /lifetime/);

    const accepted: Record<string, string> = {
      'exactly the maximum lifetime': signed({ ...good, iat: now, exp: now + MAX_LIFETIME_S }),
      'no iat, within the maximum': signed({ ...good, exp: now + 60 }),
      'an audience list naming ours': signed({ ...good, aud: ['another-api', AUDIENCE], iat: now, exp: now + 60 }),
    };
    for (const [name, token] of Object.entries(accepted)) {
      assert.equal((await rest(server.url, token).get('/v1/conversations')).status, 200, name);
      const device = await connect(token);
      device.send({ type: 'ping' });
      await device.waitFor('pong');
    }
  });

  it('issues dev tokens with exp, iss and aud, which pass the checks', async () => {
    const reply = await rest(server.url).post('/v1/auth/dev-token', { user_id: 'dev-user' });
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    const claims = claimsOf(reply.body.token);
    assert.equal(claims.iss, ISSUER);
    assert.equal(claims.aud, AUDIENCE);
    assert.equal((claims.exp as number) - (claims.iat as number), MAX_LIFETIME_S);
    assert.equal(reply.body.expires_in, MAX_LIFETIME_S);
    assert.equal((await rest(server.url, reply.body.token).get('/v1/conversations')).status, 200);
  });

  it('warns a socket with token_expiring, then closes it with 4001 at expiry when it is not renewed', async () => {
    const token = expiringIn('expiring-user', 4);
    const exp = claimsOf(token).exp as number;
    const device = await connect(token);
    const [notice] = await device.waitFor('token_expiring');
    const noticedAt = Date.now();
    // At the second boundary at or before NOTICE_MS ahead of exp: the gateway visits its sockets once a second.
    assert.ok(notice!.expires_in_ms >= NOTICE_MS - 100 && notice!.expires_in_ms <= NOTICE_MS + 1_000, JSON.stringify(notice));
    assert.ok(noticedAt >= exp * 1000 - NOTICE_MS - 1_050, `the notice came ${exp * 1000 - noticedAt} ms before exp`);
    assert.equal(device.open, true, 'the notice leaves the socket open');
    assert.equal(await device.closed(NOTICE_MS + 2_000), closeCodes.token_expired);
    const closedAt = Date.now();
    assert.ok(closedAt >= exp * 1000 - 50, `closed ${exp * 1000 - closedAt} ms before exp`);
    assert.ok(closedAt <= exp * 1000 + 1_000, `closed ${closedAt - exp * 1000} ms after exp`);
    assert.equal(device.of('token_expiring').length, 1);
  });

  it('warns at once a socket whose token is already closer to expiry than the notice', async () => {
    const token = expiringIn('late-comer', 2); // 1 to 2 s left, less than NOTICE_MS + 1 s
    const connectedAt = Date.now();
    const device = await connect(token);
    const [notice] = await device.waitFor('token_expiring', () => true, 1, 500);
    assert.ok(Date.now() - connectedAt < 500, 'the notice came with the connection');
    assert.ok(notice!.expires_in_ms <= 2_000, JSON.stringify(notice));
    assert.equal(await device.closed(3_000), closeCodes.token_expired);
  });

  it("keeps a renewed socket past its first token's expiry, with a new expiry and a new notice, and it keeps receiving messages", async () => {
    const first = expiringIn('renewer', 4);
    const firstExp = claimsOf(first).exp as number;
    const renewer = await connect(first, 'renewing');
    const sender = rest(server.url, expiringIn('renew-peer', 600));
    const conversation = (await sender.post('/v1/conversations', { type: 'direct', peer_id: 'renewer' })).body.conversation_id as string;

    await renewer.waitFor('token_expiring');
    const second = expiringIn('renewer', 5);
    renewer.send({ type: 'reauth', token: second, request_id: 'renew-1' });
    await renewer.waitFor('ok', (f) => f.request_id === 'renew-1');

    // The second token brings its own notice, before its own expiry, and is renewed in turn.
    await renewer.waitFor('token_expiring', () => true, 2, 6_000);
    assert.ok(Date.now() > firstExp * 1000, 'the second notice comes after the first token has expired');
    assert.equal(renewer.open, true, "still open past the first token's expiry");
    renewer.send({ type: 'reauth', token: expiringIn('renewer', 600), request_id: 'renew-2' });
    await renewer.waitFor('ok', (f) => f.request_id === 'renew-2');

    await sleep(NOTICE_MS + 1_500); // past the second token's expiry as well (its notice came up to NOTICE_MS + 1 s ahead)
    assert.equal(renewer.open, true);
    assert.equal(renewer.closeCode, null);
    assert.equal((await sender.post(`/v1/conversations/${conversation}/messages`, { client_msg_id: 'after-renewals', content: 'still there?' })).status, 201);
    const [message] = await renewer.waitFor('new_message', (m) => m.client_msg_id === 'after-renewals');
    assert.equal(message!.content, 'still there?');
    assert.equal(renewer.of('token_expiring').length, 2, 'no notice for the long-lived third token');
  });

  it("refuses a reauth with another user's token, an invalid one or one without exp: an error frame, then the socket is closed", async () => {
    const now = nowS();
    const cases: Record<string, string> = {
      'another sub': expiringIn('mallory-target', 600),
      'wrong key': createSigner({ key: 'k'.repeat(64), algorithm: 'HS256' })({ sub: 'reauther', iss: ISSUER, aud: AUDIENCE, exp: now + 600 }),
      'no exp': signed({ sub: 'reauther', iss: ISSUER, aud: AUDIENCE, iat: now }),
      'wrong audience': signed({ sub: 'reauther', iss: ISSUER, aud: 'another-api', iat: now, exp: now + 600 }),
      expired: signed({ sub: 'reauther', iss: ISSUER, aud: AUDIENCE, iat: now - 120, exp: now - 60 }),
    };
    for (const [name, token] of Object.entries(cases)) {
      const device = await connect(expiringIn('reauther', 600), 'reauthing');
      device.send({ type: 'reauth', token, request_id: 'r' });
      const [error] = await device.waitFor('error');
      assert.equal(error!.code, 'unauthorized', `${name}: ${JSON.stringify(error)}`);
      assert.equal(error!.request_id, 'r', name);
      assert.equal(await device.closed(), closeCodes.reauth_refused, name);
    }
  });

  it('answers a reauth whose token is not token-shaped with invalid_frame and keeps the socket', async () => {
    const device = await connect(expiringIn('sloppy', 600), 'sloppy');
    device.send({ type: 'reauth', token: 'not a token' });
    const [error] = await device.waitFor('error');
    assert.equal(error!.code, 'invalid_frame');
    device.send({ type: 'ping' });
    await device.waitFor('pong');
    assert.equal(device.open, true);
  });
});

import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { createSigner } from 'fast-jwt';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startNatter, rest } from '../support/natter.ts';
import { useNatter } from '../support/fixture.ts';
import { Device } from '../support/ws-client.ts';

const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('authentication and authorization', () => {
  const { server } = useNatter();
  let secret: string;
  let conversationId: string;

  before(async () => {
    secret = readFileSync(join(server.dataDir, 'jwt-secret'), 'utf8');
    const owner = rest(server.url, await server.token('owner'));
    conversationId = (await owner.post('/v1/conversations', { type: 'group', title: 'secret plans', member_ids: ['friend'] })).body.conversation_id;
    await owner.post(`/v1/conversations/${conversationId}/messages`, { client_msg_id: 'x', content: 'private' });
  });

  const badTokens = () => {
    const now = Math.floor(Date.now() / 1000);
    return {
      malformed: 'not.a.jwt',
      expired: createSigner({ key: secret, algorithm: 'HS256' })({ sub: 'owner', iat: now - 7200, exp: now - 3600 }),
      wrongKey: createSigner({ key: 'x'.repeat(64), algorithm: 'HS256', expiresIn: 3_600_000 })({ sub: 'owner' }),
      algNone: `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'owner', exp: now + 3600 })}.`,
      noSub: createSigner({ key: secret, algorithm: 'HS256', expiresIn: 3_600_000 })({ user: 'owner' }),
      badSub: createSigner({ key: secret, algorithm: 'HS256', expiresIn: 3_600_000 })({ sub: '../../etc/passwd' }),
    };
  };

  it('answers 401 with an error body for a missing or bad token on REST', async () => {
    const anonymous = await rest(server.url).get('/v1/conversations');
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.body.error.code, 'unauthorized');
    for (const [name, token] of Object.entries(badTokens())) {
      const reply = await rest(server.url, token).get(`/v1/conversations/${conversationId}/messages`);
      assert.equal(reply.status, 401, name);
      assert.equal(reply.body.error.code, 'unauthorized', name);
    }
  });

  it('refuses the WebSocket upgrade without a valid token, and accepts the header or ?token=', async () => {
    for (const token of ['', ...Object.values(badTokens())]) {
      await assert.rejects(Device.connect(server.wsUrl, token), /upgrade refused: 401/);
    }
    const byHeader = await Device.connect(server.wsUrl, await server.token('owner'), 'laptop', { header: true });
    byHeader.send({ type: 'ping' });
    await byHeader.waitFor('pong');
    await byHeader.close();
  });

  it('hides a conversation from a non-member everywhere: 404, no data, and no live frames', async () => {
    const stranger = rest(server.url, await server.token('stranger'));
    const paths = [
      ['GET', `/v1/conversations/${conversationId}`],
      ['GET', `/v1/conversations/${conversationId}/messages`],
      ['GET', `/v1/conversations/${conversationId}/receipts`],
      ['POST', `/v1/conversations/${conversationId}/messages`, { client_msg_id: 'y', content: 'let me in' }],
      ['POST', `/v1/conversations/${conversationId}/members`, { user_ids: ['stranger'] }],
      ['DELETE', `/v1/conversations/${conversationId}/members/owner`],
      ['POST', `/v1/conversations/${conversationId}/read`, { up_to_seq: 1 }],
      ['POST', `/v1/conversations/${conversationId}/delivered`, { up_to_seq: 1 }],
    ] as const;
    for (const [method, path, body] of paths) {
      const reply = await stranger.call(method, path, body);
      assert.equal(reply.status, 404, `${method} ${path}`);
      assert.equal(reply.body.error.code, 'conversation_not_found');
      assert.ok(!JSON.stringify(reply.body).includes('secret plans'));
    }
    // The same 404 as for a conversation that does not exist.
    const missing = await stranger.get('/v1/conversations/g_doesnotexist/messages');
    assert.deepEqual(missing.body.error.code, 'conversation_not_found');
    assert.equal((await stranger.get('/v1/conversations')).body.items.length, 0);
    assert.equal((await stranger.get('/v1/sync')).body.items.length, 0);

    const socket = await Device.connect(server.wsUrl, await server.token('stranger'));
    socket.send({ type: 'send_message', conversation_id: conversationId, client_msg_id: 'z', content: 'hi' });
    socket.send({ type: 'mark_read', conversation_id: conversationId, up_to_seq: 1 });
    const errors = await socket.waitFor('error', () => true, 2);
    assert.deepEqual(
      errors.map((e) => e.code),
      ['conversation_not_found', 'conversation_not_found'],
    );
    assert.ok(
      errors.some((e) => e.client_msg_id === 'z'),
      "the send's error names its client_msg_id",
    );
    assert.equal((await socket.syncAll()).messages.length, 0);
    const owner = await Device.connect(server.wsUrl, await server.token('owner'));
    await owner.sendMessage(conversationId, 'still private');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(socket.of('new_message').length, 0);
    assert.equal(socket.open, true);
    const history = await rest(server.url, await server.token('owner')).get(`/v1/conversations/${conversationId}/messages`);
    assert.deepEqual(
      history.body.items.map((m: any) => m.content),
      ['private', 'still private'],
    );
    await Promise.all([socket.close(), owner.close()]);
  });

  it('issues dev tokens only when enabled', async () => {
    const locked = await startNatter({ NATTER_DEV_TOKENS: 'false' });
    try {
      const reply = await rest(locked.url).post('/v1/auth/dev-token', { user_id: 'anyone' });
      assert.equal(reply.status, 403);
      assert.equal(reply.body.error.code, 'dev_tokens_disabled');
    } finally {
      await locked.close();
    }
  });

  it('without NATTER_DEV_TOKENS, issues dev tokens on the embedded loopback default and refuses them on a cluster gateway', async () => {
    const cluster = process.env.NATTER_TEST_PROFILE === 'cluster';
    const unset = await startNatter({ NATTER_DEV_TOKENS: undefined });
    try {
      const reply = await rest(unset.url).post('/v1/auth/dev-token', { user_id: 'anyone' });
      if (cluster) {
        assert.equal(reply.status, 403, JSON.stringify(reply.body));
        assert.equal(reply.body.error.code, 'dev_tokens_disabled');
        assert.match(reply.body.error.message, /NATTER_DEV_TOKENS=true/);
      } else {
        assert.equal(reply.status, 200, JSON.stringify(reply.body));
        assert.equal(typeof reply.body.token, 'string');
      }
    } finally {
      await unset.close();
    }
  });

  it('verifies RS256 tokens with a configured public key and refuses HS256 tokens signed with that key', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pub = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const priv = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const rs = await startNatter({ NATTER_JWT_PUBLIC_KEY: pub, NATTER_DEV_TOKENS: 'false' });
    try {
      const good = createSigner({ key: priv, algorithm: 'RS256', expiresIn: 3_600_000 })({ sub: 'rsa-user' });
      assert.equal((await rest(rs.url, good).get('/v1/conversations')).status, 200);
      // HS/RS confusion: the public key used as an HMAC secret.
      const confused = createSigner({ key: pub, algorithm: 'HS256', expiresIn: 3_600_000 })({ sub: 'rsa-user' });
      assert.equal((await rest(rs.url, confused).get('/v1/conversations')).status, 401);
    } finally {
      await rs.close();
    }
  });
});

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { createSigner } from 'fast-jwt';
import { loadConfig } from '../../app/config.ts';
import { createEmbeddedNatter } from '../../app/embedded.ts';
import { startCluster } from '../support/cluster.ts';
import type { FastifyInstance } from 'fastify';
import { routeTable, type RouteEntry } from '../../http/route-table.ts';
import { webDist } from '../../http/web.ts';
import { clientFrames } from '../../contracts/frames.ts';
import { closeCodes } from '../../contracts/close-codes.ts';
import { tempDir, rest } from '../support/natter.ts';
import { Device } from '../support/ws-client.ts';
import { eventually } from '../support/eventually.ts';
import { tinyPdf, upload, download } from '../support/media.ts';

// Authorization, generated from the live route table and the frame registry: a route or a frame
// type that is not in the tables below fails the suite until someone decides how it is protected.

type Live = {
  /** Every gateway's app: one embedded server, or each gateway of a 3-gateway cluster. */
  apps: FastifyInstance[];
  /** The next gateway's address on every read (one for the embedded profile). */
  readonly url: string;
  readonly wsUrl: string;
  secret: string;
  token(user: string, device?: string): Promise<string>;
  close(): Promise<void>;
};

const quiet = {
  NATTER_LOG_LEVEL: 'fatal',
  NATTER_MESSAGES_PER_MINUTE: '100000',
  NATTER_EPHEMERAL_PER_SECOND: '100000',
  NATTER_KEY_CLAIMS_PER_MINUTE: '100000',
};

const tokens = (url: () => string) => async (user: string, device?: string) => {
  const reply = await rest(url()).post('/v1/auth/dev-token', { user_id: user, ...(device ? { device_id: device } : {}) });
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  return reply.body.token as string;
};

const startEmbedded = async (env: Record<string, string> = {}): Promise<Live> => {
  const dataDir = tempDir('natter-authz-');
  const natter = await createEmbeddedNatter(loadConfig({ NATTER_DATA_DIR: dataDir, NATTER_PORT: '0', ...quiet, ...env }));
  const url = await natter.app.listen({ host: '127.0.0.1', port: 0 });
  const secretFile = join(dataDir, 'jwt-secret');
  return {
    apps: [natter.app],
    url,
    wsUrl: url.replace('http', 'ws'),
    token: tokens(() => url),
    close: () => natter.close(),
    secret: existsSync(secretFile) ? readFileSync(secretFile, 'utf8').trim() : '',
  };
};

const startClusterLive = async (env: Record<string, string> = {}): Promise<Live> => {
  const dataDir = tempDir('natter-authz-');
  const running = await startCluster({ NATTER_DATA_DIR: dataDir, ...quiet, ...env });
  let next = 0;
  const pick = () => running.gateways[next++ % running.gateways.length]!;
  return {
    apps: running.gateways.map((g) => g.gateway.app),
    get url() {
      return pick().url;
    },
    get wsUrl() {
      return pick().wsUrl;
    },
    token: tokens(() => pick().url),
    close: running.close,
    secret: running.env.NATTER_JWT_SECRET!,
  };
};

const profiles = { embedded: startEmbedded, cluster: startClusterLive } as const;

const key = (r: Pick<RouteEntry, 'method' | 'url'>) => `${r.method} ${r.url}`;
const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** What a test needs to build a concrete request for a route pattern. */
type Fixture = { conv: string; media: string; secrets: string[]; ownerToken: string };

/**
 * How each protected route is reached, and what a valid user who has no business there gets:
 * - `member`: names a conversation or media; a stranger gets 403/404 and none of its data.
 * - `own`: acts on the caller's own data only (inbox, sync, own devices, own uploads, own keys);
 *   the stranger's answer must hold none of the owner's data.
 * - `directory`: deliberately readable by every signed-in user (public keys for X3DH; rate-limited).
 */
type Protected = {
  kind: 'member' | 'own' | 'directory';
  path(f: Fixture): string;
  body?(f: Fixture): unknown;
  /** Sent as this throwaway user instead of the stranger (erasure ends the caller's account). */
  as?: string;
  /** The reply is NDJSON (the export), kept as text. */
  ndjson?: true;
};

const callNdjson = async (url: string, token: string, path: string) => {
  const response = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: response.status, body: await response.text() };
};
const routes: Record<string, Protected | { kind: 'public'; why: string } | { kind: 'socket' }> = {
  'POST /v1/auth/dev-token': { kind: 'public', why: 'dev tokens; refused with 403 unless NATTER_DEV_TOKENS (tested in headers-and-secrets)' },
  'GET /healthz': { kind: 'public', why: 'liveness probe' },
  'GET /readyz': { kind: 'public', why: 'readiness probe' },
  'GET /metrics': { kind: 'public', why: 'Prometheus scrape: counts only, no ids or content (keep it off the public network)' },
  'OPTIONS *': { kind: 'public', why: 'CORS preflight; carries no data' },
  'GET /docs': { kind: 'public', why: 'Swagger UI' },
  'HEAD /docs/': { kind: 'public', why: 'Swagger UI' },
  'GET /docs/static/index.html': { kind: 'public', why: 'Swagger UI' },
  'GET /docs/static/swagger-initializer.js': { kind: 'public', why: 'Swagger UI' },
  'GET /docs/static/*': { kind: 'public', why: 'Swagger UI assets' },
  'HEAD /docs/static/*': { kind: 'public', why: 'Swagger UI assets' },
  'GET /docs/json': { kind: 'public', why: 'the OpenAPI document' },
  'GET /docs/yaml': { kind: 'public', why: 'the OpenAPI document' },
  'GET /asyncapi.json': { kind: 'public', why: 'the AsyncAPI document' },
  'GET /v1/ws': { kind: 'socket' },
  'POST /v1/conversations': { kind: 'own', path: () => '/v1/conversations', body: () => ({ type: 'direct', peer_id: 'someone-else' }) },
  'GET /v1/conversations': { kind: 'own', path: () => '/v1/conversations' },
  'GET /v1/sync': { kind: 'own', path: () => '/v1/sync' },
  // Searches only the caller's conversations: the stranger's search for the fixture's message finds nothing.
  'GET /v1/search': { kind: 'own', path: () => '/v1/search?q=content+SECRET+91a' },
  'GET /v1/conversations/:id': { kind: 'member', path: (f) => `/v1/conversations/${f.conv}` },
  'GET /v1/conversations/:id/messages': { kind: 'member', path: (f) => `/v1/conversations/${f.conv}/messages` },
  'GET /v1/conversations/:id/receipts': { kind: 'member', path: (f) => `/v1/conversations/${f.conv}/receipts` },
  'POST /v1/conversations/:id/members': { kind: 'member', path: (f) => `/v1/conversations/${f.conv}/members`, body: () => ({ user_ids: ['stranger'] }) },
  'DELETE /v1/conversations/:id/members/:user_id': { kind: 'member', path: (f) => `/v1/conversations/${f.conv}/members/friend` },
  'POST /v1/conversations/:id/messages': {
    kind: 'member',
    path: (f) => `/v1/conversations/${f.conv}/messages`,
    body: () => ({ client_msg_id: 'intruder', content: 'let me in' }),
  },
  'PATCH /v1/conversations/:id/messages/:seq': {
    kind: 'member',
    path: (f) => `/v1/conversations/${f.conv}/messages/1`,
    body: () => ({ content: 'rewritten by a stranger' }),
  },
  'DELETE /v1/conversations/:id/messages/:seq': { kind: 'member', path: (f) => `/v1/conversations/${f.conv}/messages/1` },
  'GET /v1/conversations/:id/messages/:seq/replies': { kind: 'member', path: (f) => `/v1/conversations/${f.conv}/messages/1/replies` },
  'PUT /v1/conversations/:id/messages/:seq/reactions/:emoji': { kind: 'member', path: (f) => `/v1/conversations/${f.conv}/messages/1/reactions/%F0%9F%91%8D` },
  'DELETE /v1/conversations/:id/messages/:seq/reactions/:emoji': {
    kind: 'member',
    path: (f) => `/v1/conversations/${f.conv}/messages/1/reactions/%F0%9F%91%8D`,
  },
  'PATCH /v1/conversations/:id': { kind: 'member', path: (f) => `/v1/conversations/${f.conv}`, body: () => ({ title: 'taken over' }) },
  'PUT /v1/conversations/:id/admins/:user_id': { kind: 'member', path: (f) => `/v1/conversations/${f.conv}/admins/stranger` },
  'DELETE /v1/conversations/:id/admins/:user_id': { kind: 'member', path: (f) => `/v1/conversations/${f.conv}/admins/owner` },
  'PUT /v1/conversations/:id/mute': { kind: 'member', path: (f) => `/v1/conversations/${f.conv}/mute`, body: () => ({ until: null }) },
  'DELETE /v1/conversations/:id/mute': { kind: 'own', path: (f) => `/v1/conversations/${f.conv}/mute` },
  'PUT /v1/users/me/blocks/:user_id': { kind: 'own', path: () => '/v1/users/me/blocks/owner' },
  'DELETE /v1/users/me/blocks/:user_id': { kind: 'own', path: () => '/v1/users/me/blocks/owner' },
  'GET /v1/users/me/blocks': { kind: 'own', path: () => '/v1/users/me/blocks' },
  // Erases the caller only: the owner's messages stay readable (checked below).
  'DELETE /v1/users/me': { kind: 'own', path: () => '/v1/users/me', as: 'stranger-erased' },
  'GET /v1/users/me/export': { kind: 'own', path: () => '/v1/users/me/export', ndjson: true },
  'PUT /v1/users/me/privacy': { kind: 'own', path: () => '/v1/users/me/privacy', body: () => ({ last_seen: 'nobody' }) },
  'POST /v1/conversations/:id/delivered': { kind: 'member', path: (f) => `/v1/conversations/${f.conv}/delivered`, body: () => ({ up_to_seq: 1 }) },
  'POST /v1/conversations/:id/read': { kind: 'member', path: (f) => `/v1/conversations/${f.conv}/read`, body: () => ({ up_to_seq: 1 }) },
  'GET /v1/media/:id': { kind: 'member', path: (f) => `/v1/media/${f.media}` },
  'GET /v1/users/:id/presence': { kind: 'member', path: () => '/v1/users/owner/presence' },
  'POST /v1/media': { kind: 'own', path: () => '/v1/media' },
  'POST /v1/devices/:device_id/push': { kind: 'own', path: () => '/v1/devices/phone/push', body: () => ({ platform: 'fcm', token: 'stranger-token' }) },
  'GET /v1/devices/:device_id/push': { kind: 'own', path: () => '/v1/devices/phone/push' },
  'DELETE /v1/devices/:device_id/push': { kind: 'own', path: () => '/v1/devices/phone/push' },
  'PUT /v1/keys': { kind: 'own', path: () => '/v1/keys', body: () => ({ identity_key: Buffer.alloc(32, 1).toString('base64') }) },
  'GET /v1/keys/:user_id': { kind: 'directory', path: () => '/v1/keys/owner' },
};

/** Every client frame type and what a stranger (valid user, not a member) gets for it. */
const frames: Record<string, { frame(f: Fixture): Record<string, unknown>; expect: 'conversation_not_found' | 'pong' | 'empty_sync' | 'refused_and_closed' }> =
  {
    send_message: {
      frame: (f) => ({ type: 'send_message', conversation_id: f.conv, client_msg_id: 'sneak', content: 'hi' }),
      expect: 'conversation_not_found',
    },
    mark_delivered: { frame: (f) => ({ type: 'mark_delivered', conversation_id: f.conv, up_to_seq: 1 }), expect: 'conversation_not_found' },
    mark_read: { frame: (f) => ({ type: 'mark_read', conversation_id: f.conv, up_to_seq: 1 }), expect: 'conversation_not_found' },
    typing: { frame: (f) => ({ type: 'typing', conversation_id: f.conv, state: 'start' }), expect: 'conversation_not_found' },
    edit_message: { frame: (f) => ({ type: 'edit_message', conversation_id: f.conv, seq: 1, content: 'sneaky edit' }), expect: 'conversation_not_found' },
    delete_message: { frame: (f) => ({ type: 'delete_message', conversation_id: f.conv, seq: 1 }), expect: 'conversation_not_found' },
    react: { frame: (f) => ({ type: 'react', conversation_id: f.conv, seq: 1, emoji: '👍', op: 'add' }), expect: 'conversation_not_found' },
    sync: { frame: () => ({ type: 'sync' }), expect: 'empty_sync' },
    ping: { frame: () => ({ type: 'ping' }), expect: 'pong' },
    // Another user's valid token: the socket does not become the owner's; it is refused and closed.
    reauth: { frame: (f) => ({ type: 'reauth', token: f.ownerToken }), expect: 'refused_and_closed' },
  };

/** Built web-client files (hashed names change per build) are public static files. */
const isWebFile = (r: RouteEntry) => (r.method === 'GET' || r.method === 'HEAD') && (r.url === '/' || existsSync(join(webDist, r.url)));

let embeddedTable: readonly RouteEntry[] | undefined;

for (const [profile, start] of Object.entries(profiles))
  describe(`authorization on every route and frame, ${profile} profile (generated from the live route table)`, () => {
    let live: Live;
    let table: readonly RouteEntry[];
    let fixture: Fixture;
    let secret: string;

    before(async () => {
      live = await start();
      table = routeTable(live.apps[0]!);
      if (profile === 'embedded') embeddedTable = table;
      secret = live.secret;
      const ownerToken = await live.token('owner', 'phone');
      const owner = rest(live.url, ownerToken);
      const conv = (await owner.post('/v1/conversations', { type: 'group', title: 'title-SECRET-7f3', member_ids: ['friend'] })).body.conversation_id;
      const up = await upload(live.url, ownerToken, tinyPdf(), 'application/pdf', 'plans.pdf');
      assert.equal(up.status, 201);
      const media = up.body.media_id as string;
      assert.equal((await owner.post(`/v1/conversations/${conv}/messages`, { client_msg_id: 'm1', content: 'content-SECRET-91a' })).status, 201);
      assert.equal(
        (await owner.post(`/v1/conversations/${conv}/messages`, { client_msg_id: 'm2', content_type: 'media', content: JSON.stringify({ media_id: media }) }))
          .status,
        201,
      );
      assert.equal((await owner.post('/v1/devices/phone/push', { platform: 'fcm', token: 'owner-push-SECRET' })).status, 200);
      fixture = { conv, media, secrets: ['title-SECRET-7f3', 'content-SECRET-91a', 'owner-push-SECRET', 'friend', 'application/pdf'], ownerToken };
    });
    after(async () => {
      await live.close();
    });

    if (profile === 'cluster')
      it('serves the same routes on every gateway, and the same as the embedded profile', () => {
        const sorted = (t: readonly RouteEntry[]) => t.map((r) => `${key(r)}${r.public ? ' (public)' : ''}`).sort();
        for (const app of live.apps) assert.deepEqual(sorted(routeTable(app)), sorted(table));
        assert.ok(embeddedTable, 'the embedded suite runs first and records its table');
        assert.deepEqual(sorted(table), sorted(embeddedTable!), 'a route of one profile is missing from the other');
      });

    it('has an entry in the authorization table for every registered route', () => {
      assert.ok(table.length >= 30, `only ${table.length} routes recorded; is recordRoutes registered first in buildApp?`);
      const unknown = table.filter((r) => !(key(r) in routes) && !isWebFile(r)).map(key);
      assert.deepEqual(unknown, [], `add it to the authorization table in test/security/authz.test.ts: ${unknown.join(', ')}`);
      const registered = new Set(table.map(key));
      const stale = Object.keys(routes).filter((k) => !registered.has(k));
      assert.deepEqual(stale, [], 'the table names routes that no longer exist');
    });

    it('declares public exactly the routes meant to be public, and serves nothing outside /v1 that needs a token', () => {
      for (const r of table) {
        const spec = routes[key(r)];
        if (r.public) assert.equal(spec?.kind, 'public', `${key(r)} is declared public but the table does not say it is intended`);
        if (!r.url.startsWith('/v1/'))
          assert.ok(spec?.kind === 'public' || isWebFile(r), `${key(r)} is outside /v1 (no token checked) and not a known public document`);
        if (spec && spec.kind !== 'public') assert.ok(r.url.startsWith('/v1/') && !r.public, `${key(r)} must be under /v1 and not public`);
      }
    });

    const badTokens = (signingSecret: string) => {
      const now = Math.floor(Date.now() / 1000);
      // Each one carries exp (required, else every token below would be refused for that alone).
      const sign = createSigner({ key: signingSecret, algorithm: 'HS256', expiresIn: 3_600_000 });
      const bare = createSigner({ key: signingSecret, algorithm: 'HS256' });
      const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
      return {
        malformed: 'not.a.jwt',
        garbage: 'x'.repeat(300),
        expired: sign({ sub: 'owner', iat: now - 7200, exp: now - 3600 }),
        notYetValid: sign({ sub: 'owner', nbf: now + 3600 }),
        wrongKey: createSigner({ key: 'k'.repeat(64), algorithm: 'HS256', expiresIn: 3_600_000 })({ sub: 'owner' }),
        algNone: `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'owner', exp: now + 3600 })}.`,
        algNoneCased: `${b64({ alg: 'None', typ: 'JWT' })}.${b64({ sub: 'owner', exp: now + 3600 })}.`,
        strippedSignature: `${sign({ sub: 'owner' }).split('.').slice(0, 2).join('.')}.`,
        otherAlgorithm: createSigner({ key: rsa, algorithm: 'RS256', expiresIn: 3_600_000 })({ sub: 'owner' }),
        noExp: bare({ sub: 'owner' }),
        tooLong: bare({ sub: 'owner', exp: now + 400 * 24 * 3600 }),
        noSub: sign({ user: 'owner' }),
        numericSub: sign({ sub: 42 }),
        pathSub: sign({ sub: '../../etc/passwd' }),
        controlSub: sign({ sub: 'owner\u0000admin' }),
      };
    };

    const protectedRoutes = () => table.filter((r) => !r.websocket && routes[key(r)] && routes[key(r)]!.kind !== 'public' && routes[key(r)]!.kind !== 'socket');

    it('answers 401 unauthorized to every protected route without a token, with a bad token, or with the token in the query', async () => {
      const tokens = badTokens(secret);
      let checked = 0;
      const validToken = await live.token('owner');
      for (const r of protectedRoutes()) {
        const spec = routes[key(r)] as Protected;
        const path = spec.path(fixture);
        const body = spec.body?.(fixture);
        const attempts: Array<[string, Record<string, string>, string]> = [
          ['no token', {}, path],
          ['empty bearer', { authorization: 'Bearer ' }, path],
          ['basic scheme', { authorization: `Basic ${Buffer.from('owner:pw').toString('base64')}` }, path],
          ['token in the query (sockets only)', {}, `${path}${path.includes('?') ? '&' : '?'}token=${validToken}`],
          ['encoded path', {}, path.replace('/v1/', '/%761/')],
          ...Object.entries(tokens).map(([name, token]) => [name, { authorization: `Bearer ${token}` }, path] as [string, Record<string, string>, string]),
        ];
        for (const [name, headers, target] of attempts) {
          const reply = await rest(live.url).call(r.method, target, body, headers);
          assert.equal(reply.status, 401, `${key(r)} with ${name}: ${JSON.stringify(reply.body)}`);
          assert.equal(reply.body.error.code, 'unauthorized', `${key(r)} with ${name}`);
          checked++;
        }
      }
      assert.ok(protectedRoutes().length >= 19 && checked === protectedRoutes().length * 20, `${checked} checks`);
    });

    it('refuses the socket upgrade without a valid token', async () => {
      for (const token of ['', ...Object.values(badTokens(secret))]) {
        await assert.rejects(Device.connect(live.wsUrl, encodeURIComponent(token)), /upgrade refused: 401/);
        await assert.rejects(Device.connect(live.wsUrl, token, 'phone', { header: true }), /upgrade refused: 401/);
      }
      await assert.rejects(Device.connect(live.wsUrl.replace('/v1', ''), 'x'), /upgrade refused/);
    });

    it('gives a valid non-member 403 or 404 and none of the data on every route that names a conversation or media', async () => {
      const stranger = rest(live.url, await live.token('stranger', 'phone'));
      for (const r of protectedRoutes()) {
        const spec = routes[key(r)] as Protected;
        const caller = spec.as ? rest(live.url, await live.token(spec.as, 'phone')) : stranger;
        const reply = spec.ndjson
          ? await callNdjson(live.url, await live.token('stranger', 'phone'), spec.path(fixture))
          : await caller.call(r.method, spec.path(fixture), spec.body?.(fixture));
        const text = JSON.stringify(reply.body ?? '');
        if (spec.kind === 'member') {
          assert.ok(reply.status === 403 || reply.status === 404, `${key(r)} answered ${reply.status} to a stranger: ${text}`);
        } else {
          assert.ok(reply.status < 500, `${key(r)}: ${reply.status} ${text}`);
        }
        for (const s of fixture.secrets) {
          assert.ok(!text.includes(s), `${key(r)} leaked ${s} to a stranger: ${text}`);
        }
      }
      // Nothing the stranger did touched the owner's data.
      const owner = rest(live.url, await live.token('owner', 'phone'));
      assert.equal((await owner.get('/v1/devices/phone/push')).body.platform, 'fcm', "the stranger cannot delete the owner's push registration");
      const history = (await owner.get(`/v1/conversations/${fixture.conv}/messages`)).body.items;
      assert.deepEqual(
        history.map((m: any) => m.client_msg_id),
        ['m1', 'm2'],
      );
      assert.deepEqual(
        history.map((m: any) => [m.content, m.deleted, m.edited_at, m.reactions.length]).slice(0, 1),
        [['content-SECRET-91a', false, null, 0]],
        'the stranger could not edit, delete or react to a message',
      );
      assert.deepEqual((await owner.get(`/v1/conversations/${fixture.conv}`)).body.members, ['friend', 'owner']);
      assert.deepEqual((await owner.get(`/v1/conversations/${fixture.conv}`)).body.admins, ['owner'], 'the stranger made nobody admin and removed no admin');
      assert.equal((await owner.get(`/v1/conversations/${fixture.conv}`)).body.title, 'title-SECRET-7f3', 'nor renamed it');
      const receipts = (await owner.get(`/v1/conversations/${fixture.conv}/receipts`)).body.items;
      assert.ok(!receipts.some((r: any) => r.user_id === 'stranger'));
      // The media is readable by a member, not by the stranger.
      assert.equal((await download(live.url, await live.token('friend'), `/v1/media/${fixture.media}`)).status, 200);
      assert.equal((await download(live.url, await live.token('stranger'), `/v1/media/${fixture.media}`)).status, 404);
    });

    it("has an entry in the frame table for every client frame type, and a stranger's frames touch nothing", async () => {
      const unknown = Object.keys(clientFrames).filter((type) => !(type in frames));
      assert.deepEqual(unknown, [], `add it to the frame authorization table in test/security/authz.test.ts: ${unknown.join(', ')}`);
      const stranger = await Device.connect(live.wsUrl, await live.token('stranger', 'tablet'), 'tablet');
      const ownerDevice = await Device.connect(live.wsUrl, await live.token('owner', 'laptop'), 'laptop');
      try {
        for (const [type, spec] of Object.entries(frames)) {
          const seen = stranger.frames.length;
          if (spec.expect !== 'refused_and_closed') stranger.send(spec.frame(fixture));
          if (spec.expect === 'conversation_not_found') {
            const [error] = await stranger.waitFor('error', () => true, stranger.of('error').length + 1);
            assert.equal(stranger.of('error').at(-1)!.code, 'conversation_not_found', `${type}: ${JSON.stringify(error)}`);
          } else if (spec.expect === 'pong') {
            await stranger.waitFor('pong');
          } else if (spec.expect === 'refused_and_closed') {
            // On a socket of its own, since this one closes; afterwards it is still the stranger's and sees nothing.
            const probe = await Device.connect(live.wsUrl, await live.token('stranger', 'watch'), 'watch');
            probe.send(spec.frame(fixture));
            const [error] = await probe.waitFor('error');
            assert.equal(error!.code, 'unauthorized', `${type}: ${JSON.stringify(error)}`);
            assert.equal(await probe.closed(), closeCodes.reauth_refused, type);
            assert.deepEqual(
              probe.frames.map((f) => f.type),
              ['error'],
              `${type}: nothing but the refusal`,
            );
          } else {
            await stranger.waitFor('sync_done');
            assert.equal(stranger.frames.slice(seen).filter((f) => f.type === 'new_message').length, 0, `${type} returned messages`);
          }
        }
        assert.ok(!JSON.stringify(stranger.frames).includes('SECRET'));
        assert.equal(stranger.open, true, `closed with ${stranger.closeCode}: ${JSON.stringify(stranger.frames.slice(-3))}`);
        await new Promise((r) => setTimeout(r, 100));
        assert.equal(ownerDevice.of('typing').length, 0, "a stranger's typing reaches no member");
        const history = (await rest(live.url, await live.token('owner')).get(`/v1/conversations/${fixture.conv}/messages`)).body.items;
        assert.deepEqual(
          history.map((m: any) => m.client_msg_id),
          ['m1', 'm2'],
        );
      } finally {
        await Promise.all([stranger.close(), ownerDevice.close()]);
      }
    });

    it('takes everything away from a removed member at once: reads, media, receipts, sends and live delivery', async () => {
      const owner = rest(live.url, await live.token('owner', 'phone'));
      const { body: group } = await owner.post('/v1/conversations', { type: 'group', title: 'leaving', member_ids: ['leaver', 'stays'] });
      const id = group.conversation_id as string;
      const up = await upload(live.url, await live.token('owner'), tinyPdf(10), 'application/pdf');
      await owner.post(`/v1/conversations/${id}/messages`, {
        client_msg_id: 'l1',
        content_type: 'media',
        content: JSON.stringify({ media_id: up.body.media_id }),
      });
      const leaverToken = await live.token('leaver', 'phone');
      const leaver = rest(live.url, leaverToken);
      assert.equal((await leaver.get(`/v1/conversations/${id}/messages`)).status, 200);
      // The share is a projection of the message: in the cluster it lands a moment after the send's answer.
      assert.equal(
        (
          await eventually(
            () => download(live.url, leaverToken, `/v1/media/${up.body.media_id}`),
            (r) => r.status === 200,
          )
        ).status,
        200,
      );
      const leaverDevice = await Device.connect(live.wsUrl, leaverToken, 'phone');
      const staysDevice = await Device.connect(live.wsUrl, await live.token('stays', 'phone'), 'phone');
      try {
        assert.equal((await owner.delete(`/v1/conversations/${id}/members/leaver`)).status, 200);
        // Reads right after the removal answer (REST membership changes wait for the read models).
        for (const path of [`/v1/conversations/${id}`, `/v1/conversations/${id}/messages`, `/v1/conversations/${id}/receipts`]) {
          const reply = await leaver.get(path);
          assert.ok(reply.status === 403 || reply.status === 404, `${path}: ${reply.status}`);
        }
        assert.equal((await download(live.url, leaverToken, `/v1/media/${up.body.media_id}`)).status, 404);
        const send = await leaver.post(`/v1/conversations/${id}/messages`, { client_msg_id: 'after', content: 'still here?' });
        assert.equal(send.status, 403);
        assert.equal(send.body.error.code, 'not_a_member');
        leaverDevice.send({ type: 'send_message', conversation_id: id, client_msg_id: 'after-ws', content: 'x' });
        const [error] = await leaverDevice.waitFor('error', (e) => e.client_msg_id === 'after-ws');
        assert.equal(error!.code, 'not_a_member');
        // Live delivery stops: the remaining member gets the next message, the removed one does not.
        await owner.post(`/v1/conversations/${id}/messages`, { client_msg_id: 'l2', content: 'after-removal-SECRET' });
        await staysDevice.waitFor('new_message', (m) => m.client_msg_id === 'l2');
        await new Promise((r) => setTimeout(r, 150));
        assert.equal(leaverDevice.of('new_message', (m) => m.client_msg_id === 'l2').length, 0);
        const synced = await leaverDevice.syncAll();
        assert.ok(!synced.messages.some((m) => m.client_msg_id === 'l2'), 'sync does not hand it over either');
      } finally {
        await Promise.all([leaverDevice.close(), staysDevice.close()]);
      }
    });

    it('refuses HS256 tokens signed with the public key (HS/RS confusion) on every protected route of an RS256 server', async () => {
      const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const pub = publicKey.export({ type: 'spki', format: 'pem' }).toString();
      const priv = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
      const rs = await start({ NATTER_JWT_PUBLIC_KEY: pub, NATTER_DEV_TOKENS: 'false' });
      const rsTable = routeTable(rs.apps[0]!);
      try {
        const hour = { expiresIn: 3_600_000 };
        const good = createSigner({ key: priv, algorithm: 'RS256', ...hour })({ sub: 'rsa-user' });
        assert.equal((await rest(rs.url, good).get('/v1/conversations')).status, 200);
        const confused = createSigner({ key: pub, algorithm: 'HS256', ...hour })({ sub: 'rsa-user' });
        const confusedTrimmed = createSigner({ key: pub.trim(), algorithm: 'HS256', ...hour })({ sub: 'rsa-user' });
        const algNone = `${b64({ alg: 'none' })}.${b64({ sub: 'rsa-user', exp: Math.floor(Date.now() / 1000) + 3600 })}.`;
        for (const r of rsTable) {
          const spec = routes[key(r)];
          if (!spec || spec.kind === 'public' || spec.kind === 'socket') continue;
          for (const token of [confused, confusedTrimmed, algNone]) {
            const { status }: { status: number } = await rest(rs.url, token).call(r.method, spec.path(fixture), spec.body?.(fixture));
            assert.equal(status, 401, `${key(r)}`);
          }
        }
        await assert.rejects(Device.connect(rs.wsUrl, confused), /upgrade refused: 401/);
      } finally {
        await rs.close();
      }
    });
  });

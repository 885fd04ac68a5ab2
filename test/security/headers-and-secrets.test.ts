import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnNatter, startNatter, tempDir, rest } from '../support/natter.ts';
import { Device } from '../support/ws-client.ts';
import { spawnCaptured } from '../../scripts/spawn-captured.ts';

// No token or message content in the logs, even at debug level; security headers on every
// response (with a CSP the web client and Swagger UI work under); CORS closed unless configured;
// dev tokens only when enabled.

/** `natter serve` that is expected to stop at start: its exit code and everything it printed. */
const serveUntilExit = async (env: Record<string, string>) => {
  const inherited = { ...process.env };
  delete inherited.NATTER_DEV_TOKENS;
  const { child, output: captured } = spawnCaptured(['bin/natter.js', 'serve'], {
    ...inherited,
    NATTER_DATA_DIR: tempDir('natter-refuse-'),
    NATTER_PORT: '0',
    NATTER_LOG_LEVEL: 'warn',
    ...env,
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearTimeout(timer);
  return {
    code,
    lines: captured()
      .split('\n')
      .filter((line) => line.trim() !== ''),
  };
};

describe('secrets, headers, CORS and dev tokens', () => {
  it('logs no token and no message content at NATTER_LOG_LEVEL=debug', async () => {
    const server = await spawnNatter(tempDir('natter-logs-'), { NATTER_LOG_LEVEL: 'debug', NATTER_MAX_SOCKETS_PER_USER: '1' });
    try {
      const token = await server.token('logan', 'phone');
      const peerToken = await server.token('lola', 'phone');
      const secrets = [token, peerToken, token.split('.')[2]!, 'CONTENT-should-never-be-logged', 'REST-content-never-logged'];
      const api = rest(server.url, token);
      const { body: conv } = await api.post('/v1/conversations', { type: 'direct', peer_id: 'lola' });
      await api.post(`/v1/conversations/${conv.conversation_id}/messages`, { client_msg_id: 'r1', content: 'REST-content-never-logged' });
      await api.post('/v1/devices/phone/push', { platform: 'fcm', token: 'push-token-never-logged' });
      secrets.push('push-token-never-logged');
      const device = await Device.connect(server.wsUrl, token, 'phone');
      const peer = await Device.connect(server.wsUrl, peerToken, 'phone', { header: true });
      await device.sendMessage(conv.conversation_id, 'CONTENT-should-never-be-logged');
      await peer.waitFor('new_message');
      // Errors, refusals and failures get logged: none of them may carry the token or the content.
      device.send({ type: 'send_message', conversation_id: conv.conversation_id, client_msg_id: 'bad', content: 'CONTENT-should-never-be-logged', extra: 1 });
      device.socket.send('{"type":"send_message","content":"CONTENT-should-never-be-logged"');
      await device.waitFor('error', () => true, 2);
      const extra = await Device.connect(server.wsUrl, token, 'tablet'); // over the socket limit: logged with user and device
      assert.equal(await extra.closed(), 4009);
      await rest(server.url, `${token}x`).get('/v1/conversations');
      await rest(server.url, token).get(`/v1/conversations?token=${token}`);
      await device.close();
      await peer.close();
      await new Promise((r) => setTimeout(r, 300));
      const output = server.output();
      assert.match(output, /"level":(20|30|40)/, 'the server logged something at debug level');
      for (const secret of secrets) assert.ok(!output.includes(secret), `the log contains ${secret.slice(0, 24)}…`);
    } finally {
      await server.close();
    }
  });

  it('sends security headers on API, web and docs responses, with a CSP that allows the web client and Swagger UI', async () => {
    const server = await startNatter();
    try {
      for (const path of ['/', '/docs', '/docs/static/index.html', '/v1/conversations', '/healthz', '/asyncapi.json']) {
        const response = await fetch(`${server.url}${path}`, { redirect: 'manual' });
        const h = response.headers;
        assert.equal(h.get('x-content-type-options'), 'nosniff', path);
        assert.equal(h.get('x-frame-options'), 'SAMEORIGIN', path);
        assert.ok(h.get('referrer-policy'), path);
        assert.equal(h.get('x-powered-by'), null, path);
        const csp = h.get('content-security-policy') ?? '';
        assert.match(csp, /default-src 'self'/, path);
        assert.match(csp, /script-src 'self'/, path);
        assert.match(csp, /object-src 'none'/, path);
        assert.match(csp, /frame-ancestors 'self'/, path);
        assert.doesNotMatch(csp, /upgrade-insecure-requests/, `${path}: plain-HTTP deployments must keep working`);
        assert.doesNotMatch(csp, /unsafe-eval/, path);
      }
      // Scripts of the web client and of Swagger UI come from this origin, as the CSP requires.
      const index = await (await fetch(`${server.url}/`)).text();
      for (const src of index.matchAll(/<script[^>]*src="([^"]+)"/g)) assert.ok(src[1]!.startsWith('/'), `web client script ${src[1]}`);
      assert.ok(!/<script(?![^>]*src=)[^>]*>\s*\S/.test(index), 'no inline script in the web client');
      const docs = await (await fetch(`${server.url}/docs/static/index.html`)).text();
      for (const src of docs.matchAll(/<script[^>]*src="([^"]+)"/g)) assert.ok(!/^https?:/.test(src[1]!), `Swagger UI script ${src[1]}`);
      assert.ok(!/<script(?![^>]*src=)[^>]*>\s*\S/.test(docs), 'no inline script in Swagger UI');
      // Media keeps its own stricter policy.
    } finally {
      await server.close();
    }
  });

  const preflight = (url: string, origin: string) =>
    fetch(`${url}/v1/conversations`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });

  it('closes CORS by default without dev tokens, opens it to configured origins, and to local dev servers only in the dev profile', async () => {
    const closed = await startNatter({ NATTER_DEV_TOKENS: 'false' });
    const configured = await startNatter({ NATTER_DEV_TOKENS: 'false', NATTER_CORS_ORIGINS: 'https://chat.example, https://admin.example' });
    const dev = await startNatter();
    try {
      for (const origin of ['http://localhost:5173', 'https://evil.example', 'null']) {
        const reply = await fetch(`${closed.url}/healthz`, { headers: { origin } });
        assert.equal(reply.headers.get('access-control-allow-origin'), null, `closed profile answered ${origin}`);
        assert.equal((await preflight(closed.url, origin)).headers.get('access-control-allow-origin'), null);
      }
      const allowed = await preflight(configured.url, 'https://chat.example');
      assert.equal(allowed.headers.get('access-control-allow-origin'), 'https://chat.example');
      assert.match(allowed.headers.get('access-control-allow-headers') ?? '', /authorization/);
      assert.equal((await preflight(configured.url, 'https://evil.example')).headers.get('access-control-allow-origin'), null);
      assert.equal((await preflight(configured.url, 'https://chat.example.evil.example')).headers.get('access-control-allow-origin'), null);
      // The embedded dev profile (dev tokens on) lets a web client on a local dev server call the API.
      assert.equal((await preflight(dev.url, 'http://localhost:5173')).headers.get('access-control-allow-origin'), 'http://localhost:5173');
      assert.equal((await preflight(dev.url, 'http://127.0.0.1:8080')).headers.get('access-control-allow-origin'), 'http://127.0.0.1:8080');
      for (const origin of ['https://evil.example', 'http://localhost.evil.example', 'http://localhost:5173.evil.example', 'null']) {
        assert.equal((await preflight(dev.url, origin)).headers.get('access-control-allow-origin'), null, origin);
      }
      // A 401 still carries the CORS header, so that a browser client can read it.
      const unauthorized = await fetch(`${configured.url}/v1/conversations`, { headers: { origin: 'https://chat.example' } });
      assert.equal(unauthorized.status, 401);
      assert.equal(unauthorized.headers.get('access-control-allow-origin'), 'https://chat.example');
    } finally {
      await Promise.all([closed.close(), configured.close(), dev.close()]);
    }
  });

  it('natter serve on a non-loopback NATTER_HOST without NATTER_DEV_TOKENS refuses to start with one line; with NATTER_DEV_TOKENS=false it starts without them', async () => {
    const refused = await serveUntilExit({ NATTER_HOST: '0.0.0.0' });
    assert.equal(refused.code, 1, refused.lines.join('\n'));
    assert.deepEqual(refused.lines, [
      'natter serve: NATTER_HOST=0.0.0.0 is not loopback: set NATTER_DEV_TOKENS=false for production, or NATTER_DEV_TOKENS=true to allow anyone to mint tokens',
    ]);

    const badNumber = await serveUntilExit({ NATTER_MAX_BODY_BYTES: 'abc' });
    assert.equal(badNumber.code, 1);
    assert.deepEqual(
      badNumber.lines,
      ['natter serve: NATTER_MAX_BODY_BYTES must be an integer of at least 1, got "abc"'],
      'a config error is one line, no stack trace',
    );

    const production = await spawnNatter(tempDir('natter-exposed-'), { NATTER_HOST: '0.0.0.0', NATTER_DEV_TOKENS: 'false' });
    try {
      const reply = await rest(production.url).post('/v1/auth/dev-token', { user_id: 'anyone' });
      assert.equal(reply.status, 403);
      assert.equal(reply.body.error.code, 'dev_tokens_disabled');
    } finally {
      await production.close();
    }
  });

  it('issues no dev token unless NATTER_DEV_TOKENS is on, and ignores the dev-token route for authentication', async () => {
    const locked = await startNatter({ NATTER_DEV_TOKENS: 'false' });
    const open = await startNatter({ NATTER_DEV_TOKENS: 'true' });
    try {
      for (const body of [{ user_id: 'anyone' }, { user_id: 'admin', device_id: 'x' }]) {
        const reply = await rest(locked.url).post('/v1/auth/dev-token', body);
        assert.equal(reply.status, 403);
        assert.equal(reply.body.error.code, 'dev_tokens_disabled');
        assert.equal(reply.body.token, undefined);
      }
      // A token from another server (another secret) is worth nothing here.
      const foreign = await open.token('anyone');
      assert.equal((await rest(locked.url, foreign).get('/v1/conversations')).status, 401);
      assert.equal((await rest(open.url, foreign).get('/v1/conversations')).status, 200);
    } finally {
      await Promise.all([locked.close(), open.close()]);
    }
  });
});

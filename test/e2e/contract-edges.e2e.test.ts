import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { rest } from '../support/natter.ts';
import { useNatter } from '../support/fixture.ts';
import { Device } from '../support/ws-client.ts';
import { MAX_CONTENT_LENGTH } from '../../contracts/primitives.ts';

/** A raw request (fetch refuses methods such as QUERY and cannot leave Origin out of every request). */
const raw = (url: string, method: string, path: string, headers: Record<string, string>, body?: string) =>
  new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: any }>((resolve, reject) => {
    const { hostname, port } = new URL(url);
    const req = request({ host: hostname, port, method, path, headers }, (res) => {
      let text = '';
      res.on('data', (chunk) => {
        text += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text ? JSON.parse(text) : undefined }));
    });
    req.on('error', reject);
    req.end(body);
  });

describe('the edges of the contract: each documented code is the one a client gets', () => {
  const { server } = useNatter();
  let token: string;
  let client: ReturnType<typeof rest>;
  let conversationId: string;

  before(async () => {
    token = await server.token('eda');
    client = rest(server.url, token);
    conversationId = (await client.post('/v1/conversations', { type: 'direct', peer_id: 'edb' })).body.conversation_id;
  });

  it('given an inbox cursor the server never gave, when the inbox is read with it, then 400 invalid_request, not the first page', async () => {
    for (const cursor of ['garbage', 'MTIz', Buffer.from('x|d_1').toString('base64url')]) {
      const reply = await client.get(`/v1/conversations?cursor=${cursor}`);
      assert.equal(reply.status, 400, `${cursor}: ${JSON.stringify(reply.body)}`);
      assert.equal(reply.body.error.code, 'invalid_request');
    }
    const given = Buffer.from(`${Date.now()}|${conversationId}`).toString('base64url');
    assert.equal((await client.get(`/v1/conversations?cursor=${given}`)).status, 200, 'a well-formed cursor is read');
  });

  it('given content one character over the limit, then REST answers 413 message_too_large and the socket an error frame with it', async () => {
    const tooLong = 'x'.repeat(MAX_CONTENT_LENGTH + 1);
    const viaRest = await client.post(`/v1/conversations/${conversationId}/messages`, { client_msg_id: 'long-rest', content: tooLong });
    assert.equal(viaRest.status, 413, JSON.stringify(viaRest.body).slice(0, 200));
    assert.equal(viaRest.body.error.code, 'message_too_large');
    const edit = await client.call('PATCH', `/v1/conversations/${conversationId}/messages/1`, { content: tooLong });
    assert.equal(edit.body.error.code, 'message_too_large');
    const device = await Device.connect(server.wsUrl, token);
    device.send({ type: 'send_message', client_msg_id: 'long-ws', conversation_id: conversationId, content: tooLong });
    const [error] = await device.waitFor('error', (f) => f.client_msg_id === 'long-ws');
    assert.equal(error!.code, 'message_too_large');
    assert.equal(device.open, true);
    await device.close();
  });

  it('given a method a path does not answer, then 405 method_not_allowed with an Allow header; an unknown path stays 404', async () => {
    const headers = { authorization: `Bearer ${token}` };
    for (const method of ['PATCH', 'PUT', 'QUERY']) {
      const reply = await raw(server.url, method, '/v1/conversations', { ...headers, 'content-type': 'application/json' }, '{"x":');
      assert.equal(reply.status, 405, `${method}: ${JSON.stringify(reply.body)}`);
      assert.equal(reply.body.error.code, 'method_not_allowed');
      assert.equal(reply.headers.allow, 'GET, HEAD, POST');
    }
    const query = await raw(server.url, 'QUERY', '/v1/sync', headers);
    assert.equal(query.status, 405, 'a body method without a Content-Type is still a method question');
    assert.equal(query.body.error.code, 'method_not_allowed');
    const unknown = await raw(server.url, 'PATCH', '/v1/nope', headers);
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, 'not_found');
  });

  it('given a request without a body, then a route that needs one says so (400 invalid_request) and one that does not answers', async () => {
    const json = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    for (const headers of [json, { authorization: `Bearer ${token}` }]) {
      const reply = await raw(server.url, 'POST', `/v1/conversations/${conversationId}/read`, headers);
      assert.equal(reply.status, 400);
      assert.equal(reply.body.error.code, 'invalid_request', JSON.stringify(reply.body));
      assert.match(reply.body.error.message, /needs a JSON body/);
    }
    const unregister = await raw(server.url, 'DELETE', '/v1/devices/phone/push', json);
    assert.equal(unregister.status, 204, 'an empty JSON body is no body');
  });

  it('given a body that is not JSON, then 415 unsupported_media_type', async () => {
    const reply = await raw(server.url, 'POST', '/v1/conversations', { authorization: `Bearer ${token}`, 'content-type': 'application/xml' }, '<direct/>');
    assert.equal(reply.status, 415);
    assert.equal(reply.body.error.code, 'unsupported_media_type');
  });

  it('given a malformed multipart upload (no boundary, a broken part), then 400 invalid_request, not a 500', async () => {
    const auth = { authorization: `Bearer ${token}` };
    const noBoundary = await raw(server.url, 'POST', '/v1/media', { ...auth, 'content-type': 'multipart/form-data' });
    assert.equal(noBoundary.status, 400, JSON.stringify(noBoundary.body));
    assert.equal(noBoundary.body.error.code, 'invalid_request');
    const broken = await raw(server.url, 'POST', '/v1/media', { ...auth, 'content-type': 'multipart/form-data; boundary=b' }, '--b\r\nNone--b--\r\n');
    assert.equal(broken.status, 400, JSON.stringify(broken.body));
    assert.equal(broken.body.error.code, 'invalid_request');
  });

  it('given OPTIONS that is no preflight (no Origin), then 400 in the error shape', async () => {
    for (const headers of [{}, { 'access-control-request-method': 'POST' }, { origin: 'http://localhost:5173' }] as Array<Record<string, string>>) {
      const reply = await raw(server.url, 'OPTIONS', '/v1/conversations', headers);
      assert.equal(reply.status, 400, JSON.stringify(headers));
      assert.match(String(reply.headers['content-type']), /application\/json/);
      assert.equal(reply.body.error.code, 'invalid_request');
    }
  });

  it('given an oversized frame, then the socket closes with 1009 and /metrics counts it as frame_too_large', async () => {
    const url = server.url; // one gateway for both the socket and the scrape
    const closedAsTooLarge = async () => {
      const text = await (await fetch(`${url}/metrics`)).text();
      return Number(/^natter_sockets_closed_total\{reason="frame_too_large"\} (\d+)/m.exec(text)?.[1] ?? 0);
    };
    const before = await closedAsTooLarge();
    const device = await Device.connect(url.replace('http', 'ws'), token, 'big');
    device.send({ type: 'send_message', client_msg_id: 'huge', conversation_id: conversationId, content: 'x'.repeat(200_000) });
    assert.equal(await device.closed(10_000), 1009);
    for (let i = 0; i < 50 && (await closedAsTooLarge()) === before; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(await closedAsTooLarge(), before + 1);
    const text = await (await fetch(`${url}/metrics`)).text();
    assert.doesNotMatch(text, /natter_sockets_closed_total\{reason="1006"\} [1-9]/, 'not counted as an abnormal close');
  });
});

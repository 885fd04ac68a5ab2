import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { rest } from '../support/natter.ts';
import { useNatter } from '../support/fixture.ts';
import { Device } from '../support/ws-client.ts';

describe('bad input gets a clear error and changes nothing', () => {
  const { server } = useNatter({ NATTER_MAX_FRAME_BYTES: '32768' });
  let conversationId: string;
  let client: ReturnType<typeof rest>;

  before(async () => {
    client = rest(server.url, await server.token('ada'));
    conversationId = (await client.post('/v1/conversations', { type: 'direct', peer_id: 'bea' })).body.conversation_id;
  });

  it('answers malformed frames with error frames and keeps the socket open and working', async () => {
    const device = await Device.connect(server.wsUrl, await server.token('ada'));
    const garbage: Array<[string | Buffer, string]> = [
      ['not json', 'invalid_json'],
      ['[1,2]', 'invalid_frame'],
      ['null', 'invalid_frame'],
      ['{"type":"launch_missiles"}', 'invalid_frame'],
      ['{"no":"type"}', 'invalid_frame'],
      [JSON.stringify({ type: 'send_message', conversation_id: conversationId, content: 'no id' }), 'invalid_frame'],
      [JSON.stringify({ type: 'send_message', client_msg_id: 'e1', conversation_id: conversationId, content: '' }), 'invalid_frame'],
      [JSON.stringify({ type: 'send_message', client_msg_id: 'e3', conversation_id: conversationId, content: 'hi', extra: true }), 'invalid_frame'],
      [JSON.stringify({ type: 'send_message', client_msg_id: 'e4', conversation_id: '../../etc/passwd', content: 'hi' }), 'invalid_frame'],
      [JSON.stringify({ type: 'send_message', client_msg_id: 'e5', conversation_id: "x' OR 1=1 --", content: 'hi' }), 'invalid_frame'],
      [JSON.stringify({ type: 'send_message', client_msg_id: 'e6', conversation_id: conversationId, content: 'hi', content_type: 'exe' }), 'invalid_frame'],
      [JSON.stringify({ type: 'mark_read', conversation_id: conversationId, up_to_seq: -1 }), 'invalid_frame'],
      [JSON.stringify({ type: 'mark_read', conversation_id: conversationId, up_to_seq: 'all' }), 'invalid_frame'],
      [JSON.stringify({ type: 'sync', cursor: 'abc' }), 'invalid_frame'],
      [JSON.stringify({ type: 'sync', limit: 1e9 }), 'invalid_frame'],
      [Buffer.from([0xff, 0xfe, 0xfd]), 'invalid_frame'],
      [`{"type":"send_message","client_msg_id":"e7","conversation_id":"${conversationId}","content":"\\ud800"}`, 'invalid_frame'],
    ];
    for (const [raw] of garbage) device.socket.send(raw, { binary: false });
    device.socket.send(Buffer.from('{"type":"ping"}'), { binary: true });
    const errors = await device.waitFor('error', () => true, garbage.length + 1);
    assert.deepEqual(
      errors.slice(0, garbage.length).map((e) => e.code),
      garbage.map(([, code]) => code),
    );
    assert.equal(errors[6]!.client_msg_id, 'e1', 'errors name the client_msg_id they refer to');
    assert.match(errors[6]!.message, /content/);
    assert.equal(device.open, true);
    const ack = await device.sendMessage(conversationId, 'still here');
    assert.equal(ack.seq, 1, 'nothing was appended by the bad frames');
    await device.close();
  });

  it('closes only the offending socket with 1009 for an oversized frame', async () => {
    const healthy = await Device.connect(server.wsUrl, await server.token('bea'), 'phone');
    const offender = await Device.connect(server.wsUrl, await server.token('ada'), 'laptop');
    offender.send({ type: 'send_message', client_msg_id: 'big', conversation_id: conversationId, content: 'x'.repeat(40_000) });
    await new Promise<void>((resolve) => offender.socket.once('close', () => resolve()));
    assert.equal(offender.closeCode, 1009);
    assert.equal(healthy.open, true);
    healthy.send({ type: 'ping' });
    await healthy.waitFor('pong');
    await healthy.close();
  });

  it('answers bad REST requests with a status and {"error":{"code","message"}}', async () => {
    const cases: Array<[string, string, unknown, number, string, Record<string, string>?]> = [
      ['POST', '/v1/conversations', '{"type":', 400, 'invalid_json'],
      ['POST', '/v1/conversations', { type: 'channel' }, 400, 'invalid_request'],
      ['POST', '/v1/conversations', { type: 'direct', peer_id: 'ada' }, 400, 'invalid_request'],
      ['POST', '/v1/conversations', { type: 'direct', peer_id: 'a/b' }, 400, 'invalid_request'],
      ['POST', '/v1/conversations', { type: 'group', title: '', member_ids: [] }, 400, 'invalid_request'],
      ['POST', '/v1/conversations', 'type=direct', 415, 'unsupported_media_type', { 'content-type': 'application/x-www-form-urlencoded' }],
      ['POST', `/v1/conversations/${conversationId}/messages`, '{"client_msg_id":"r3","content":"\\ud800"}', 400, 'invalid_request'],
      ['POST', `/v1/conversations/${conversationId}/messages`, { client_msg_id: 'r1' }, 400, 'invalid_request'],
      ['POST', `/v1/conversations/${conversationId}/messages`, { client_msg_id: 'r1', content: 'x', sneaky: 1 }, 400, 'invalid_request'],
      ['POST', `/v1/conversations/${conversationId}/messages`, { client_msg_id: 'r2', content: 'x'.repeat(2_000_000) }, 413, 'payload_too_large'],
      ['GET', `/v1/conversations/${conversationId}/messages?limit=0`, undefined, 400, 'invalid_request'],
      ['GET', `/v1/conversations/${conversationId}/messages?limit=201`, undefined, 400, 'invalid_request'],
      ['GET', `/v1/conversations/${conversationId}/messages?before=-5`, undefined, 400, 'invalid_request'],
      ['GET', `/v1/conversations/${conversationId}/messages?after=1e300`, undefined, 400, 'invalid_request'],
      ['GET', '/v1/conversations/..%2F..%2Fetc/messages', undefined, 400, 'invalid_request'],
      ['GET', '/v1/nope', undefined, 404, 'not_found'],
    ];
    for (const [method, path, body, status, code, headers] of cases) {
      const reply = await client.call(method, path, body, headers);
      assert.equal(reply.status, status, `${method} ${path} -> ${JSON.stringify(reply.body)}`);
      assert.equal(reply.body.error.code, code, `${method} ${path}`);
      assert.equal(typeof reply.body.error.message, 'string');
    }
    const history = await client.get(`/v1/conversations/${conversationId}/messages`);
    assert.deepEqual(
      history.body.items.map((m: any) => m.content),
      ['still here'],
    );
    assert.ok(!history.body.items.some((m: any) => m.client_msg_id === 'r1' || m.client_msg_id === 'r2'));
  });

  it('survives a socket that disconnects in the middle of its commands', async () => {
    const socket = new WebSocket(`${server.wsUrl}/v1/ws?token=${await server.token('ada')}`);
    await new Promise((resolve) => socket.once('open', resolve));
    for (let i = 0; i < 50; i++)
      socket.send(JSON.stringify({ type: 'send_message', client_msg_id: `gone${i}`, conversation_id: conversationId, content: 'bye' }));
    socket.terminate();
    await new Promise((r) => setTimeout(r, 200));
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
  });
});

import { it } from 'node:test';
import assert from 'node:assert/strict';
import { Compile } from 'typebox/compile';
import { startNatter, rest } from '../support/natter.ts';
import { Device, type Frame } from '../support/ws-client.ts';

type Validator = { Check(value: unknown): boolean; Errors(value: unknown): Iterable<unknown> };
const compiled = new Map<unknown, Validator>();
const validate = (schema: unknown, value: unknown, what: string) => {
  let validator = compiled.get(schema);
  if (!validator) compiled.set(schema, (validator = Compile(schema as never) as unknown as Validator));
  assert.ok(
    validator.Check(value),
    `${what} does not match its published schema: ${JSON.stringify([...validator.Errors(value)].slice(0, 3))}\n${JSON.stringify(value)}`,
  );
};

/**
 * A short scripted session against a real server. Every REST reply and every frame, both ways, is
 * checked against the documents the server publishes (which a unit test keeps equal to docs/), so
 * the documents describe the traffic and not only the code.
 */
it('real REST replies and socket frames match the published OpenAPI and AsyncAPI schemas', async () => {
  const server = await startNatter({ NATTER_PRESENCE_THROTTLE_MS: '0' });
  const openapi = (await (await fetch(`${server.url}/docs/json`)).json()) as any;
  const asyncapi = (await (await fetch(`${server.url}/asyncapi.json`)).json()) as any;
  const devices: Device[] = [];
  try {
    const tokens = { amy: await server.token('amy'), ben: await server.token('ben') };
    let restChecks = 0;
    /** One REST call, checked against the response schema of its path template, method and status. */
    const call = async (
      user: keyof typeof tokens,
      method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
      template: string,
      params: Record<string, string> = {},
      body?: unknown,
    ) => {
      const path = template.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(params[name]!));
      const reply = await rest(server.url, tokens[user]).call(method, path.split('?')[0] + (params.query ?? ''), body);
      const responses = openapi.paths[template]?.[method.toLowerCase()]?.responses;
      assert.ok(responses, `${method} ${template} is documented`);
      const documented = responses[reply.status] ?? responses[`${String(reply.status)[0]}XX`];
      assert.ok(documented, `${method} ${template} documents status ${reply.status}`);
      const schema = documented.content?.['application/json']?.schema;
      if (schema) validate(schema, reply.body, `${method} ${template} ${reply.status}`);
      else assert.equal(reply.body, undefined, `${method} ${template} ${reply.status} has no documented body`);
      restChecks++;
      return reply;
    };

    await call('amy', 'POST', '/v1/auth/dev-token', {}, { user_id: 'amy' });
    const amy = await Device.connect(server.wsUrl, tokens.amy, 'laptop');
    devices.push(amy);
    const sent: Frame[] = [];
    const send = (device: Device, frame: Frame) => {
      sent.push(frame);
      device.send(frame);
    };

    const direct = (await call('amy', 'POST', '/v1/conversations', {}, { type: 'direct', peer_id: 'ben' })).body;
    await call('amy', 'POST', '/v1/conversations', {}, { type: 'direct', peer_id: 'ben' });
    const group = (await call('amy', 'POST', '/v1/conversations', {}, { type: 'group', title: 'wire', member_ids: ['ben', 'cy'] })).body;
    const ben = await Device.connect(server.wsUrl, tokens.ben, 'phone');
    devices.push(ben);
    await amy.waitFor('presence', (f) => f.user_id === 'ben');

    send(ben, { type: 'sync' });
    await ben.waitFor('sync_done');
    send(amy, { type: 'send_message', conversation_id: direct.conversation_id, client_msg_id: 'w-1', content: 'hello' });
    await amy.waitFor('ack');
    await ben.waitFor('new_message');
    send(ben, { type: 'mark_delivered', conversation_id: direct.conversation_id, up_to_seq: 1 });
    send(ben, { type: 'mark_read', conversation_id: direct.conversation_id, up_to_seq: 1 });
    await amy.waitFor('message_status', (f) => f.status === 'read');
    send(ben, { type: 'typing', conversation_id: direct.conversation_id, state: 'start' });
    await amy.waitFor('typing');
    send(amy, { type: 'ping' });
    await amy.waitFor('pong');
    amy.send({ type: 'send_message', conversation_id: direct.conversation_id, client_msg_id: 'w-2' });
    await amy.waitFor('error');

    const id = { id: direct.conversation_id };
    await call('ben', 'POST', '/v1/conversations/{id}/messages', id, { client_msg_id: 'w-3', content: 'over rest' });
    await call('ben', 'POST', '/v1/conversations/{id}/messages', id, { client_msg_id: 'w-3', content: 'over rest' });
    await call('ben', 'POST', '/v1/conversations/{id}/read', id, { up_to_seq: 2 });
    await call('ben', 'POST', '/v1/conversations/{id}/delivered', id, { up_to_seq: 2 });
    await call('ben', 'GET', '/v1/conversations/{id}/messages', { ...id, query: '?limit=10' });
    await call('ben', 'GET', '/v1/conversations/{id}/receipts', id);
    await call('ben', 'GET', '/v1/conversations/{id}', id);
    await call('ben', 'GET', '/v1/conversations');
    await call('ben', 'GET', '/v1/sync');
    await call('ben', 'GET', '/v1/users/{id}/presence', { id: 'amy' });
    await call('amy', 'POST', '/v1/conversations/{id}/members', { id: group.conversation_id }, { user_ids: ['dee'] });
    await call('amy', 'DELETE', '/v1/conversations/{id}/members/{user_id}', { id: group.conversation_id, user_id: 'dee' });
    await call('ben', 'GET', '/v1/conversations/{id}', { id: 'nope' });
    await call('ben', 'POST', '/v1/conversations/{id}/messages', id, { content: 'no client_msg_id' });

    // After a message is sent: edits, deletes, reactions and a reply, over both REST and the socket.
    const msg = { ...id, seq: '1' };
    await call('amy', 'PATCH', '/v1/conversations/{id}/messages/{seq}', msg, { content: 'hello again' });
    await call('ben', 'PATCH', '/v1/conversations/{id}/messages/{seq}', msg, { content: 'not mine' });
    await call('ben', 'PUT', '/v1/conversations/{id}/messages/{seq}/reactions/{emoji}', { ...msg, emoji: '👍' });
    await call('ben', 'DELETE', '/v1/conversations/{id}/messages/{seq}/reactions/{emoji}', { ...msg, emoji: '👍' });
    await call('ben', 'POST', '/v1/conversations/{id}/messages', id, { client_msg_id: 'w-4', content: 'hi @amy', reply_to_seq: 1, mentions: ['amy'] });
    await call('ben', 'GET', '/v1/conversations/{id}/messages/{seq}/replies', { ...msg, query: '?limit=10' });
    send(amy, { type: 'edit_message', conversation_id: direct.conversation_id, seq: 1, content: 'hello, again', request_id: 'r-1' });
    send(ben, { type: 'react', conversation_id: direct.conversation_id, seq: 1, emoji: '🎉', op: 'add', request_id: 'r-2' });
    send(ben, { type: 'edit_message', conversation_id: direct.conversation_id, seq: 1, content: 'still not mine', request_id: 'r-3' });
    await amy.waitFor('ok', (f) => f.request_id === 'r-1');
    await ben.waitFor('error', (f) => f.request_id === 'r-3');
    await amy.waitFor('reaction', (f) => f.emoji === '🎉');
    send(ben, { type: 'delete_message', conversation_id: direct.conversation_id, seq: 2, request_id: 'r-4' });
    await amy.waitFor('message_updated', (f) => f.deleted === true);
    await call('ben', 'DELETE', '/v1/conversations/{id}/messages/{seq}', { ...id, seq: '2' });
    await call('amy', 'GET', '/v1/conversations');
    await ben.waitFor('conversation_updated', (f) => f.removed === undefined, 2);

    // Governance: a rename and admin changes (conversation_updated with admins), mute (the inbox shows it), blocks, privacy.
    const crew = { id: group.conversation_id };
    await call('amy', 'PATCH', '/v1/conversations/{id}', crew, { title: 'wire crew' });
    await call('ben', 'PATCH', '/v1/conversations/{id}', crew, { title: 'not an admin' });
    await call('amy', 'PUT', '/v1/conversations/{id}/admins/{user_id}', { ...crew, user_id: 'ben' });
    await call('amy', 'DELETE', '/v1/conversations/{id}/admins/{user_id}', { ...crew, user_id: 'amy' });
    await call('ben', 'DELETE', '/v1/conversations/{id}/admins/{user_id}', { ...crew, user_id: 'ben' });
    await ben.waitFor('conversation_updated', (f) => f.conversation_id === crew.id && f.admins.length === 1 && f.admins[0] === 'ben');
    await call('ben', 'PUT', '/v1/conversations/{id}/mute', crew, { until: Date.now() + 60_000 });
    await call('ben', 'PUT', '/v1/conversations/{id}/mute', crew, { until: Date.now() - 60_000 });
    await call('ben', 'GET', '/v1/conversations');
    await call('ben', 'DELETE', '/v1/conversations/{id}/mute', crew);
    await call('amy', 'PUT', '/v1/users/me/blocks/{user_id}', { user_id: 'ben' });
    await call('amy', 'GET', '/v1/users/me/blocks');
    send(ben, { type: 'send_message', conversation_id: direct.conversation_id, client_msg_id: 'w-blocked', content: 'let me in' });
    await ben.waitFor('error', (f) => f.client_msg_id === 'w-blocked' && f.code === 'blocked');
    await call('ben', 'POST', '/v1/conversations/{id}/messages', id, { client_msg_id: 'w-blocked-rest', content: 'let me in' });
    await call('amy', 'DELETE', '/v1/users/me/blocks/{user_id}', { user_id: 'ben' });
    await call('amy', 'PUT', '/v1/users/me/privacy', {}, { last_seen: 'contacts' });
    await call('amy', 'PUT', '/v1/users/me/privacy', {}, { last_seen: 'friends' });

    for (const frame of sent) validate(asyncapi.components.messages[`client_${frame.type}`]?.payload, frame, `client frame ${frame.type}`);
    const received = [...amy.frames, ...ben.frames];
    for (const frame of received) {
      const message = asyncapi.components.messages[`server_${frame.type}`];
      assert.ok(message, `server frame type ${frame.type} is documented`);
      validate(message.payload, frame, `server frame ${frame.type}`);
    }
    const ack = amy.of('ack')[0]!;
    assert.throws(() => validate(asyncapi.components.messages.server_ack.payload, { ...ack, seq: 0 }, 'a corrupted ack'), 'the check is not vacuous');
    const seen = new Set(received.map((f) => f.type));
    for (const type of [
      'ack',
      'new_message',
      'message_status',
      'conversation_updated',
      'sync_done',
      'error',
      'pong',
      'typing',
      'presence',
      'ok',
      'message_updated',
      'reaction',
    ]) {
      assert.ok(seen.has(type), `the session produced a ${type} frame`);
    }
    assert.equal(restChecks, 41);
  } finally {
    for (const device of devices) device.socket.terminate();
    await server.close();
  }
});

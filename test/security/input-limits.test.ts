import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startNatter, rest, type Server } from '../support/natter.ts';
import { Device } from '../support/ws-client.ts';

// Input limits beyond test/e2e/bad-input: pathological sizes and shapes. Each request gets a clear
// 4xx (or an error frame), changes nothing, and costs bounded time and memory.

const deepArrays = (n: number) => '['.repeat(n) + ']'.repeat(n);
const deepObjects = (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;
const many = (n: number, prefix = 'u') => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
// biome-ignore lint/suspicious/noTemplateCurlyInString: a Log4Shell-style lookup, on purpose
const log4shell = '${jndi:ldap://x}';
const hostile = [
  '../../etc/passwd',
  '..',
  '%2e%2e%2f',
  "x' OR '1'='1",
  'x"; DROP TABLE messages; --',
  "'; TRUNCATE natter.history; --",
  'a\u0000b',
  'a\nb',
  'a\rb',
  'a\tb',
  '\u001b[31mred',
  'a b',
  'ü',
  '\u202eevil',
  'a/b',
  'a\\b',
  log4shell,
  '{{7*7}}',
  '*',
  'x'.repeat(10_000),
];
/** Ids a client may legitimately choose: client_msg_id is any printable ASCII (it is opaque to the server). */
const validClientMsgId = (id: string) => /^[\x21-\x7e]{1,128}$/.test(id);
const mb = (bytes: number) => Math.round(bytes / 1024 / 1024);

describe('input limits: sizes, shapes and hostile ids', () => {
  let server: Server;
  let ada: ReturnType<typeof rest>;
  let conv: string;
  let snapshot: () => Promise<unknown>;

  before(async () => {
    server = await startNatter({ NATTER_MAX_GROUP_MEMBERS: '1000' });
    ada = rest(server.url, await server.token('ada'));
    conv = (await ada.post('/v1/conversations', { type: 'group', title: 'limits', member_ids: ['bea'] })).body.conversation_id;
    assert.equal((await ada.post(`/v1/conversations/${conv}/messages`, { client_msg_id: 'seed', content: 'seed' })).status, 201);
    snapshot = async () => ({
      inbox: (await ada.get('/v1/conversations')).body,
      history: (await ada.get(`/v1/conversations/${conv}/messages`)).body,
      receipts: (await ada.get(`/v1/conversations/${conv}/receipts`)).body,
      members: (await ada.get(`/v1/conversations/${conv}`)).body,
      beaInbox: (await rest(server.url, await server.token('bea')).get('/v1/conversations')).body,
    });
  });
  after(async () => {
    await server.close();
  });

  it('answers every pathological REST request with a clear 4xx, in bounded time and memory, and changes nothing', async () => {
    const before = await snapshot();
    const rssBefore = process.memoryUsage().rss;
    const msgs = `/v1/conversations/${conv}/messages`;
    type Case = [label: string, method: string, path: string, body: unknown, statuses: number[], codes: string[], headers?: Record<string, string>];
    const cases: Case[] = [
      ['100k nested arrays', 'POST', '/v1/conversations', deepArrays(100_000), [400], ['invalid_request', 'invalid_json']],
      ['100k nested arrays in a field', 'POST', msgs, `{"client_msg_id":"d1","content":${deepArrays(100_000)}}`, [400], ['invalid_request']],
      ['100k nested objects', 'POST', msgs, deepObjects(100_000), [400], ['invalid_request', 'invalid_json']],
      ['a 5 MB body', 'POST', msgs, JSON.stringify({ client_msg_id: 'big', content: 'x'.repeat(5_000_000) }), [413], ['payload_too_large']],
      ['a 1 MB string of numbers', 'POST', msgs, `[${'1,'.repeat(400_000)}1]`, [400], ['invalid_request']],
      ['10,000 members in a new group', 'POST', '/v1/conversations', { type: 'group', title: 't', member_ids: many(10_000) }, [422], ['group_too_large']],
      ['10,001 members in a new group', 'POST', '/v1/conversations', { type: 'group', title: 't', member_ids: many(10_001) }, [400], ['invalid_request']],
      ['10,000 members added', 'POST', `/v1/conversations/${conv}/members`, { user_ids: many(10_000) }, [422], ['group_too_large']],
      ['10,000 bad members added', 'POST', `/v1/conversations/${conv}/members`, { user_ids: many(10_000, '../') }, [400], ['invalid_request']],
      ['a number as client_msg_id', 'POST', msgs, { client_msg_id: 5, content: 'x' }, [400], ['invalid_request']],
      ['an array as content', 'POST', msgs, { client_msg_id: 'w1', content: ['x'] }, [400], ['invalid_request']],
      ['an object as content', 'POST', msgs, { client_msg_id: 'w2', content: { text: 'x' } }, [400], ['invalid_request']],
      ['a boolean as content', 'POST', msgs, { client_msg_id: 'w3', content: true }, [400], ['invalid_request']],
      ['null as content', 'POST', msgs, { client_msg_id: 'w4', content: null }, [400], ['invalid_request']],
      ['a string as up_to_seq', 'POST', `/v1/conversations/${conv}/read`, { up_to_seq: '1' }, [400], ['invalid_request']],
      ['a float as up_to_seq', 'POST', `/v1/conversations/${conv}/read`, { up_to_seq: 1.5 }, [400], ['invalid_request']],
      ['a string as user_ids', 'POST', `/v1/conversations/${conv}/members`, { user_ids: 'cal' }, [400], ['invalid_request']],
      ['a number as peer_id', 'POST', '/v1/conversations', { type: 'direct', peer_id: 7 }, [400], ['invalid_request']],
      ['an unknown field', 'POST', msgs, { client_msg_id: 'u1', content: 'x', priority: 'high' }, [400], ['invalid_request']],
      ['__proto__', 'POST', msgs, '{"client_msg_id":"p1","content":"x","__proto__":{"admin":true}}', [400], ['invalid_json', 'invalid_request']],
      [
        'invalid UTF-8',
        'POST',
        msgs,
        Buffer.from([...Buffer.from('{"client_msg_id":"u8","content":"'), 0xc3, 0x28, 0xff, ...Buffer.from('"}')]),
        [400],
        ['invalid_json'],
      ],
      [
        'overlong UTF-8',
        'POST',
        msgs,
        Buffer.from([...Buffer.from('{"client_msg_id":"u9","content":"'), 0xc0, 0xaf, ...Buffer.from('"}')]),
        [400],
        ['invalid_json'],
      ],
      ['a lone surrogate', 'POST', msgs, '{"client_msg_id":"u10","content":"a\\udc00"}', [400], ['invalid_request']],
      ['JSON with a BOM and trailing junk', 'POST', msgs, '{"client_msg_id":"j1","content":"x"} trailing', [400], ['invalid_json']],
      ['limit=-1', 'GET', `${msgs}?limit=-1`, undefined, [400], ['invalid_request']],
      ['limit=1e9', 'GET', `${msgs}?limit=1000000000`, undefined, [400], ['invalid_request']],
      ['limit=NaN', 'GET', `${msgs}?limit=NaN`, undefined, [400], ['invalid_request']],
      ['limit=Infinity', 'GET', `${msgs}?limit=Infinity`, undefined, [400], ['invalid_request']],
      ['before=0', 'GET', `${msgs}?before=0`, undefined, [400], ['invalid_request']],
      ['before=-9e99', 'GET', `${msgs}?before=-9e99`, undefined, [400], ['invalid_request']],
      ['after=9e99', 'GET', `${msgs}?after=9e99`, undefined, [400], ['invalid_request']],
      ['before=Infinity', 'GET', `${msgs}?before=Infinity`, undefined, [400], ['invalid_request']],
      ['limit=1e400', 'GET', `${msgs}?limit=1e400`, undefined, [400], ['invalid_request']],
      ['sync limit=Infinity', 'GET', '/v1/sync?limit=Infinity', undefined, [400], ['invalid_request']],
      ['inbox limit=-Infinity', 'GET', '/v1/conversations?limit=-Infinity', undefined, [400], ['invalid_request']],
      ['two limits', 'GET', `${msgs}?limit=1&limit=2`, undefined, [400], ['invalid_request']],
      ['an unknown query field', 'GET', `${msgs}?limit=1&where=1%3D1`, undefined, [400], ['invalid_request']],
      ['inbox limit=0', 'GET', '/v1/conversations?limit=0', undefined, [400], ['invalid_request']],
      ['inbox limit=201', 'GET', '/v1/conversations?limit=201', undefined, [400], ['invalid_request']],
      ['a 10 KB inbox cursor', 'GET', `/v1/conversations?cursor=${'A'.repeat(10_000)}`, undefined, [400], ['invalid_request']],
      ['sync cursor=-1', 'GET', '/v1/sync?cursor=-1', undefined, [400], ['invalid_request']],
      ['sync cursor with 17 digits', 'GET', '/v1/sync?cursor=12345678901234567', undefined, [400], ['invalid_request']],
      ['sync limit=5001', 'GET', '/v1/sync?limit=5001', undefined, [400], ['invalid_request']],
      ['bad percent-encoding', 'GET', '/v1/conversations/%zz%c3/messages', undefined, [400], ['invalid_request']],
      ['an 8 KB id', 'GET', `/v1/conversations/${'a'.repeat(8_000)}`, undefined, [400], ['invalid_request']],
    ];
    for (const id of hostile) {
      const enc = encodeURIComponent(id);
      cases.push(
        [
          `conversation id ${JSON.stringify(id.slice(0, 20))}`,
          'GET',
          `/v1/conversations/${enc}/messages`,
          undefined,
          [400, 404],
          ['invalid_request', 'not_found'],
        ],
        [
          `member id ${JSON.stringify(id.slice(0, 20))}`,
          'DELETE',
          `/v1/conversations/${conv}/members/${enc}`,
          undefined,
          [400, 404],
          ['invalid_request', 'not_found'],
        ],
        [`media id ${JSON.stringify(id.slice(0, 20))}`, 'GET', `/v1/media/${enc}`, undefined, [400, 404], ['invalid_request', 'not_found']],
        [`key owner ${JSON.stringify(id.slice(0, 20))}`, 'GET', `/v1/keys/${enc}`, undefined, [400, 404], ['invalid_request', 'not_found']],
        [`device id ${JSON.stringify(id.slice(0, 20))}`, 'GET', `/v1/devices/${enc}/push`, undefined, [400, 404], ['invalid_request', 'not_found']],
        [`peer ${JSON.stringify(id.slice(0, 20))}`, 'POST', '/v1/conversations', { type: 'direct', peer_id: id }, [400], ['invalid_request']],
        [`member_ids ${JSON.stringify(id.slice(0, 20))}`, 'POST', `/v1/conversations/${conv}/members`, { user_ids: [id] }, [400], ['invalid_request']],
      );
      if (!validClientMsgId(id))
        cases.push([`client_msg_id ${JSON.stringify(id.slice(0, 20))}`, 'POST', msgs, { client_msg_id: id, content: 'x' }, [400], ['invalid_request']]);
    }
    const token = await server.token('ada');
    const rawPost = async (path: string, bytes: Buffer) => {
      const response = await fetch(`${server.url}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: bytes,
      });
      return { status: response.status, body: (await response.json()) as any };
    };
    let slowest = { label: '', ms: 0 };
    for (const [label, method, path, body, statuses, codes, headers] of cases) {
      const started = performance.now();
      const reply = Buffer.isBuffer(body) ? await rawPost(path, body) : await rest(server.url, await server.token('ada')).call(method, path, body, headers);
      const ms = performance.now() - started;
      if (ms > slowest.ms) slowest = { label, ms };
      assert.ok(statuses.includes(reply.status), `${label}: ${reply.status} ${JSON.stringify(reply.body)?.slice(0, 200)}`);
      if (reply.body?.error) {
        assert.ok(codes.includes(reply.body.error.code), `${label}: ${reply.body.error.code}`);
        assert.equal(typeof reply.body.error.message, 'string');
        assert.ok(reply.body.error.message.length < 2_000, `${label}: the error message echoes the input`);
      }
      assert.ok(ms < 5_000, `${label} took ${ms} ms`);
    }
    // Beyond Node's header limit (16 KB), the request is refused before any route sees it.
    const hugeUrl = await fetch(`${server.url}/v1/conversations/${'a'.repeat(100_000)}`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(hugeUrl.status, 431);
    const growth = process.memoryUsage().rss - rssBefore;
    console.log(`# ${cases.length} hostile REST requests; slowest: ${slowest.label} (${slowest.ms.toFixed(0)} ms); rss +${mb(growth)} MB`);
    assert.ok(growth < 300 * 1024 * 1024, `rss grew by ${mb(growth)} MB`);
    assert.deepEqual(await snapshot(), before, 'nothing changed');
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
  });

  it('answers every pathological frame with an error frame, keeps the socket open, and changes nothing', async () => {
    const before = await snapshot();
    const device = await Device.connect(server.wsUrl, await server.token('ada'));
    const rssBefore = process.memoryUsage().rss;
    const frame = (over: Record<string, unknown>) => JSON.stringify({ type: 'send_message', client_msg_id: 'f', conversation_id: conv, content: 'x', ...over });
    const cases: Array<[string, string | Buffer]> = [
      ['30k nested arrays', deepArrays(30_000)],
      ['30k nested arrays in a field', `{"type":"sync","cursor":${deepArrays(30_000)}}`],
      ['10k nested objects', deepObjects(10_000)],
      ['10,000-element content', frame({ content: many(5_000) })],
      ['a number as content', frame({ content: 5 })],
      ['a string as up_to_seq', JSON.stringify({ type: 'mark_read', conversation_id: conv, up_to_seq: '1' })],
      ['a huge up_to_seq', JSON.stringify({ type: 'mark_read', conversation_id: conv, up_to_seq: 1e300 })],
      ['a negative sync limit', JSON.stringify({ type: 'sync', limit: -1 })],
      ['a huge sync limit', JSON.stringify({ type: 'sync', limit: 2 ** 53 })],
      ['a numeric cursor', JSON.stringify({ type: 'sync', cursor: 5 })],
      ['an unknown field', frame({ admin: true })],
      ['__proto__', `{"type":"ping","__proto__":{"polluted":1}}`],
      ['constructor.prototype', `{"type":"ping","constructor":{"prototype":{"polluted":1}}}`],
      ['duplicate type keys', '{"type":"ping","type":"send_message"}'],
      ['invalid UTF-8', Buffer.from([...Buffer.from('{"type":"ping","x":"'), 0xed, 0xa0, 0x80, ...Buffer.from('"}')])],
      ['a type of 60 KB', JSON.stringify({ type: 'x'.repeat(60_000) })],
      ...hostile.flatMap(
        (id): Array<[string, string]> => [
          [`conversation_id ${JSON.stringify(id.slice(0, 20))}`, frame({ conversation_id: id })],
          ...(validClientMsgId(id) ? [] : [[`client_msg_id ${JSON.stringify(id.slice(0, 20))}`, frame({ client_msg_id: id })] as [string, string]]),
          [`typing in ${JSON.stringify(id.slice(0, 20))}`, JSON.stringify({ type: 'typing', conversation_id: id, state: 'start' })],
        ],
      ),
    ];
    const errorsBefore = device.of('error').length;
    for (const [, raw] of cases) device.socket.send(raw, { binary: false });
    // `duplicate type keys` parses as a send_message without its fields; each case gets one error frame.
    const errors = (await device.waitFor('error', () => true, errorsBefore + cases.length, 20_000)).slice(errorsBefore);
    for (const [i, [label]] of cases.entries()) {
      assert.ok(['invalid_frame', 'invalid_json'].includes(errors[i]!.code), `${label}: ${JSON.stringify(errors[i]).slice(0, 200)}`);
      assert.ok(errors[i]!.message.length < 2_000, `${label}: the error echoes the input`);
    }
    assert.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype pollution');
    assert.equal(device.open, true);
    device.send({ type: 'ping' });
    await device.waitFor('pong');
    const growth = process.memoryUsage().rss - rssBefore;
    console.log(`# ${cases.length} hostile frames; rss +${mb(growth)} MB`);
    assert.ok(growth < 300 * 1024 * 1024);
    await device.close();
    assert.deepEqual(await snapshot(), before, 'nothing changed');
  });

  it('closes only the sender of an oversized frame (1009) and of a 10 MB one, and stays bounded', async () => {
    const other = await Device.connect(server.wsUrl, await server.token('bea'), 'other');
    for (const size of [65_537, 10 * 1024 * 1024]) {
      const offender = await Device.connect(server.wsUrl, await server.token('ada'), `big${size}`);
      offender.socket.send('x'.repeat(size));
      assert.equal(await offender.closed(10_000), 1009);
    }
    assert.equal(other.open, true);
    other.send({ type: 'ping' });
    await other.waitFor('pong');
    await other.close();
  });
});

// embedded only: /metrics is per process and this file counts what one server saw. In the cluster every gateway
// exposes its own series (scrape each); test/cluster/ownership.cluster.test.ts reads a gateway's routing counters.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startNatter, rest } from '../support/natter.ts';
import { useNatter } from '../support/fixture.ts';
import { Device } from '../support/ws-client.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Sample = { name: string; labels: Record<string, string>; value: number };

/** Parses the Prometheus text exposition format (0.0.4): `name{label="value",…} number`. */
const parse = (text: string): Sample[] =>
  text
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      assert.ok(match, `a well-formed sample line: ${line}`);
      const labels: Record<string, string> = {};
      for (const [, key, value] of match[2]?.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g) ?? []) labels[key!] = value!;
      return { name: match[1]!, labels, value: Number(match[3]) };
    });

describe('observability: /healthz, /readyz and /metrics', () => {
  const { server, connect, devices } = useNatter();
  const scrape = async () => {
    const response = await fetch(`${server.url}/metrics`);
    assert.equal(response.status, 200);
    const text = await response.text();
    return { contentType: response.headers.get('content-type') ?? '', text, samples: parse(text) };
  };
  const value = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
    samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((sum, s) => sum + s.value, 0);
  /** Scrapes until `check` holds (counters move after the reply that caused them), or fails with the last values. */
  const eventually = async (check: (samples: Sample[]) => boolean, what: string) => {
    for (let i = 0; i < 100; i++) {
      const { samples } = await scrape();
      if (check(samples)) return samples;
      await sleep(20);
    }
    assert.fail(`metrics never showed ${what}`);
  };

  it('answers /healthz and /readyz with 200 when ready, without a token', async () => {
    const health = await fetch(`${server.url}/healthz`);
    assert.equal(health.status, 200);
    const ready = await fetch(`${server.url}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { status: 'ready' });
  });

  it('exposes every documented series as Prometheus text', async () => {
    // One message so that the labelled and observed series have samples.
    const client = rest(server.url, await server.token('oa'));
    const { body: conv } = await client.post('/v1/conversations', { type: 'direct', peer_id: 'ob' });
    const device = await connect('oa');
    await device.sendMessage(conv.conversation_id, 'for the histograms');
    device.send('not json');
    await device.waitFor('error');

    const { contentType, text, samples } = await scrape();
    assert.match(contentType, /^text\/plain; version=0\.0\.4/);
    for (const [name, type] of [
      ['natter_open_sockets', 'gauge'],
      ['natter_acks_total', 'counter'],
      ['natter_errors_total', 'counter'],
      ['natter_append_seconds', 'histogram'],
      ['natter_delivery_seconds', 'histogram'],
      ['natter_projector_lag_events', 'gauge'],
      ['natter_frames_in_total', 'counter'],
      ['nodejs_heap_size_used_bytes', 'gauge'],
    ] as const) {
      assert.match(text, new RegExp(`^# HELP ${name} \\S`, 'm'), `${name} has a HELP line`);
      assert.match(text, new RegExp(`^# TYPE ${name} ${type}$`, 'm'), `${name} is a ${type}`);
    }
    const names = new Set(samples.map((s) => s.name));
    for (const name of [
      'natter_open_sockets',
      'natter_acks_total',
      'natter_errors_total',
      'natter_append_seconds_bucket',
      'natter_append_seconds_count',
      'natter_delivery_seconds_bucket',
      'natter_projector_lag_events',
      'natter_frames_in_total',
      'nodejs_heap_size_used_bytes',
    ]) {
      assert.ok(names.has(name), `${name} has a sample`);
    }
    assert.ok(
      samples.some((s) => s.name === 'natter_errors_total' && s.labels.code === 'invalid_json'),
      'errors are labelled by code',
    );
    assert.ok(samples.some((s) => s.name === 'natter_append_seconds_bucket' && s.labels.le === '+Inf'));
    assert.ok(value(samples, 'nodejs_heap_size_used_bytes') > 0);
    assert.ok(value(samples, 'natter_projector_lag_events') >= 0);
  });

  it('moves acks, frames, errors, latency counts and open sockets with the traffic', async () => {
    const client = rest(server.url, await server.token('pa'));
    const { body: conv } = await client.post('/v1/conversations', { type: 'group', title: 'metrics', member_ids: ['pb'] });
    for (const d of devices) d.socket.terminate();
    await eventually((s) => value(s, 'natter_open_sockets') === 0, 'no open sockets after every device left');
    const before = (await scrape()).samples;

    const sender = await connect('pa', 'phone');
    await connect('pa', 'laptop');
    const receiver = await connect('pb', 'phone');
    await eventually((s) => value(s, 'natter_open_sockets') === 3, 'natter_open_sockets = 3 with three sockets open');

    const n = 7;
    for (let i = 0; i < n; i++) await sender.sendMessage(conv.conversation_id, `counted ${i}`);
    await receiver.waitFor('new_message', (f) => f.conversation_id === conv.conversation_id, n);
    sender.send('{"type":"no_such_frame"}');
    sender.send('{"type":"ping","extra":1}');
    await sender.waitFor('error', () => true, 2);

    const after = await eventually(
      (s) => value(s, 'natter_delivery_seconds_count') >= value(before, 'natter_delivery_seconds_count') + n,
      `${n} more deliveries`,
    );
    const delta = (name: string, labels: Record<string, string> = {}) => value(after, name, labels) - value(before, name, labels);
    assert.equal(delta('natter_acks_total'), n);
    assert.equal(delta('natter_frames_in_total', { type: 'send_message' }), n);
    assert.equal(delta('natter_errors_total', { code: 'invalid_frame' }), 2, 'one invalid_frame error per bad frame');
    assert.ok(delta('natter_append_seconds_count') >= n, 'every append is timed');
    assert.equal(delta('natter_delivery_seconds_count'), n, 'one delivery observation per message');
    assert.equal(value(after, 'natter_open_sockets'), 3);

    await receiver.close();
    await eventually((s) => value(s, 'natter_open_sockets') === 2, 'natter_open_sockets = 2 after one socket closed');
    await eventually((s) => value(s, 'natter_projector_lag_events') === 0, 'no projector lag once the traffic stops');
  });

  it('does not count a socket refused for too many connections as open', async () => {
    const limited = await startNatter({ NATTER_MAX_SOCKETS_PER_USER: '1' });
    const local: Device[] = [];
    try {
      const gauge = async () => value(parse(await (await fetch(`${limited.url}/metrics`)).text()), 'natter_open_sockets');
      local.push(await Device.connect(limited.wsUrl, await limited.token('qa', 'one'), 'one'));
      const refused = await Device.connect(limited.wsUrl, await limited.token('qa', 'two'), 'two');
      local.push(refused);
      await refused.waitFor('error', (f) => f.code === 'too_many_connections');
      for (let i = 0; i < 100 && refused.closeCode === null; i++) await sleep(20);
      assert.equal(refused.closeCode, 4009);
      assert.equal(await gauge(), 1);
      await local[0]!.close();
      for (let i = 0; i < 100 && (await gauge()) !== 0; i++) await sleep(20);
      assert.equal(await gauge(), 0, 'the gauge returns to zero, never below');
    } finally {
      for (const d of local) d.socket.terminate();
      await limited.close();
    }
  });
});

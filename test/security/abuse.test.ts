import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { spawnNatter, tempDir, rest, type Spawned } from '../support/natter.ts';
import { Device } from '../support/ws-client.ts';

// Abuse from one user or one client: a connection flood, slow-loris HTTP clients and a socket that
// sends far faster than allowed. Each is bounded, logged and counted in /metrics, and another
// user's messages keep flowing meanwhile (their send-to-receive latency is printed).

const MAX_SOCKETS = 5;
const REQUEST_TIMEOUT_MS = 1_500;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const metricSum = async (url: string, name: string, label = '') => {
  const text = await (await fetch(`${url}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(name) && l.includes(label))
    .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
};

describe('abuse is bounded, logged, counted, and starves nobody', () => {
  let server: Spawned;
  let victimConv: string;
  let victimA: Device;
  let victimB: Device;

  before(async () => {
    server = await spawnNatter(tempDir('natter-abuse-'), {
      NATTER_LOG_LEVEL: 'info',
      NATTER_MAX_SOCKETS_PER_USER: String(MAX_SOCKETS),
      NATTER_MESSAGES_PER_MINUTE: '600',
      NATTER_EPHEMERAL_PER_SECOND: '50',
      NATTER_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
      NATTER_CONNECTION_TIMEOUT_MS: '3000',
      NATTER_KEEP_ALIVE_TIMEOUT_MS: '1000',
    });
    victimConv = (await rest(server.url, await server.token('vic-a')).post('/v1/conversations', { type: 'direct', peer_id: 'vic-b' })).body.conversation_id;
    victimA = await Device.connect(server.wsUrl, await server.token('vic-a', 'phone'), 'phone');
    victimB = await Device.connect(server.wsUrl, await server.token('vic-b', 'phone'), 'phone');
  });
  after(async () => {
    victimA?.socket.terminate();
    victimB?.socket.terminate();
    await server?.close();
  });

  /** Another user's send-to-receive latency while `abuse` runs; printed, and bounded generously. */
  const duringAbuse = async (label: string, abuse: () => Promise<void>) => {
    const latencies: number[] = [];
    let running = true;
    const probe = (async () => {
      for (let i = 0; running || latencies.length < 10; i++) {
        const id = `${label.replace(/\W+/g, '-')}-${i}`;
        const t0 = performance.now();
        victimA.send({ type: 'send_message', conversation_id: victimConv, client_msg_id: id, content: 'still here' });
        await victimB.waitFor('new_message', (m) => m.client_msg_id === id, 1, 10_000);
        latencies.push(performance.now() - t0);
        await sleep(100); // about the refill rate of a 600/min budget, which the victim shares with nobody
      }
    })();
    try {
      await abuse();
    } finally {
      running = false;
      await probe;
    }
    latencies.sort((a, b) => a - b);
    const p50 = latencies[Math.floor(latencies.length / 2)]!;
    const max = latencies.at(-1)!;
    console.log(`# ${label}: another user's send-to-receive latency over ${latencies.length} messages: p50 ${p50.toFixed(1)} ms, max ${max.toFixed(1)} ms`);
    assert.ok(max < 3_000, `${label}: a message of another user took ${max} ms`);
  };

  it('bounds a connection flood from one user by NATTER_MAX_SOCKETS_PER_USER (4009), counted and logged', async () => {
    const before = await metricSum(server.url, 'natter_errors_total', 'code="too_many_connections"');
    const token = await server.token('flooder');
    const sockets: Device[] = [];
    await duringAbuse('connection flood', async () => {
      const attempts = await Promise.allSettled(Array.from({ length: 60 }, (_, i) => Device.connect(server.wsUrl, token, `d${i}`)));
      for (const a of attempts) if (a.status === 'fulfilled') sockets.push(a.value);
      await sleep(300);
    });
    const open = sockets.filter((s) => s.open);
    assert.equal(open.length, MAX_SOCKETS, `${open.length} sockets stayed open`);
    const refused = sockets.filter((s) => !s.open);
    assert.ok(refused.every((s) => s.closeCode === 4009 && s.of('error')[0]?.code === 'too_many_connections'));
    assert.ok((await metricSum(server.url, 'natter_errors_total', 'code="too_many_connections"')) - before >= 55);
    assert.ok((await metricSum(server.url, 'natter_open_sockets')) <= MAX_SOCKETS + 2 + 1);
    assert.match(server.output(), /socket refused: too many connections/);
    for (const s of sockets) s.socket.terminate();
  });

  it('cuts off slow-loris HTTP clients (headers or body trickling, idle sockets) within the request timeout, counted and logged', async () => {
    const before = await metricSum(server.url, 'natter_errors_total', 'code="request_timeout"');
    const { port } = new URL(server.url);
    const closedWithin: number[] = [];
    const sockets: Socket[] = [];
    const slow = (kind: 'headers' | 'body' | 'idle') =>
      new Promise<void>((resolve) => {
        const t0 = Date.now();
        const socket = connect(Number(port), '127.0.0.1');
        sockets.push(socket);
        let timer: NodeJS.Timeout | undefined;
        socket.on('connect', () => {
          if (kind === 'idle') return;
          const head =
            kind === 'headers'
              ? 'GET /v1/conversations HTTP/1.1\r\nHost: x\r\n'
              : 'POST /v1/auth/dev-token HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n';
          socket.write(head);
          timer = setInterval(() => socket.write(kind === 'headers' ? 'X-Slow: 1\r\n' : ' '), 100);
        });
        socket.on('error', () => {});
        socket.on('close', () => {
          clearInterval(timer);
          closedWithin.push(Date.now() - t0);
          resolve();
        });
      });
    await duringAbuse('slow-loris', async () => {
      await Promise.all([
        ...Array.from({ length: 30 }, () => slow('headers')),
        ...Array.from({ length: 30 }, () => slow('body')),
        ...Array.from({ length: 10 }, () => slow('idle')),
      ]);
    });
    for (const s of sockets) s.destroy();
    const slowest = Math.max(...closedWithin);
    console.log(`# slow-loris: 70 slow connections cut off after ${Math.min(...closedWithin)}–${slowest} ms`);
    assert.ok(slowest < 10_000, `a slow client held its connection for ${slowest} ms`);
    assert.ok((await metricSum(server.url, 'natter_errors_total', 'code="request_timeout"')) - before >= 30);
    assert.match(server.output(), /HTTP request timed out \(slow client\)/);
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
  });

  it('refuses frames beyond the rate limits with rate_limited, logs each socket once, counts every refusal, and keeps the socket open', async () => {
    const before = await metricSum(server.url, 'natter_rate_limited_total');
    const logLinesBefore = server.output().split('socket over its rate limit').length;
    const flooders = await Promise.all([0, 1].map(async (i) => Device.connect(server.wsUrl, await server.token('spammer', `s${i}`), `s${i}`)));
    const { body: conv } = await rest(server.url, await server.token('spammer')).post('/v1/conversations', { type: 'direct', peer_id: 'spam-target' });
    await duringAbuse('frame flood', async () => {
      for (let burst = 0; burst < 10; burst++) {
        for (const device of flooders) {
          for (let i = 0; i < 300; i++) device.send({ type: 'ping' });
          for (let i = 0; i < 100; i++)
            device.send({ type: 'send_message', conversation_id: conv.conversation_id, client_msg_id: `spam-${burst}-${i}`, content: 'spam' });
        }
        await sleep(50);
      }
      const last = flooders.map((d) => d.of('error').length);
      await sleep(300);
      assert.deepEqual(
        flooders.map((d) => d.of('error').length),
        last,
        'the flood has been answered',
      );
    });
    const refused = flooders.flatMap((d) => d.of('error', (e) => e.code === 'rate_limited'));
    assert.ok(refused.length > 5_000, `${refused.length} refusals`);
    assert.ok(refused.every((e) => typeof e.retry_after_ms === 'number'));
    assert.ok(
      flooders.every((d) => d.open),
      'a rate-limited socket stays open',
    );
    const counted = (await metricSum(server.url, 'natter_rate_limited_total')) - before;
    assert.ok(counted >= refused.length, `metrics counted ${counted} of ${refused.length}`);
    const logged = server.output().split('socket over its rate limit').length - logLinesBefore;
    assert.ok(logged >= 1 && logged <= flooders.length, `${logged} log lines for ${refused.length} refusals`);
    const history = (await rest(server.url, await server.token('spammer')).get(`/v1/conversations/${conv.conversation_id}/messages?limit=200`)).body.items;
    assert.ok(history.length <= 600 + 10, `${history.length} messages got through a 600/min budget`);
    for (const d of flooders) d.socket.terminate();
  });
});

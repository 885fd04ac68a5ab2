import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnNatter, startNatter, tempDir, rest, type Spawned, allMessages } from '../support/natter.ts';
import { Device, rawUpgrade, type Frame } from '../support/ws-client.ts';

const DRAIN_TIMEOUT_MS = 2_500;
const DRAIN_JITTER_MS = 400;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const exited = (server: Spawned, timeoutMs: number) =>
  new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    const child = server.process;
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve({ code: child.exitCode, signal: child.signalCode });
      return;
    }
    const timer = setTimeout(() => reject(new Error(`the server did not exit within ${timeoutMs} ms; output: ${server.output().slice(-2000)}`)), timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
  });

/** Polls /readyz until it answers `status` (the drain starts as soon as the signal is handled). */
const readyzBecomes = async (url: string, status: number, timeoutMs = 3_000) => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await fetch(`${url}/readyz`);
    const body = (await response.json()) as { status: string };
    if (response.status === status) return body;
    if (Date.now() > deadline) throw new Error(`/readyz still answers ${response.status}`);
    await sleep(10);
  }
};

describe('graceful drain on SIGTERM', () => {
  const servers: Spawned[] = [];
  const devices: Device[] = [];
  after(async () => {
    for (const d of devices) d.socket.terminate();
    for (const s of servers) if (s.process.exitCode === null && s.process.signalCode === null) await s.kill9();
  });

  it('tells every device to go away within the jitter bound, refuses new sockets and answers 503 on /readyz while draining, exits 0, and loses no acked message', async () => {
    const dataDir = tempDir();
    const env = { NATTER_DRAIN_TIMEOUT_MS: String(DRAIN_TIMEOUT_MS), NATTER_DRAIN_JITTER_MS: String(DRAIN_JITTER_MS) };
    const server = await spawnNatter(dataDir, env);
    servers.push(server);
    assert.deepEqual(await readyzBecomes(server.url, 200), { status: 'ready' });
    const { body: group } = await rest(server.url, await server.token('da')).post('/v1/conversations', {
      type: 'group',
      title: 'drain',
      member_ids: ['db', 'dc'],
    });
    const id = group.conversation_id as string;
    const lateToken = await server.token('dd');

    const sender = await Device.connect(server.wsUrl, await server.token('da', 'phone'), 'phone');
    const receivers = [
      await Device.connect(server.wsUrl, await server.token('db', 'phone'), 'phone'),
      await Device.connect(server.wsUrl, await server.token('db', 'laptop'), 'laptop'),
    ];
    // This one ignores goaway, so the drain stays open until its timeout.
    const holder = await Device.connect(server.wsUrl, await server.token('dc', 'phone'), 'phone');
    const everyone = [sender, ...receivers, holder];
    devices.push(...everyone);
    // Well-behaved clients leave when told to, the sender with some of its sends still unacknowledged.
    for (const device of [sender, ...receivers])
      device.socket.on('message', (data) => {
        if (JSON.parse(String(data)).type === 'goaway') device.socket.close();
      });

    // A burst that is still being sent when the signal arrives.
    const total = 1_000;
    let sent = 0;
    const sending = (async () => {
      while (sent < total && sender.open) {
        for (let j = 0; j < 20 && sent < total; j++, sent++) {
          sender.send({ type: 'send_message', conversation_id: id, client_msg_id: `dr-${sent}`, content: `drain ${sent}` });
        }
        await sleep(2);
      }
    })();
    await sender.waitFor('ack', () => true, 50, 10_000);
    const exit = exited(server, DRAIN_TIMEOUT_MS + 15_000);
    server.process.kill('SIGTERM');

    assert.deepEqual(await readyzBecomes(server.url, 503), { status: 'draining' });
    await assert.rejects(Device.connect(server.wsUrl, lateToken, 'phone'), /upgrade refused: 503/, 'a draining gateway takes no new sockets');

    for (const device of everyone) {
      const [goaway] = await device.waitFor('goaway');
      assert.ok(
        Number.isInteger(goaway!.reconnect_after_ms) && goaway!.reconnect_after_ms >= 0 && goaway!.reconnect_after_ms < DRAIN_JITTER_MS,
        `reconnect_after_ms ${goaway!.reconnect_after_ms} is within the jitter bound`,
      );
    }
    assert.equal(await readyzBecomes(server.url, 503).then(() => true), true, 'still draining while the holder stays');

    assert.deepEqual(await exit, { code: 0, signal: null });
    assert.equal(await holder.closed(), 1001, 'the devices that stayed are closed with 1001 at the end of the drain');
    await sending;

    // Restart on the same data: every acked message is there exactly once, with its ack's id and seq.
    const acked = new Map(sender.of('ack').map((a) => [a.client_msg_id as string, a]));
    assert.ok(acked.size >= 50);
    const again = await spawnNatter(dataDir, env);
    servers.push(again);
    const client = rest(again.url, await again.token('da'));
    let stored = await allMessages(client, id);
    for (let i = 0; i < 100 && stored.length < acked.size; i++) {
      await sleep(50);
      stored = await allMessages(client, id);
    }
    const byClientId = new Map<string, Frame[]>();
    for (const m of stored) byClientId.set(m.client_msg_id, [...(byClientId.get(m.client_msg_id) ?? []), m]);
    for (const [clientMsgId, ack] of acked) {
      const copies = byClientId.get(clientMsgId) ?? [];
      assert.equal(copies.length, 1, `acked ${clientMsgId} is stored exactly once`);
      assert.equal(copies[0]!.message_id, ack.message_id);
      assert.equal(copies[0]!.seq, ack.seq);
    }
    assert.ok(
      [...byClientId.values()].every((copies) => copies.length === 1),
      'no message is stored twice',
    );
    assert.deepEqual(
      stored.map((m) => m.seq),
      stored.map((_, i) => i + 1),
      'seqs are gapless',
    );

    // The client resends everything with the same client_msg_ids: each lands exactly once.
    const resender = await Device.connect(again.wsUrl, await again.token('da', 'phone'), 'phone');
    devices.push(resender);
    const resent = await Promise.all(Array.from({ length: total }, (_, i) => resender.sendMessage(id, `drain ${i}`, `dr-${i}`, 20_000)));
    for (const ack of resent) {
      const first = acked.get(ack.client_msg_id);
      if (first) assert.equal(ack.message_id, first.message_id, `${ack.client_msg_id} keeps its first ack`);
    }
    const final = await allMessages(client, id);
    assert.equal(final.length, total);
    assert.equal(new Set(final.map((m) => m.client_msg_id)).size, total);
    await again.close();
  });

  it('exits at once on a second SIGTERM during the drain, and the data directory can be served again', async () => {
    const dataDir = tempDir();
    const env = { NATTER_DRAIN_TIMEOUT_MS: '30000', NATTER_DRAIN_JITTER_MS: '100' };
    const server = await spawnNatter(dataDir, env);
    servers.push(server);
    const { body: conv } = await rest(server.url, await server.token('ea')).post('/v1/conversations', { type: 'direct', peer_id: 'eb' });
    const holder = await Device.connect(server.wsUrl, await server.token('ea', 'phone'), 'phone');
    devices.push(holder);
    const ack = await holder.sendMessage(conv.conversation_id, 'before the signals', 'e-1');

    const exit = exited(server, 10_000);
    server.process.kill('SIGTERM');
    await readyzBecomes(server.url, 503);
    await holder.waitFor('goaway');
    const second = Date.now();
    server.process.kill('SIGTERM');
    const { code, signal } = await exit;
    assert.ok(code !== 0 || signal !== null, `an interrupted drain does not report success (code ${code}, signal ${signal})`);
    assert.ok(Date.now() - second < 10_000, 'it exits well before the 30 s drain timeout');

    const again = await spawnNatter(dataDir, env);
    servers.push(again);
    const history = await rest(again.url, await again.token('eb')).get(`/v1/conversations/${conv.conversation_id}/messages`);
    assert.deepEqual(
      history.body.items.map((m: Frame) => m.message_id),
      [ack.message_id],
    );
    await again.close();
  });
});

describe('shutdown', () => {
  // Started outside the test, whose timeout is the bound under test (a cluster takes seconds to start).
  let server: Awaited<ReturnType<typeof startNatter>>;
  before(async () => {
    server = await startNatter();
  });

  it('closes every socket with 1001, and cuts one whose device does not answer its close instead of waiting for it', { timeout: 20_000 }, async () => {
    const device = await Device.connect(server.wsUrl, await server.token('sa', 'd1'), 'd1');
    // A raw client that completes the upgrade and then never answers anything (ws would wait 30 s for its close).
    const mute = rawUpgrade(server.wsUrl, await server.token('sb', 'd1'), 'd1');
    await mute.answered();
    const muteClosed = mute.closed();
    await server.close();
    assert.equal(await device.closed(), 1001);
    await muteClosed;
  });
});

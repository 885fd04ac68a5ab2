import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnNatter, tempDir, rest } from '../support/natter.ts';
import { Device } from '../support/ws-client.ts';
import { OWN_TOKEN, fuzzSeed, sampleFrames } from '../support/fuzz-frames.ts';

// Frame fuzzing against a real server process: 10,000+ generated frames (valid, near-valid and
// garbage) over several sockets while a control conversation carries messages between two other
// users. Replay a failure with FUZZ_SEED=<seed printed below>.

const FRAMES = Number(process.env.FUZZ_FRAMES ?? 20_000);
const FUZZ_SOCKETS = 4;
const CHUNK = 100;
const MARKER = '999999999999999'; // below 2^53: 16-digit cursors lose precision

const metric = async (url: string, name: string) => {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line ? Number(line.split(' ').at(-1)) : NaN;
};
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

describe('frame fuzzing over live sockets', () => {
  it(`survives ${FRAMES} generated frames: no crash, no healthy socket closed, memory bounded, the control conversation gapless and in order`, async () => {
    const seed = fuzzSeed();
    console.log(`# frame fuzz seed: FUZZ_SEED=${seed}`);
    const server = await spawnNatter(tempDir('natter-fuzz-'));
    const devices: Device[] = [];
    try {
      const fz = rest(server.url, await server.token('fz0'));
      const fuzzConv = (await fz.post('/v1/conversations', { type: 'group', title: 'fuzz', member_ids: ['fz1', 'fz2', 'fz3'] })).body.conversation_id as string;
      const ctlA = rest(server.url, await server.token('ctl-a'));
      const controlConv = (await ctlA.post('/v1/conversations', { type: 'direct', peer_id: 'ctl-b' })).body.conversation_id as string;
      const frames = sampleFrames(seed, FRAMES, [fuzzConv, controlConv]);
      const kinds = { valid: 0, near: 0, garbage: 0 };
      for (const f of frames) kinds[f.kind]++;

      const fuzzTokens = await Promise.all(Array.from({ length: FUZZ_SOCKETS }, (_, i) => server.token(`fz${i}`, 'fuzz')));
      const fuzzers = await Promise.all(fuzzTokens.map((token) => Device.connect(server.wsUrl, token, 'fuzz')));
      const sender = await Device.connect(server.wsUrl, await server.token('ctl-a', 'desk'), 'desk');
      const control = await Device.connect(server.wsUrl, await server.token('ctl-b', 'phone'), 'phone');
      devices.push(...fuzzers, sender, control);
      await control.syncAll();
      const rssBaseline = await metric(server.url, 'process_resident_memory_bytes');
      const heapBaseline = await metric(server.url, 'nodejs_heap_size_used_bytes');

      // The control conversation: one message after another, each awaited, for as long as the fuzzing lasts.
      let fuzzing = true;
      const acked: number[] = [];
      const controlLoop = (async () => {
        for (let i = 0; fuzzing && sender.open; i++) {
          const ack = await sender.sendMessage(controlConv, `control ${i}`, `ctl-${i}`, 15_000);
          acked.push(ack.seq);
          await new Promise((r) => setTimeout(r, 2));
        }
      })();
      controlLoop.catch(() => {}); // awaited below; a failure elsewhere must not leave it unhandled

      const started = Date.now();
      const latencies: number[] = [];
      for (let offset = 0; offset < frames.length; offset += CHUNK * FUZZ_SOCKETS) {
        await Promise.all(
          fuzzers.map(async (device, s) => {
            device.frames.length = 0; // what the fuzzers get back is not checked, only that they stay up
            for (let k = offset + s; k < Math.min(frames.length, offset + CHUNK * FUZZ_SOCKETS); k += FUZZ_SOCKETS) {
              const frame = frames[k]!;
              // A reauth carries the socket's own token: another's would close it, as the contract says.
              const data = typeof frame.data === 'string' ? frame.data.replaceAll(OWN_TOKEN, fuzzTokens[s]!) : frame.data;
              device.socket.send(data, { binary: frame.binary });
            }
            device.send({ type: 'sync', cursor: MARKER });
            await device.waitFor('sync_done', (f) => f.cursor === MARKER, 1, 20_000);
          }),
        );
        // The control socket answers promptly while the fuzzers are at it.
        const t0 = performance.now();
        const pongs = control.of('pong').length;
        control.send({ type: 'ping' });
        await control.waitFor('pong', () => true, pongs + 1, 5_000);
        latencies.push(performance.now() - t0);
        await new Promise((r) => setTimeout(r, 30)); // room for the control conversation between bursts
      }
      fuzzing = false;
      await controlLoop;
      const elapsed = Date.now() - started;

      assert.equal(server.process.exitCode, null, `the server exited: ${server.output().slice(-2_000)}`);
      assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
      for (const [i, device] of fuzzers.entries())
        assert.equal(device.closeCode, null, `fuzz socket ${i} was closed (${device.closeCode}); malformed frames must not close a socket`);
      assert.equal(control.open, true, 'the control socket stays open');
      assert.equal(sender.open, true);

      // The control conversation: every acked message arrived live, once, gapless and in order.
      await control.waitFor('new_message', (m) => m.conversation_id === controlConv, acked.length, 10_000);
      const live = control.of('new_message', (m) => m.conversation_id === controlConv).map((m) => m.seq as number);
      assert.deepEqual(
        acked,
        acked.map((_, i) => i + 1),
        'acked seqs are gapless',
      );
      assert.deepEqual(live, acked, 'delivered live, in order, once');
      const history = (await rest(server.url, await server.token('ctl-b')).get(`/v1/conversations/${controlConv}/messages?limit=200`)).body.items;
      assert.ok(
        history.every((m: any) => m.sender_id === 'ctl-a'),
        'no fuzz frame landed in the control conversation',
      );

      await new Promise((r) => setTimeout(r, 1_000));
      const rss = await metric(server.url, 'process_resident_memory_bytes');
      const heap = await metric(server.url, 'nodejs_heap_size_used_bytes');
      latencies.sort((a, b) => a - b);
      console.log(
        `# ${frames.length} frames (${kinds.valid} valid, ${kinds.near} near-valid, ${kinds.garbage} garbage) over ${FUZZ_SOCKETS} sockets in ${elapsed} ms; ` +
          `control: ${acked.length} messages; control ping p50 ${latencies[Math.floor(latencies.length / 2)]!.toFixed(1)} ms, max ${latencies.at(-1)!.toFixed(1)} ms; ` +
          `rss ${mb(rssBaseline)} -> ${mb(rss)}, heap ${mb(heapBaseline)} -> ${mb(heap)}`,
      );
      assert.ok(acked.length >= 50, `only ${acked.length} control messages went through during the fuzzing`);
      assert.ok(rss < rssBaseline + 200 * 1024 * 1024, `rss grew from ${mb(rssBaseline)} to ${mb(rss)}`);
      assert.ok(heap < heapBaseline + 100 * 1024 * 1024, `heap grew from ${mb(heapBaseline)} to ${mb(heap)}`);
    } catch (error) {
      console.log(`# failed with FUZZ_SEED=${seed}`);
      throw error;
    } finally {
      for (const d of devices) d.socket.terminate();
      await server.close();
    }
  });
});

import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnNatter, tempDir, type Spawned } from '../support/natter.ts';
import { Device } from '../support/ws-client.ts';

// In its own process, so that its log lines can be read: an oversized frame is a client's mistake
// that anyone can make at will, so it must cost one short warn line, not a stack trace per socket.
describe('an oversized frame is logged as what it is', () => {
  let natter: Spawned | undefined;
  after(() => natter?.close());

  it('given a frame over NATTER_MAX_FRAME_BYTES, then one warn line with code frame_too_large and no stack trace', { timeout: 60_000 }, async () => {
    natter = await spawnNatter(tempDir(), { NATTER_MAX_FRAME_BYTES: '4096' });
    const device = await Device.connect(natter.wsUrl, await natter.token('big'));
    device.send({ type: 'ping', padding: 'x'.repeat(10_000) });
    assert.equal(await device.closed(10_000), 1009);
    let line: string | undefined;
    for (let i = 0; i < 100 && !line; i++) {
      line = natter
        .output()
        .split('\n')
        .find((l) => l.includes('frame_too_large'));
      if (!line) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(line, `no log line for the oversized frame: ${natter.output().slice(-2_000)}`);
    const entry = JSON.parse(line) as { level: number; err?: unknown; stack?: unknown };
    assert.equal(entry.level, 40, 'warn');
    assert.equal(entry.err, undefined);
    assert.doesNotMatch(line, /stack|RangeError|at \S+ \(/);
  });
});

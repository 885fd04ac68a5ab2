import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startNatter, tempDir } from '../support/natter.ts';

// The SDK as an app gets it: `npm pack` (which builds it), the tarball installed into an empty
// project with no registry, and a plain Node program there against a live server.
const run = promisify(execFile);
const sdkDir = fileURLToPath(new URL('../../clients/sdk/', import.meta.url));
const tsc = fileURLToPath(new URL('../../node_modules/typescript/bin/tsc', import.meta.url));
const consumer = fileURLToPath(new URL('./fixtures/sdk-consumer.mjs', import.meta.url));
// Node 22 has a global WebSocket; Node 20 has it behind a flag.
const websocketFlag = Number(process.versions.node.split('.')[0]) < 22 ? ['--experimental-websocket'] : [];

type Packed = { filename: string; files: Array<{ path: string }> };
/** What fixtures/sdk-consumer.mjs prints, one line per step. */
type Output = {
  connected: { step: string; alice: string; bob: string };
  received: { step: string; seq: number; bob: string[] };
  reconnected: { sockets: number; states: string[]; awaySeq: number; resentSeq: number; bob: string[]; alice: string[] };
  synced: { tablet: string[]; history: string[]; cursor: string };
};

const packAndInstall = async () => {
  const out = tempDir('natter-sdk-pack-');
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', out], { cwd: sdkDir, timeout: 120_000 });
  const [packed] = JSON.parse(stdout.slice(stdout.indexOf('['))) as Packed[];
  const project = tempDir('natter-sdk-app-');
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'sdk-app', private: true, type: 'module' }));
  await run('npm', ['install', join(out, packed!.filename), '--offline', '--no-audit', '--no-fund'], { cwd: project, timeout: 120_000 });
  return { packed: packed!, project };
};

describe('the @natter/client package', () => {
  it('packs into a self-contained tarball that an empty project installs offline and type-checks against', async () => {
    const { packed, project } = await packAndInstall();
    const files = packed.files.map((f) => f.path).sort();
    assert.ok(files.includes('dist/index.js') && files.includes('dist/index.d.ts') && files.includes('README.md'), files.join(', '));
    assert.deepEqual(
      files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')),
      [],
      'no TypeScript sources',
    );
    const installed = join(project, 'node_modules', '@natter', 'client');
    const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8'));
    assert.equal(manifest.dependencies, undefined, 'no dependencies');
    for (const file of files.filter((f) => f.startsWith('dist/'))) {
      const text = readFileSync(join(installed, file), 'utf8');
      assert.doesNotMatch(text, /(from|import)\s*\(?\s*['"](?!\.\/)/, `${file} imports from outside the package`);
    }
    writeFileSync(
      join(project, 'app.ts'),
      [
        "import { NatterClient, type Message, type AckFrame } from '@natter/client';",
        "const client = new NatterClient({ url: 'http://127.0.0.1:1', token: 't', deviceId: 'd' });",
        "const ack: Promise<AckFrame> = client.send('c', 'hi');",
        "client.on('message', (m: Message) => m.content.toUpperCase());",
        '// @ts-expect-error: seq is a number',
        "client.on('message', (m) => m.seq.toUpperCase());",
        'void ack;',
      ].join('\n'),
    );
    const compilerOptions = { strict: true, noEmit: true, module: 'nodenext', moduleResolution: 'nodenext', lib: ['es2022', 'dom'], types: [] };
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['app.ts'] }));
    await run(process.execPath, [tsc, '-p', project], { cwd: project, timeout: 60_000 }).catch((error: { stdout: string }) =>
      assert.fail(`the package's types do not check in an app: ${error.stdout}`),
    );
  });

  it('runs in a plain Node program: two users connect, send, receive, reconnect after a drop, and a new device syncs', async () => {
    const [{ project }, server] = await Promise.all([packAndInstall(), startNatter()]);
    try {
      copyFileSync(consumer, join(project, 'consumer.mjs'));
      const env = { ...process.env, NATTER_URL: server.url, ALICE_TOKEN: await server.token('alice', 'laptop'), BOB_TOKEN: await server.token('bob', 'phone') };
      const { stdout } = await run(process.execPath, [...websocketFlag, 'consumer.mjs'], { cwd: project, env, timeout: 60_000 }).catch(
        (error: { stdout: string; stderr: string }) => assert.fail(`the program failed:\n${error.stdout}\n${error.stderr}`),
      );
      const steps = Object.fromEntries(
        stdout
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line))
          .map((s: { step: string }) => [s.step, s]),
      ) as unknown as Output;
      assert.deepEqual(steps.connected, { step: 'connected', alice: 'online', bob: 'online' });
      assert.deepEqual(steps.received, { step: 'received', seq: 1, bob: ['hello bob'] });
      const reconnected = steps.reconnected;
      assert.ok(reconnected.sockets >= 2, `bob reconnected on a new socket: ${stdout}`);
      assert.ok(reconnected.states.includes('offline'), `bob went offline: ${reconnected.states}`);
      assert.deepEqual(new Set([reconnected.awaySeq, reconnected.resentSeq]), new Set([2, 3]));
      assert.deepEqual(reconnected.bob.slice(0, 2), ['hello bob', 'while you were away'], 'what bob missed came with the sync, in order');
      assert.ok(reconnected.alice.includes('sent while offline'), 'the send queued offline went out after the reconnect');
      const order = reconnected.awaySeq < reconnected.resentSeq ? ['while you were away', 'sent while offline'] : ['sent while offline', 'while you were away'];
      assert.deepEqual(steps.synced.tablet, ['1 hello bob', ...order.map((c, i) => `${i + 2} ${c}`)]);
      assert.deepEqual(steps.synced.history.toSorted(), ['hello bob', 'sent while offline', 'while you were away']);
      assert.equal(steps.synced.cursor, 'string');
    } finally {
      await server.close();
    }
  });
});

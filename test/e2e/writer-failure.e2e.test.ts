import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import type { Worker } from 'node:worker_threads';
import { loadConfig } from '../../app/config.ts';
import { createEmbeddedNatter } from '../../app/embedded.ts';
import { freePort } from '../support/ports.ts';
import { eventually } from '../support/eventually.ts';
import { rest, tempDir } from '../support/natter.ts';
import { Device } from '../support/ws-client.ts';
import { spawnCaptured } from '../../scripts/spawn-captured.ts';

/*
 * Issue #18 (embedded only: the SQLite event log's writer thread): a writer thread that dies leaves
 * the log unwritable for good, so the process must say so (/healthz and /readyz answer 503) and exit
 * non-zero, for its supervisor to start it again.
 */
const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('a dead event-log writer thread', { timeout: 60_000 }, () => {
  it('given a running server, when its writer thread dies, then /healthz and /readyz answer 503, sends fail, and onFatal is called', async () => {
    const workers: Worker[] = [];
    const seen = (worker: Worker) => {
      workers.push(worker);
    };
    process.on('worker', seen);
    const dataDir = tempDir();
    dirs.push(dataDir);
    const natter = await createEmbeddedNatter(loadConfig({ NATTER_DATA_DIR: dataDir, NATTER_LOG_LEVEL: 'silent', NATTER_PORT: '0' }));
    try {
      const url = await natter.app.listen({ host: '127.0.0.1', port: 0 });
      const fatal = new Promise<Error>((resolve) => natter.onFatal(resolve));
      const token = (user: string) =>
        rest(url)
          .post('/v1/auth/dev-token', { user_id: user, device_id: 'phone' })
          .then((r) => r.body.token as string);
      const alice = rest(url, await token('alice'));
      const { body: conversation } = await alice.post('/v1/conversations', { type: 'direct', peer_id: 'bob' });
      assert.equal((await fetch(`${url}/readyz`)).status, 200);

      // The writer started with the first append; this process's worker threads are it and the read models' checkpointer.
      await Promise.all(workers.map((worker) => worker.terminate()));
      assert.match((await fatal).message, /writer thread exited/);
      for (const path of ['/healthz', '/readyz']) {
        const reply = await fetch(`${url}${path}`);
        assert.equal(reply.status, 503, path);
        assert.equal(((await reply.json()) as { status: string }).status, 'failed');
      }
      const device = await Device.connect(url.replace('http', 'ws'), await token('alice'), 'phone');
      const refused = await device.sendMessage(conversation.conversation_id, 'lost?').then(
        () => null,
        (error: Error) => error,
      );
      assert.ok(refused, 'a send is not acked');
      await device.close();
    } finally {
      process.off('worker', seen);
      await natter.close();
    }
  });

  it('given natter serve, when its writer thread dies, then the process exits with a non-zero code', async () => {
    const dataDir = tempDir();
    dirs.push(dataDir);
    const port = await freePort();
    const { child, output: captured } = spawnCaptured(['--import', 'tsx', '--import', './test/support/worker-killer.ts', 'bin/natter.js', 'serve'], {
      ...process.env,
      NATTER_DATA_DIR: dataDir,
      NATTER_PORT: String(port),
      NATTER_HOST: '127.0.0.1',
      NATTER_LOG_LEVEL: 'warn',
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const url = `http://127.0.0.1:${port}`;
      await eventually(
        () =>
          fetch(`${url}/healthz`).then(
            (r) => r.status,
            () => 0,
          ),
        (status) => status === 200,
        { timeoutMs: 30_000, everyMs: 100 },
      );
      const {
        body: { token },
      } = await rest(url).post('/v1/auth/dev-token', { user_id: 'carol', device_id: 'phone' });
      assert.equal((await rest(url, token).post('/v1/conversations', { type: 'direct', peer_id: 'dan' })).status, 201, 'an append started the writer');
      child.kill('SIGUSR2');
      const code = await Promise.race([exited, new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), 15_000))]);
      assert.notEqual(code, 'still running', `the process did not exit: ${captured().slice(-2_000)}`);
      assert.notEqual(code, 0, 'a supervisor sees a failure');
      assert.match(captured(), /event log cannot be written/);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});

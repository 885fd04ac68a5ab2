import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createSqliteEventStore } from '../../adapters/sqlite/event-store.ts';
import { WrongExpectedRevision } from '../../ports/event-store.ts';

// The SQLite event store commits on a writer thread, one batch at a time, while the next batch
// gathers: what the contract suite cannot see from outside one batch.

const run = promisify(execFile);
const dirs: string[] = [];
const path = () => {
  const dir = mkdtempSync(join(tmpdir(), 'natter-es-writer-'));
  dirs.push(dir);
  return join(dir, 'events.db');
};
after(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
const ev = (n: number) => ({ type: 'Tested', data: { n } });
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('sqlite event store: the writer thread', () => {
  it('fails an append queued behind a failing one while its batch commits, even when its revision matches', async () => {
    const store = createSqliteEventStore({ path: path() });
    try {
      await store.appendToStream('s', [ev(0)], { expectedRevision: 'no_stream' });
      const failing = store.appendToStream('s', [ev(1)], { expectedRevision: 'no_stream' });
      await nextTurn(); // the failing append's batch is now with the writer thread
      // Decided on top of the failing append, the stream's actual revision (0) happens to match.
      const pipelined = store.appendToStream('s', [ev(2)], { expectedRevision: 0 });
      const unrelated = store.appendToStream('s', [ev(3)], { expectedRevision: 'any' });
      await assert.rejects(failing, WrongExpectedRevision);
      await assert.rejects(pipelined, WrongExpectedRevision);
      await unrelated;
      assert.deepEqual(
        (await store.readStream('s')).map((e) => (e.data as { n: number }).n),
        [0, 3],
      );
    } finally {
      await store.close();
    }
  });

  it('commits on close what was appended before it, and refuses appends after it', async () => {
    const file = path();
    const store = createSqliteEventStore({ path: file });
    const appends = Array.from({ length: 50 }, (_, i) => store.appendToStream(`s-${i % 5}`, [ev(i)]));
    await store.close();
    assert.equal((await Promise.all(appends)).length, 50);
    await assert.rejects(store.appendToStream('s-0', [ev(99)]), /closed/);
    const reopened = createSqliteEventStore({ path: file });
    try {
      assert.equal((await reopened.readAll({ after: 0, maxCount: 100 })).length, 50);
    } finally {
      await reopened.close();
    }
  });

  it('does not keep the process alive once its appends are committed', { timeout: 30_000 }, async () => {
    const script = `
      const { createSqliteEventStore } = await import(${JSON.stringify(new URL('../../adapters/sqlite/event-store.ts', import.meta.url).href)});
      const store = createSqliteEventStore({ path: ${JSON.stringify(path())} });
      await store.appendToStream('s', [{ type: 'Tested', data: {} }]);
      console.log('appended');`;
    const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { timeout: 20_000 });
    assert.equal(stdout.trim(), 'appended');
  });
});

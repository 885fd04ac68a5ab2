import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createSqliteReadModels } from '../../adapters/sqlite/read-models.ts';
import type { HistoryWrite } from '../../ports/read-models.ts';
import { fresh, sends } from '../support/history.ts';

// The embedded read models share one open transaction across units of work and commit it once per
// window: what a unit applies is visible at once through the stores, and on disk (for another
// connection, or after a crash) only from the window's commit, together with its checkpoints.

const dirs: string[] = [];
const path = () => {
  const dir = mkdtempSync(join(tmpdir(), 'natter-rm-commit-'));
  dirs.push(dir);
  return join(dir, 'readmodels.db');
};
after(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
const message = (seq: number): HistoryWrite =>
  sends([
    fresh({
      conversation_id: 'c',
      seq,
      message_id: `m${seq}`,
      sender_id: 'ann',
      client_msg_id: `k${seq}`,
      content: `hello ${seq}`,
      content_type: 'text',
      timestamp: 1_700_000_000_000 + seq,
      position: seq * 10,
    }),
  ])[0]!;
const onDisk = (file: string) => {
  const db = new Database(file, { readonly: true });
  try {
    return {
      seqs: db.prepare('SELECT seq FROM messages ORDER BY seq').pluck().all(),
      checkpoint: db.prepare("SELECT position FROM checkpoints WHERE projector = 'history'").pluck().get() ?? 0,
    };
  } finally {
    db.close();
  }
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('sqlite read models: units of work share a timed commit', () => {
  it('shows a unit at once through the stores, and to other connections after the window', async () => {
    const file = path();
    const rm = createSqliteReadModels(file, { commitEveryMs: 300 });
    try {
      await rm.unitOfWork(async () => {
        await rm.history.write([message(1)]);
        await rm.checkpoints.set('history', 10);
      });
      assert.deepEqual(
        (await rm.history.page('c', { limit: 10 })).map((m) => m.seq),
        [1],
      );
      assert.deepEqual(onDisk(file), { seqs: [], checkpoint: 0 });
      await sleep(600);
      assert.deepEqual(onDisk(file), { seqs: [1], checkpoint: 10 });
    } finally {
      await rm.close();
    }
  });

  it('undoes a failing unit alone, keeping the units before it in the window', async () => {
    const file = path();
    const rm = createSqliteReadModels(file, { commitEveryMs: 10_000 });
    await rm.unitOfWork(async () => {
      await rm.history.write([message(1)]);
    });
    await assert.rejects(
      rm.unitOfWork(async () => {
        await rm.history.write([message(2)]);
        throw new Error('projector failed');
      }),
      /projector failed/,
    );
    await rm.unitOfWork(async () => {
      await rm.history.write([message(3)]);
    });
    assert.deepEqual(
      (await rm.history.page('c', { limit: 10 })).map((m) => m.seq),
      [1, 3],
    );
    await rm.close();
    assert.deepEqual(onDisk(file).seqs, [1, 3], 'close commits the window');
  });

  it('loses the last window on kill -9 together with its checkpoints, so that it is replayed', { timeout: 30_000 }, async () => {
    const file = path();
    const script = `
      const { createSqliteReadModels } = await import(${JSON.stringify(new URL('../../adapters/sqlite/read-models.ts', import.meta.url).href)});
      const rm = createSqliteReadModels(${JSON.stringify(file)}, { commitEveryMs: 200 });
      const message = (seq) => ({ op: 'message', message: { conversation_id: 'c', seq, message_id: 'm' + seq, sender_id: 'ann', client_msg_id: 'k' + seq,
        content: 'hello', content_type: 'text', timestamp: 1, position: seq * 10, reply_to_seq: null, mentions: [] } });
      await rm.unitOfWork(async () => { await rm.history.write([message(1)]); await rm.checkpoints.set('history', 10); });
      await new Promise((resolve) => setTimeout(resolve, 500));
      await rm.unitOfWork(async () => { await rm.history.write([message(2)]); await rm.checkpoints.set('history', 20); });
      console.log('applied');
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (data) => {
        if (String(data).includes('applied')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`child exited with ${code}`)));
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    assert.deepEqual(onDisk(file), { seqs: [1], checkpoint: 10 });
  });
});

describe('sqlite history: a rebuild builds the position index at its end', () => {
  const indexes = (file: string) => {
    const db = new Database(file, { readonly: true });
    try {
      return db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'messages'").pluck().all();
    } finally {
      db.close();
    }
  };

  it('has the index back after a rebuild that nothing read, once closed', async () => {
    const file = path();
    const rm = createSqliteReadModels(file);
    await rm.history.reset();
    await rm.unitOfWork(async () => {
      await rm.history.write([message(1), message(2)]);
    });
    await rm.close();
    assert.ok(indexes(file).includes('messages_by_position'));
  });

  it('answers pages and sync ranges after a rebuild, with the index back', async () => {
    const file = path();
    const rm = createSqliteReadModels(file);
    try {
      await rm.unitOfWork(async () => {
        await rm.history.write([message(1), message(2)]);
      });
      await rm.history.reset();
      await rm.unitOfWork(async () => {
        await rm.history.write([message(1), message(2), message(3)]);
      });
      assert.deepEqual(
        (await rm.history.afterPosition('c', 10, 30, 10)).map((m) => m.seq),
        [2, 3],
      );
      assert.deepEqual(
        (await rm.history.page('c', { limit: 10 })).map((m) => m.seq),
        [1, 2, 3],
      );
    } finally {
      await rm.close();
    }
    assert.ok(indexes(file).includes('messages_by_position'), 'the position index exists again');
  });
});

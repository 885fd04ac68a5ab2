import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { useNatter } from '../support/fixture.ts';
import { allMessages } from '../support/natter.ts';
import { eventually } from '../support/eventually.ts';
import { enginesDir, filesContaining, recoverableInCluster, recoverableInEmbedded, redisDumpsContaining } from '../support/canary.ts';

const run = promisify(execFile);
const cluster = process.env.NATTER_TEST_PROFILE === 'cluster';
const DAY_MS = 3_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('retention: messages older than the horizon vanish, decided by events', () => {
  const { server, as, connect } = useNatter({ NATTER_RETENTION_DAY_MS: String(DAY_MS), NATTER_RETENTION_SWEEP_MS: '200' });

  it("expires a group's messages past its retention from history, sync and the inbox preview; newer ones stay", async () => {
    const ann = await as('ann');
    const conv = (await ann.post('/v1/conversations', { type: 'group', title: 'short memory', member_ids: ['bob'] })).body.conversation_id as string;
    for (const i of [1, 2, 3])
      assert.equal((await ann.post(`/v1/conversations/${conv}/messages`, { client_msg_id: `old-${i}`, content: `old ${i}` })).status, 201);
    const set = await ann.call('PATCH', `/v1/conversations/${conv}`, { retention_days: 1 });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    assert.equal(set.body.retention_days, 1);
    assert.equal((await (await as('bob')).call('PATCH', `/v1/conversations/${conv}`, { retention_days: 2 })).status, 403, 'admins only');
    for (const body of [{ retention_days: 0 }, { retention_days: -1 }, { retention_days: 'a week' }, { retention_days: 40_000 }]) {
      assert.equal((await ann.call('PATCH', `/v1/conversations/${conv}`, body)).status, 400, JSON.stringify(body));
    }
    const bob = await as('bob');
    const gone = await eventually(
      () => allMessages(bob, conv),
      (ms) => ms.length === 0,
      { timeoutMs: 15_000 },
    );
    assert.deepEqual(gone, []);
    const inbox = (await bob.get('/v1/conversations')).body.items.find((i: any) => i.conversation_id === conv);
    assert.equal(inbox.last_message, null, 'the preview of an expired last message is gone');
    const fresh = await ann.post(`/v1/conversations/${conv}/messages`, { client_msg_id: 'new-1', content: 'still here' });
    assert.equal(fresh.status, 201);
    const kept = await eventually(
      () => allMessages(bob, conv),
      (ms) => ms.length === 1,
    );
    assert.deepEqual(
      kept.map((m) => [m.seq, m.content]),
      [[4, 'still here']],
      'the oldest page starts after the horizon; seqs keep counting',
    );
    assert.equal((await ann.call('PATCH', `/v1/conversations/${conv}`, { retention_days: null })).status, 200, 'back to the server default (forever)');
    const device = await connect('bob', 'tablet');
    const { messages } = await device.syncAll();
    assert.deepEqual(
      messages.filter((m) => m.conversation_id === conv).map((m) => m.seq),
      [4],
      'sync hands out no expired message',
    );
    assert.equal(
      (await ann.post(`/v1/conversations/${conv}/messages`, { client_msg_id: 'r', content: 'reply', reply_to_seq: 1 })).status,
      404,
      'an expired message is not found',
    );
    await sleep(DAY_MS * 2);
    assert.deepEqual(
      (await allMessages(bob, conv)).map((m) => m.seq),
      [4],
      'without retention nothing expires any more',
    );
  });

  it('rebuilds from the log to the same read models after expiry (natter replay all)', async () => {
    const ann = await as('ann');
    const conv = (await ann.post('/v1/conversations', { type: 'direct', peer_id: 'cy' })).body.conversation_id as string;
    await ann.post(`/v1/conversations/${conv}/messages`, { client_msg_id: 'a', content: 'will expire' });
    await ann.call('PATCH', `/v1/conversations/${conv}`, { retention_days: 1 });
    await eventually(
      () => allMessages(ann, conv),
      (ms) => ms.length === 0,
      { timeoutMs: 15_000 },
    );
    await ann.post(`/v1/conversations/${conv}/messages`, { client_msg_id: 'b', content: 'stays' });
    await ann.call('PATCH', `/v1/conversations/${conv}`, { retention_days: null });
    const live = await eventually(
      () => allMessages(ann, conv),
      (ms) => ms.length === 1,
    );
    if (cluster) {
      // Blue/green rebuild of the running cluster's read models from its log.
      await run(process.execPath, ['bin/natter.js', 'replay', 'all', '--cluster'], { env: { ...process.env, ...server.env } });
      assert.deepEqual(
        (await allMessages(ann, conv)).map((m) => [m.seq, m.content]),
        live.map((m) => [m.seq, m.content]),
        'the rebuild expires the same messages',
      );
      return;
    }
    const copy = mkdtempSync(join(tmpdir(), 'natter-retention-copy-'));
    try {
      for (const name of readdirSync(server.dataDir))
        if (!name.startsWith('readmodels.db') && name !== 'natter.pid') cpSync(join(server.dataDir, name), join(copy, name), { recursive: true });
      await run(process.execPath, ['bin/natter.js', 'replay', 'all'], { env: { ...process.env, NATTER_DATA_DIR: copy } });
      const db = new Database(join(copy, 'readmodels.db'), { readonly: true });
      const rows = db.prepare('SELECT seq FROM messages WHERE conversation_id = ?').pluck().all(conv);
      db.close();
      assert.deepEqual(
        rows,
        live.map((m) => m.seq),
        'the rebuild expires the same messages',
      );
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });
});

describe("erasure: a user's content unrecoverable everywhere, the log included", () => {
  const { server, as, connect, token } = useNatter();
  // One word, as the search index folds it: a scan for it finds the indexed words too.
  const canary = `canary${randomBytes(8).toString('hex')}`;

  it('erases a user: their messages deleted and erased for everyone, their tokens refused, their sockets closed, nothing readable on disk', async () => {
    const eve = await as('eve');
    const conv = (await eve.post('/v1/conversations', { type: 'group', title: 'with eve', member_ids: ['fox'] })).body.conversation_id as string;
    const first = await eve.post(`/v1/conversations/${conv}/messages`, { client_msg_id: 'c1', content: `before ${canary}` });
    assert.equal(first.status, 201);
    assert.equal((await eve.call('PATCH', `/v1/conversations/${conv}/messages/${first.body.seq}`, { content: `edited ${canary}` })).status, 200);
    const fox = await as('fox');
    assert.equal((await fox.post(`/v1/conversations/${conv}/messages`, { client_msg_id: 'f1', content: 'from fox' })).status, 201);
    const read = await eventually(
      () => allMessages(fox, conv),
      (ms) => ms.length === 2 && ms[0].content.includes(canary),
    );
    assert.equal(read[0].content, `edited ${canary}`);
    // The scans below can fail: before the erasure, the search index has the words on disk.
    const searchFiles = cluster ? join(enginesDir(), 'opensearch', 'data') : server.dataDir;
    assert.notDeepEqual(
      await eventually(
        async () => filesContaining(searchFiles, canary),
        (files) => files.length > 0,
        { timeoutMs: 30_000, everyMs: 500 },
      ),
      [],
      'the indexed words, before the erasure',
    );
    await eve.post('/v1/devices/eve-phone/push', { platform: 'fcm', token: 'eve-fcm-token' });
    const eveSocket = await connect('eve', 'laptop');
    const eveToken = await token('eve');

    assert.equal((await eve.call('DELETE', '/v1/users/me', { confirm: 'someone-else' })).status, 400, 'confirm must name yourself');
    assert.equal((await eve.call('DELETE', '/v1/users/me', {})).status, 400);
    assert.equal((await eve.call('DELETE', '/v1/users/me', { confirm: 'eve' })).status, 204);
    assert.equal(await eveSocket.closed(10_000), 4003, 'every socket of the erased user closes');

    const after = await eventually(
      () => allMessages(fox, conv),
      (ms) => ms[0]?.erased === true,
    );
    assert.deepEqual(
      after.map((m) => [m.seq, m.content, m.deleted, m.erased]),
      [
        [1, '', true, true],
        [2, 'from fox', false, false],
      ],
      'the messages keep their seq; the conversation stays whole for everyone else',
    );
    const inbox = (await fox.get('/v1/conversations')).body;
    assert.ok(!JSON.stringify(inbox).includes(canary));
    assert.equal((await fox.post(`/v1/conversations/${conv}/messages`, { client_msg_id: 'f2', content: 'fox goes on' })).status, 201);
    const refused = await fetch(`${server.url}/v1/conversations`, { headers: { authorization: `Bearer ${eveToken}` } });
    assert.equal(refused.status, 401, "the erased user's tokens stop working");
    await eventually(
      async () => (await fetch(`${server.url}/v1/keys/eve`, { headers: { authorization: `Bearer ${await token('fox')}` } })).json(),
      (b: any) => b.devices?.length === 0,
    );

    // Nothing of it on disk, and nothing that the master key and a copy of every store could open.
    if (cluster) {
      const env = server.env!;
      assert.deepEqual(await recoverableInCluster(env).then((texts) => texts.filter((t) => t.includes(canary))), [], 'the log holds nothing openable');
      for (const engine of ['postgres', 'kafka', 'cassandra']) assert.deepEqual(filesContaining(join(enginesDir(), engine), canary), [], `${engine}'s files`);
      // OpenSearch lets go of a soft-deleted document only once its retention leases moved on (every 30 s).
      assert.deepEqual(
        await eventually(
          async () => filesContaining(searchFiles, canary),
          (files) => files.length === 0,
          { timeoutMs: 120_000, everyMs: 2_000 },
        ),
        [],
        "OpenSearch's files",
      );
      assert.deepEqual(await redisDumpsContaining(env.NATTER_REDIS_URL!, env.NATTER_REDIS_PREFIX!, canary), [], 'Redis keys (DUMP)');
      await run(process.execPath, ['bin/natter.js', 'replay', 'all', '--cluster'], { env: { ...process.env, ...env } });
      assert.deepEqual(
        (await allMessages(fox, conv)).map((m) => [m.seq, m.content, m.erased]),
        [
          [1, '', true],
          [2, 'from fox', false],
          [3, 'fox goes on', false],
        ],
        'a replay after erasure brings nothing back',
      );
      assert.deepEqual(await redisDumpsContaining(env.NATTER_REDIS_URL!, env.NATTER_REDIS_PREFIX!, canary), [], 'Redis keys (DUMP), after the replay');
      for (const engine of ['kafka', 'cassandra'])
        assert.deepEqual(filesContaining(join(enginesDir(), engine), canary), [], `${engine}'s files, after the replay`);
    } else {
      assert.deepEqual(
        (await recoverableInEmbedded(server.dataDir)).filter((t) => t.includes(canary)),
        [],
        'the log holds nothing openable',
      );
      // Once the erasure is projected (the read models commit every 200 ms).
      assert.deepEqual(
        await eventually(
          async () => filesContaining(server.dataDir, canary),
          (files) => files.length === 0,
          { timeoutMs: 30_000, everyMs: 250 },
        ),
        [],
        'no file of the data directory holds it, WAL included',
      );
      const copy = mkdtempSync(join(tmpdir(), 'natter-erasure-copy-'));
      try {
        for (const name of readdirSync(server.dataDir))
          if (!name.startsWith('readmodels.db') && name !== 'natter.pid') cpSync(join(server.dataDir, name), join(copy, name), { recursive: true });
        await run(process.execPath, ['bin/natter.js', 'replay', 'all'], { env: { ...process.env, NATTER_DATA_DIR: copy } });
        assert.deepEqual(filesContaining(copy, canary), [], 'a replay after erasure brings nothing back');
        const db = new Database(join(copy, 'readmodels.db'), { readonly: true });
        assert.equal(db.prepare('SELECT count(*) FROM messages WHERE conversation_id = ?').pluck().get(conv), 3, 'the replay keeps every seq');
        db.close();
      } finally {
        rmSync(copy, { recursive: true, force: true });
      }
    }
  });
});

describe('export: everything a user can read, streamed as NDJSON', () => {
  const { server, as, token } = useNatter();

  it('streams the profile, each conversation and its messages as history shows them (edits applied), chunked', async () => {
    const gil = await as('gil');
    const conv = (await gil.post('/v1/conversations', { type: 'group', title: 'export me', member_ids: ['hal'] })).body.conversation_id as string;
    const sent = await gil.post(`/v1/conversations/${conv}/messages`, { client_msg_id: 'x1', content: 'first draft' });
    await gil.call('PATCH', `/v1/conversations/${conv}/messages/${sent.body.seq}`, { content: 'final text' });
    await (await as('hal')).post(`/v1/conversations/${conv}/messages`, { client_msg_id: 'x2', content: 'from hal' });
    await gil.call('PUT', '/v1/users/me/blocks/spammer');
    await eventually(
      () => allMessages(gil, conv),
      (ms) => ms.length === 2 && ms[0].content === 'final text',
    );
    const response = await fetch(`${server.url}/v1/users/me/export`, { headers: { authorization: `Bearer ${await token('gil')}` } });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /application\/x-ndjson/);
    assert.equal(response.headers.get('content-length'), null, 'streamed: chunked, not buffered');
    const lines = (await response.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(lines[0].type, 'profile');
    assert.equal(lines[0].user_id, 'gil');
    assert.deepEqual(lines[0].blocks, ['spammer']);
    const mine = lines.findIndex((l) => l.type === 'conversation' && l.conversation_id === conv);
    assert.ok(mine > 0);
    const messages = lines.slice(mine + 1).filter((l, i, all) => l.type === 'message' && all.slice(0, i).every((x) => x.type === 'message'));
    assert.deepEqual(
      messages.map((m) => [m.seq, m.content]),
      [
        [1, 'final text'],
        [2, 'from hal'],
      ],
    );
    assert.equal((await fetch(`${server.url}/v1/users/me/export`)).status, 401);
  });
});

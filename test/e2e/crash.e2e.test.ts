// embedded only: this file kills the embedded server process (`natter serve`) with SIGKILL and replays its SQLite files.
// The cluster profile's kill -9 faults (gateways, projector workers, the relay, Redis, Kafka) are in test/cluster/.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { spawnNatter, tempDir, rest, allMessages } from '../support/natter.ts';
import { Device, type Frame } from '../support/ws-client.ts';

const run = promisify(execFile);

const waitForHistory = async (client: ReturnType<typeof rest>, conversationId: string, count: number) => {
  for (let i = 0; i < 200; i++) {
    const items = await allMessages(client, conversationId);
    if (items.length >= count) return items;
    await new Promise((r) => setTimeout(r, 50));
  }
  return allMessages(client, conversationId);
};

describe('durability and replay', () => {
  it('loses no acked message when the server is killed with SIGKILL mid-burst, and retries never duplicate', async () => {
    const dataDir = tempDir();
    let server = await spawnNatter(dataDir);
    const token = await server.token('amy');
    const { body: conv } = await rest(server.url, token).post('/v1/conversations', { type: 'group', title: 'crash', member_ids: ['bo'] });
    const device = await Device.connect(server.wsUrl, token);
    const total = 1500;
    for (let i = 0; i < total; i++) device.send({ type: 'send_message', conversation_id: conv.conversation_id, client_msg_id: `k${i}`, content: `crash ${i}` });
    await device.waitFor('ack', () => true, 100, 10_000);
    await server.kill9();
    const acked = new Map(device.of('ack').map((a) => [a.client_msg_id as string, a]));
    assert.ok(acked.size >= 100);

    server = await spawnNatter(dataDir);
    try {
      const client = rest(server.url, await server.token('amy'));
      const afterCrash = await waitForHistory(client, conv.conversation_id, acked.size);
      const byClientId = new Map(afterCrash.map((m) => [m.client_msg_id, m]));
      for (const [id, ack] of acked) {
        assert.equal(byClientId.get(id)?.message_id, ack.message_id, `acked ${id} survives with its message_id`);
        assert.equal(byClientId.get(id)?.seq, ack.seq);
      }
      assert.deepEqual(
        afterCrash.map((m) => m.seq),
        afterCrash.map((_, i) => i + 1),
        'gapless',
      );

      // The client resends everything it has no ack for, and some it has: each lands exactly once.
      const again = await Device.connect(server.wsUrl, await server.token('amy'));
      const resent: Frame[] = await Promise.all(
        Array.from({ length: total }, (_, i) => again.sendMessage(conv.conversation_id, `crash ${i}`, `k${i}`, 20_000)),
      );
      for (const ack of resent) {
        const first = acked.get(ack.client_msg_id);
        if (first) assert.equal(ack.message_id, first.message_id);
      }
      const final = await waitForHistory(client, conv.conversation_id, total);
      assert.equal(final.length, total);
      assert.equal(new Set(final.map((m) => m.client_msg_id)).size, total);
      assert.deepEqual(
        final.map((m) => m.seq),
        Array.from({ length: total }, (_, i) => i + 1),
      );
      await again.close();
    } finally {
      await server.close();
    }
  });

  it('rebuilds every read model with `natter replay all` to exactly what the projections had built', async () => {
    const dataDir = tempDir();
    let server = await spawnNatter(dataDir);
    const cy = rest(server.url, await server.token('cy'));
    const dee = rest(server.url, await server.token('dee'));
    const { body: group } = await cy.post('/v1/conversations', { type: 'group', title: 'replay', member_ids: ['dee', 'eli'] });
    const { body: direct } = await cy.post('/v1/conversations', { type: 'direct', peer_id: 'dee' });
    for (let i = 0; i < 30; i++) {
      await cy.post(`/v1/conversations/${group.conversation_id}/messages`, { client_msg_id: `g${i}`, content: `g${i}` });
      await dee.post(`/v1/conversations/${direct.conversation_id}/messages`, { client_msg_id: `d${i}`, content: `d${i}` });
    }
    await dee.post(`/v1/conversations/${group.conversation_id}/read`, { up_to_seq: 20 });
    await cy.delete(`/v1/conversations/${group.conversation_id}/members/eli`);
    await cy.post(`/v1/conversations/${group.conversation_id}/members`, { user_ids: ['eli', 'fox'] });
    await waitForHistory(dee, direct.conversation_id, 30);
    await new Promise((r) => setTimeout(r, 200));
    const snapshot = async (s: typeof server) => {
      const views: Record<string, unknown> = {};
      for (const user of ['cy', 'dee', 'eli', 'fox']) {
        const client = rest(s.url, await s.token(user));
        views[`${user} inbox`] = (await client.get('/v1/conversations')).body;
        views[`${user} sync`] = (await client.get('/v1/sync?limit=1000')).body;
      }
      views.history = await allMessages(cy, group.conversation_id);
      views.receipts = (await rest(s.url, await s.token('cy')).get(`/v1/conversations/${group.conversation_id}/receipts`)).body;
      views.group = (await rest(s.url, await s.token('cy')).get(`/v1/conversations/${group.conversation_id}`)).body;
      return views;
    };
    const before = await snapshot(server);
    await server.close();

    // Replay into an empty read-model file: the log alone must give back the same views.
    rmSync(join(dataDir, 'readmodels.db'), { force: true });
    const { stdout } = await run(process.execPath, ['bin/natter.js', 'replay', 'all'], { env: { ...process.env, NATTER_DATA_DIR: dataDir } });
    assert.match(stdout, /replayed \d+ events into directory, history, inbox, receipts, users, search in/);
    assert.match(stdout, /inbox: replayed \d+ events/);

    server = await spawnNatter(dataDir);
    try {
      const cyAfter = rest(server.url, await server.token('cy'));
      Object.assign(cy, cyAfter);
      assert.deepEqual(await snapshot(server), before);
      const printed = await run(process.execPath, ['bin/natter.js', 'stream', group.conversation_id], { env: { ...process.env, NATTER_DATA_DIR: dataDir } });
      const lines = printed.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      assert.deepEqual([...new Set(lines.map((l) => l.type))], ['ConversationCreated', 'MessageSent', 'MemberRemoved', 'MembersAdded']);
      // Replay refuses to run beside a live server.
      await assert.rejects(
        run(process.execPath, ['bin/natter.js', 'replay', 'all'], { env: { ...process.env, NATTER_DATA_DIR: dataDir } }),
        /stop it before replaying/,
      );
    } finally {
      await server.close();
    }
  });
});

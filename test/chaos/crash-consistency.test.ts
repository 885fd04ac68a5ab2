import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { spawnNatter, startNatter, tempDir, rest, type Server, type Spawned, allMessages } from '../support/natter.ts';
import { Device } from '../support/ws-client.ts';

// kill -9 at random moments of a mixed load (sends, retries with the same client_msg_id, receipts,
// membership changes, edits, deletes, reactions, replies and mentions), then after every restart: each acked message is there exactly once, seqs
// are gapless, retries never make a second message, and the read models equal a rebuild from the
// event log (`natter replay all` on a copy of the data directory).

const run = promisify(execFile);
const ROUNDS = Number(process.env.CRASH_ROUNDS ?? 20);
const USERS = ['ann', 'ben', 'cat'] as const;
const env = { NATTER_DRAIN_TIMEOUT_MS: '200', NATTER_DRAIN_JITTER_MS: '0' };

/** A tiny seeded PRNG, so that a failing schedule can be replayed with CRASH_SEED. */
const prng = (seed: number) => () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x7fffffff;
};

type Ack = { message_id: string; seq: number };

/** What clients see through REST: inboxes, conversations, histories and receipts. */
const views = async (server: Server, conversations: string[]) => {
  const out: Record<string, unknown> = {};
  for (const user of USERS) out[`${user} inbox`] = (await rest(server.url, await server.token(user)).get('/v1/conversations?limit=200')).body;
  const ann = rest(server.url, await server.token('ann'));
  for (const id of conversations) {
    out[`${id} conversation`] = (await ann.get(`/v1/conversations/${id}`)).body;
    out[`${id} history`] = await allMessages(ann, id);
    out[`${id} receipts`] = (await ann.get(`/v1/conversations/${id}/receipts`)).body;
  }
  return out;
};

/** spawnNatter picks a random port, which may be taken (by another test's server): try another. */
const respawn = async (dataDir: string): Promise<Spawned> => {
  for (let attempt = 1; ; attempt++) {
    try {
      return await spawnNatter(dataDir, env);
    } catch (error) {
      if (attempt >= 3 || !/exited early/.test(String(error))) throw error;
    }
  }
};

const copyLog = (from: string, to: string) => {
  for (const name of readdirSync(from)) {
    if (name.startsWith('readmodels.db') || name === 'natter.pid') continue; // the copy rebuilds its read models from the log
    cpSync(join(from, name), join(to, name), { recursive: true });
  }
};

describe('crash consistency under kill -9', () => {
  it(`keeps every acked message exactly once, gapless, and read models equal to a rebuild, over ${ROUNDS} kill -9 rounds`, { timeout: 600_000 }, async () => {
    const seed = process.env.CRASH_SEED ? Number(process.env.CRASH_SEED) : Math.floor(Math.random() * 2 ** 31);
    console.log(`# crash schedule seed: CRASH_SEED=${seed}`);
    const random = prng(seed);
    const dataDir = tempDir('natter-crash-');
    let server = await respawn(dataDir);
    const started = Date.now();
    try {
      const ann = rest(server.url, await server.token('ann'));
      const group = (await ann.post('/v1/conversations', { type: 'group', title: 'crash', member_ids: ['ben', 'cat'] })).body.conversation_id as string;
      const direct = (await ann.post('/v1/conversations', { type: 'direct', peer_id: 'ben' })).body.conversation_id as string;
      const conversations = [group, direct];
      /** The first ack of every (conversation, client_msg_id); a later ack must name the same message. */
      const acked = new Map<string, Ack>();
      /** Sends that may or may not have been committed when the server died: retried next round. */
      const inDoubt = new Map<string, { conversation: string; sender: string; id: string }>();
      let counter = 0;
      let kills = 0;
      let catMember = true;

      for (let round = 1; round <= ROUNDS; round++) {
        // --- load, with a kill -9 at a random moment ---
        const sockets = await Promise.all([
          Device.connect(server.wsUrl, await server.token('ann', 'a1'), 'a1'),
          Device.connect(server.wsUrl, await server.token('ben', 'b1'), 'b1'),
        ]);
        const [annSocket, benSocket] = sockets as [Device, Device];
        const record = (conversation: string) => (frame: any) => {
          if (frame.type !== 'ack') return;
          const key = `${conversation}|${frame.client_msg_id}`;
          const first = acked.get(key);
          if (first) assert.equal(frame.message_id, first.message_id, `a retry of ${frame.client_msg_id} made a second message`);
          else acked.set(key, { message_id: frame.message_id, seq: frame.seq });
          inDoubt.delete(key);
        };
        for (const [device] of [[annSocket], [benSocket]] as const) {
          device.socket.on('message', (data) => {
            const frame = JSON.parse(String(data));
            if (frame.type === 'ack') record(frame.conversation_id)(frame);
          });
        }
        const send = (device: Device, sender: string, conversation: string, id: string, extra: Record<string, unknown> = {}) => {
          const key = `${conversation}|${id}`;
          if (!acked.has(key)) inDoubt.set(key, { conversation, sender, id });
          device.send({ type: 'send_message', conversation_id: conversation, client_msg_id: id, content: `${sender} ${id}`, ...extra });
        };
        /** A seq acked in a conversation (sent by anyone), for edits, deletes, reactions and replies. */
        const someSeq = (conversation: string) => {
          const seqs = [...acked].filter(([key]) => key.startsWith(`${conversation}|`)).map(([, ack]) => ack.seq);
          return seqs.length > 0 ? seqs[Math.floor(random() * seqs.length)]! : undefined;
        };
        // After a message is sent: ann edits and deletes (her own or, as the group's admin, any),
        // ben reacts, replies and mentions. Refusals (another's message, a deleted one) change nothing.
        const change = () => {
          const conversation = random() < 0.7 ? group : direct;
          const seq = someSeq(conversation);
          if (seq === undefined) return;
          const r = random();
          if (r < 0.3) annSocket.send({ type: 'edit_message', conversation_id: conversation, seq, content: `edited ${counter}` });
          else if (r < 0.4) annSocket.send({ type: 'delete_message', conversation_id: conversation, seq });
          else if (r < 0.8)
            benSocket.send({
              type: 'react',
              conversation_id: conversation,
              seq,
              emoji: ['👍', '❤️', '🎉'][Math.floor(random() * 3)]!,
              op: random() < 0.7 ? 'add' : 'remove',
            });
          else send(benSocket, 'ben', conversation, `b${++counter}`, { reply_to_seq: seq, mentions: ['ann'] });
        };
        // Retries first: everything in doubt, and a few that were acked already.
        for (const { conversation, sender, id } of [...inDoubt.values()]) send(sender === 'ann' ? annSocket : benSocket, sender, conversation, id);
        for (const [key] of [...acked].filter(() => random() < 0.02)) {
          const [conversation, id] = key.split('|') as [string, string];
          send(id.startsWith('b') ? benSocket : annSocket, id.startsWith('b') ? 'ben' : 'ann', conversation, id);
        }
        const killAt = 100 + random() * 400;
        const deadline = Date.now() + killAt;
        const membership: Promise<unknown>[] = [];
        while (Date.now() < deadline) {
          const n = ++counter;
          send(annSocket, 'ann', random() < 0.7 ? group : direct, `a${n}`);
          send(benSocket, 'ben', random() < 0.5 ? group : direct, `b${n}`);
          if (random() < 0.3) benSocket.send({ type: 'mark_read', conversation_id: group, up_to_seq: Math.floor(random() * n) });
          if (random() < 0.3) annSocket.send({ type: 'mark_delivered', conversation_id: direct, up_to_seq: Math.floor(random() * n) });
          if (random() < 0.4) change();
          if (random() < 0.05) {
            const change = catMember
              ? ann.delete(`/v1/conversations/${group}/members/cat`)
              : ann.post(`/v1/conversations/${group}/members`, { user_ids: ['cat'] });
            catMember = !catMember;
            membership.push(change.catch(() => undefined));
          }
          await new Promise((r) => setTimeout(r, 1 + random() * 4));
        }
        await server.kill9();
        kills++;
        for (const s of sockets) s.socket.terminate();
        await Promise.all(membership);

        // --- restart, and rebuild a copy from the log in parallel ---
        const copyDir = tempDir('natter-crash-copy-');
        copyLog(dataDir, copyDir);
        const [restartedResult, copyResult] = await Promise.allSettled([
          respawn(dataDir),
          (async () => {
            const { stdout } = await run(process.execPath, ['bin/natter.js', 'replay', 'all'], { env: { ...process.env, NATTER_DATA_DIR: copyDir } });
            assert.match(stdout, /replayed \d+ events/);
            // The rebuilt copy is served in process: only its read models matter here.
            return startNatter(env, copyDir);
          })(),
        ]);
        if (restartedResult.status === 'rejected' || copyResult.status === 'rejected') {
          if (copyResult.status === 'fulfilled') await copyResult.value.close();
          if (restartedResult.status === 'fulfilled') server = restartedResult.value;
          throw restartedResult.status === 'rejected' ? restartedResult.reason : (copyResult as PromiseRejectedResult).reason;
        }
        const copy = copyResult.value;
        server = restartedResult.value;
        Object.assign(ann, rest(server.url, await server.token('ann')));
        try {
          // Membership is whatever the log says now.
          catMember = ((await ann.get(`/v1/conversations/${group}`)).body.members as string[]).includes('cat');
          // --- invariants on the restarted server ---
          for (const id of conversations) {
            const history = await allMessages(ann, id);
            assert.deepEqual(
              history.map((m) => m.seq),
              history.map((_, i) => i + 1),
              `round ${round}: ${id} seqs are gapless`,
            );
            const seen = new Map<string, number>();
            for (const m of history) seen.set(m.client_msg_id, (seen.get(m.client_msg_id) ?? 0) + 1);
            for (const [cid, count] of seen) assert.equal(count, 1, `round ${round}: ${cid} appears ${count} times`);
            const byId = new Map(history.map((m) => [m.client_msg_id, m]));
            for (const [key, ack] of acked) {
              const [conversation, cid] = key.split('|') as [string, string];
              if (conversation !== id) continue;
              const found = byId.get(cid);
              assert.ok(found, `round ${round}: acked ${cid} is lost`);
              assert.equal(found.message_id, ack.message_id);
              assert.equal(found.seq, ack.seq);
            }
          }
          // --- read models equal a rebuild from the log (the restarted server catches up on start) ---
          const rebuilt = await views(copy, conversations);
          let live = await views(server, conversations);
          for (let i = 0; i < 50 && JSON.stringify(live) !== JSON.stringify(rebuilt); i++) {
            await new Promise((r) => setTimeout(r, 100));
            live = await views(server, conversations);
          }
          assert.deepEqual(live, rebuilt, `round ${round}: the read models differ from a rebuild of the log`);
        } finally {
          await copy.close();
          rmSync(copyDir, { recursive: true, force: true });
        }
      }

      // Last, every send still in doubt is retried to completion: each lands exactly once.
      const annSocket = await Device.connect(server.wsUrl, await server.token('ann', 'a1'), 'a1');
      const benSocket = await Device.connect(server.wsUrl, await server.token('ben', 'b1'), 'b1');
      for (const { conversation, sender, id } of [...inDoubt.values()]) {
        const ack = await (sender === 'ann' ? annSocket : benSocket)
          .sendMessage(conversation, `${sender} ${id}`, id, 10_000)
          .catch((error: Error) => ({ error: error.message }));
        if ('error' in ack) {
          assert.match(ack.error, /not_a_member/);
          continue;
        } // ben's sends stay valid; cat's removal does not touch ann or ben
        acked.set(`${conversation}|${id}`, { message_id: ack.message_id, seq: ack.seq });
      }
      const changed = { edited: 0, deleted: 0, reacted: 0, replies: 0 };
      for (const id of conversations) {
        const history = await allMessages(ann, id);
        for (const m of history) {
          changed.edited += m.edited_at !== null ? 1 : 0;
          changed.deleted += m.deleted ? 1 : 0;
          changed.reacted += m.reactions.length > 0 ? 1 : 0;
          changed.replies += m.reply_to_seq !== null ? 1 : 0;
        }
        assert.equal(new Set(history.map((m) => m.client_msg_id)).size, history.length);
        assert.equal(history.length, [...acked.keys()].filter((k) => k.startsWith(`${id}|`)).length, 'every message in the log was acked to someone');
      }
      await Promise.all([annSocket.close(), benSocket.close()]);
      console.log(
        `# ${kills} kill -9 rounds in ${Date.now() - started} ms; ${acked.size} acked messages, ${inDoubt.size} in doubt at the end (then retried); ${JSON.stringify(changed)}`,
      );
      assert.ok(changed.edited > 0 && changed.deleted > 0 && changed.reacted > 0 && changed.replies > 0, 'the load changed messages after they were sent');
      assert.ok(existsSync(join(dataDir, 'events.db')));
    } finally {
      await server.close();
    }
  });
});

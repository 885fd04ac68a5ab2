import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createSigner } from 'fast-jwt';
import { clusterNamespace, type ClusterNamespace } from '../support/cluster.ts';
import { spawnRole, type Role } from '../support/cluster-processes.ts';
import { rest, allMessages, metric } from '../support/natter.ts';
import { Device, type Frame } from '../support/ws-client.ts';
import { eventually } from '../support/eventually.ts';
import { ownerOf } from '../../command-side/ownership.ts';
import { testLimits } from '../support/limits.ts';

const limits = { ...testLimits, NATTER_KAFKA_SESSION_TIMEOUT_MS: '6000' };
const ws = (role: Role) => role.url!.replace('http', 'ws');

/** Sends `count` messages from `device` without waiting, returning the acks that came back. */
const burst = (device: Device, conversationId: string, from: number, count: number) => {
  for (let i = from; i < from + count; i++) device.send({ type: 'send_message', conversation_id: conversationId, client_msg_id: `k${i}`, content: `m${i}` });
};

/** Every message of the conversation, each once, in seq order (a device's frames may repeat some). */
const distinctSeqs = (frames: Frame[], conversationId: string) =>
  [...new Set(frames.filter((f) => f.type === 'new_message' && f.conversation_id === conversationId).map((f) => f.seq as number))].sort((a, b) => a - b);

describe('cluster faults: processes killed with SIGKILL', { concurrency: false }, () => {
  let env: ClusterNamespace;
  const roles: Role[] = [];
  let sign: (claims: object) => string;
  const spawn = async (role: string, extra: Record<string, string> = {}) => {
    const r = await spawnRole(role, { ...env, ...limits }, extra);
    roles.push(r);
    return r;
  };

  before(async () => {
    env = await clusterNamespace();
    sign = createSigner({ key: env.NATTER_JWT_SECRET!, algorithm: 'HS256', expiresIn: 3_600_000 });
    await spawn('relay');
    await spawn('projector');
    await spawn('projector');
  });
  after(async () => {
    await Promise.all(roles.map((r) => r.kill9()));
  });

  it('loses no acked message when a gateway dies under a send load; clients move to another gateway and resume', async () => {
    const [gwA, gwB, gwC] = [
      await spawn('gateway', { NATTER_GATEWAY_ID: 'gwA' }),
      await spawn('gateway', { NATTER_GATEWAY_ID: 'gwB' }),
      await spawn('gateway', { NATTER_GATEWAY_ID: 'gwC' }),
    ];
    const token = (user: string) => sign({ sub: user });
    // A group that gateway A writes (its owner), so its death also takes the conversation's writer away.
    let group: any;
    for (let i = 0; i < 40; i++) {
      group = (await rest(gwB.url!, token('sender')).post('/v1/conversations', { type: 'group', title: `faults ${i}`, member_ids: ['r1', 'r2'] })).body;
      if (ownerOf(group.conversation_id, ['gwA', 'gwB', 'gwC']) === 'gwA') break;
    }
    assert.equal(ownerOf(group.conversation_id, ['gwA', 'gwB', 'gwC']), 'gwA');
    const sender = await Device.connect(ws(gwA), token('sender'), 'phone');
    const r1 = await Device.connect(ws(gwB), token('r1'), 'phone');
    const r2OnA = await Device.connect(ws(gwA), token('r2'), 'phone');
    const total = 600;
    burst(sender, group.conversation_id, 0, total);
    await sender.waitFor('ack', () => true, 50, 20_000);
    await gwA.kill9();
    const acked = new Map(sender.of('ack').map((a) => [a.client_msg_id as string, a]));

    // The client resends everything with the same client_msg_ids, through another gateway.
    const again = await Device.connect(ws(gwB), token('sender'), 'phone');
    const acks = await Promise.all(Array.from({ length: total }, (_, i) => again.sendMessage(group.conversation_id, `m${i}`, `k${i}`, 30_000)));
    for (const ack of acks) {
      const first = acked.get(ack.client_msg_id);
      if (first) assert.equal(ack.message_id, first.message_id, 'a retry answers with the first ack');
    }
    assert.ok((await metric(gwB.url!, 'natter_commands_routed_total{outcome="fallback"}')) > 0, 'gateway B wrote itself while the owner was gone');
    const r2 = await Device.connect(ws(gwC), token('r2'), 'phone');
    const lastSeen = r2OnA
      .of('new_message')
      .map((f) => f.cursor as string)
      .sort((a, b) => Number(a) - Number(b))
      .at(-1);
    await r2.syncAll(lastSeen);
    const client = rest(gwC.url!, token('r1'));
    const history = await eventually(
      () => allMessages(client, group.conversation_id),
      (items) => items.length >= total,
      { timeoutMs: 30_000, everyMs: 100 },
    );
    assert.deepEqual(
      history.map((m) => m.seq),
      Array.from({ length: total }, (_, i) => i + 1),
      'gapless, each once',
    );
    assert.equal(new Set(history.map((m) => m.client_msg_id)).size, total);
    for (const [id, ack] of acked) assert.equal(history.find((m) => m.client_msg_id === id)?.message_id, ack.message_id);
    // Every device has every message, live or by sync.
    await r1.waitFor('new_message', () => true, total, 30_000);
    assert.deepEqual(
      distinctSeqs(r1.frames, group.conversation_id),
      Array.from({ length: total }, (_, i) => i + 1),
    );
    const r2Seqs = await eventually(
      async () => distinctSeqs([...r2OnA.frames, ...r2.frames], group.conversation_id),
      (s) => s.length >= total,
      { timeoutMs: 30_000, everyMs: 100 },
    );
    assert.deepEqual(
      r2Seqs,
      Array.from({ length: total }, (_, i) => i + 1),
    );
    await Promise.all([sender.close(), again.close(), r1.close(), r2.close(), r2OnA.close()]);
  });

  it('keeps read models exact when a projector worker dies: the other takes its partitions, with no lost or doubled effect', async () => {
    const gw = await spawn('gateway', { NATTER_GATEWAY_ID: 'gwP' });
    const token = (user: string) => sign({ sub: user });
    const conversations = [];
    for (let i = 0; i < 8; i++)
      conversations.push((await rest(gw.url!, token('pa')).post('/v1/conversations', { type: 'direct', peer_id: `pb${i}` })).body.conversation_id as string);
    const sender = await Device.connect(ws(gw), token('pa'), 'phone');
    const perConversation = 60;
    const sends = conversations.flatMap((id) => Array.from({ length: perConversation }, (_, i) => sender.sendMessage(id, `p${i}`, `${id}-p${i}`, 60_000)));
    await sender.waitFor('ack', () => true, 100, 20_000);
    const projectors = roles.filter((r) => r.name === 'projector' && r.child.exitCode === null);
    await projectors[0]!.kill9();
    await Promise.all(sends);
    for (const [i, id] of conversations.entries()) {
      const peer = rest(gw.url!, token(`pb${i}`));
      const history = await eventually(
        () => allMessages(peer, id),
        (items) => items.length >= perConversation,
        { timeoutMs: 60_000, everyMs: 100 },
      );
      assert.deepEqual(
        history.map((m) => m.seq),
        Array.from({ length: perConversation }, (_, k) => k + 1),
      );
      const inbox = await peer.get('/v1/conversations');
      assert.equal(inbox.body.items[0].unread_count, perConversation, 'the inbox counts each message once');
    }
    await spawn('projector');
    await sender.close();
  });

  it('delivers what was appended while the relay was down once it is back', async () => {
    const gw = await spawn('gateway', { NATTER_GATEWAY_ID: 'gwR' });
    const token = (user: string) => sign({ sub: user });
    const { body: conv } = await rest(gw.url!, token('ra')).post('/v1/conversations', { type: 'direct', peer_id: 'rb' });
    const receiver = await Device.connect(ws(gw), token('rb'), 'phone');
    const sender = await Device.connect(ws(gw), token('ra'), 'phone');
    const relay = roles.find((r) => r.name === 'relay' && r.child.exitCode === null)!;
    await relay.kill9();
    const acks = await Promise.all(Array.from({ length: 100 }, (_, i) => sender.sendMessage(conv.conversation_id, `r${i}`, `r${i}`)));
    assert.equal(acks.length, 100, 'appends do not depend on the relay');
    await spawn('relay');
    await receiver.waitFor('new_message', (f) => f.conversation_id === conv.conversation_id, 100, 30_000);
    assert.deepEqual(
      distinctSeqs(receiver.frames, conv.conversation_id),
      Array.from({ length: 100 }, (_, i) => i + 1),
    );
    await Promise.all([sender.close(), receiver.close()]);
  });
});

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createSigner } from 'fast-jwt';
import { startCluster, type RunningCluster } from '../support/cluster.ts';
import { rest, metric } from '../support/natter.ts';
import { Device } from '../support/ws-client.ts';
import { eventually } from '../support/eventually.ts';
import { ownerOf } from '../../command-side/ownership.ts';
import { testLimits } from '../support/limits.ts';

describe('one writer per conversation across gateways', () => {
  let cluster: RunningCluster;
  let sign: (claims: object) => string;
  const ids = () => cluster.gateways.map((g) => g.gateway.owners());
  before(async () => {
    cluster = await startCluster({ NATTER_LOG_LEVEL: 'warn', ...testLimits });
    sign = createSigner({ key: cluster.env.NATTER_JWT_SECRET!, algorithm: 'HS256', expiresIn: 3_600_000 });
    // Every gateway has heard of the others before the race starts.
    await eventually(
      async () => ids(),
      (seen) => seen.every((s) => s.length === 3),
    );
  });
  after(async () => {
    await cluster.close();
  });

  it('given senders on 3 gateways racing into one group, then every send is acked with gapless seq, none conflicts, and two gateways forward to the owner', async () => {
    const users = ['o1', 'o2', 'o3'];
    const { body: group } = await rest(cluster.gateways[0]!.url, sign({ sub: 'o1' })).post('/v1/conversations', {
      type: 'group',
      title: 'race',
      member_ids: users,
    });
    const owner = ownerOf(group.conversation_id, cluster.gateways[0]!.gateway.owners())!;
    const conflictsBefore = await Promise.all(cluster.gateways.map((g) => metric(g.url, 'natter_append_conflicts_total')));
    const senders = await Promise.all(users.map((u, i) => Device.connect(cluster.gateways[i]!.wsUrl, sign({ sub: u }), 'phone')));
    const acks = await Promise.all(
      senders.map((device, s) =>
        Promise.all(Array.from({ length: 300 }, (_, i) => device.sendMessage(group.conversation_id, `s${s}-${i}`, `s${s}-${i}`, 30_000))),
      ),
    );
    assert.deepEqual(
      acks
        .flat()
        .map((a) => a.seq)
        .sort((a, b) => a - b),
      Array.from({ length: 900 }, (_, i) => i + 1),
    );
    for (const list of acks) for (let i = 1; i < list.length; i++) assert.ok(list[i]!.seq > list[i - 1]!.seq, 'a device keeps its send order');
    const conflicts = await Promise.all(cluster.gateways.map((g) => metric(g.url, 'natter_append_conflicts_total')));
    assert.deepEqual(conflicts, conflictsBefore, 'no append raced another gateway');
    for (const [i, g] of cluster.gateways.entries()) {
      const forwarded = await metric(g.url, 'natter_commands_routed_total{outcome="forwarded"}');
      if (`${cluster.env.NATTER_REDIS_PREFIX}-gw${i}` === owner) assert.equal(forwarded, 0, 'the owner runs its commands itself');
      else assert.ok(forwarded >= 300, `gateway ${i} forwarded its sends to the owner (${forwarded})`);
    }
    await Promise.all(senders.map((d) => d.close()));
  });

  it('given the owner drains, then its conversations move to the others and sends keep their order and seq', async () => {
    const { body: group } = await rest(cluster.gateways[0]!.url, sign({ sub: 'd1' })).post('/v1/conversations', {
      type: 'group',
      title: 'move',
      member_ids: ['d1', 'd2'],
    });
    const ownerIndex = cluster.gateways.findIndex((_, i) => ownerOf(group.conversation_id, ids()[0]!) === `${cluster.env.NATTER_REDIS_PREFIX}-gw${i}`);
    const other = cluster.gateways[(ownerIndex + 1) % 3]!;
    const sender = await Device.connect(other.wsUrl, sign({ sub: 'd1' }), 'phone');
    const first = await Promise.all(Array.from({ length: 50 }, (_, i) => sender.sendMessage(group.conversation_id, `a${i}`, `a${i}`)));
    await cluster.gateways[ownerIndex]!.gateway.drain();
    await eventually(
      async () => other.gateway.owners(),
      (o) => o.length === 2,
    );
    const then = await Promise.all(Array.from({ length: 50 }, (_, i) => sender.sendMessage(group.conversation_id, `b${i}`, `b${i}`)));
    assert.deepEqual(
      [...first, ...then].map((a) => a.seq),
      Array.from({ length: 100 }, (_, i) => i + 1),
    );
    assert.equal(ownerOf(group.conversation_id, other.gateway.owners()) !== undefined, true);
    await sender.close();
  });
});

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createSigner } from 'fast-jwt';
import { startCluster, type RunningCluster } from '../support/cluster.ts';
import { rest } from '../support/natter.ts';
import { Device } from '../support/ws-client.ts';
import { testLimits } from '../support/limits.ts';

describe('cluster fan-out', () => {
  let cluster: RunningCluster;
  before(async () => {
    cluster = await startCluster({ NATTER_LOG_LEVEL: 'warn', ...testLimits, NATTER_MAX_SOCKETS_PER_USER: '10' });
  });
  after(async () => {
    await cluster.close();
  });

  it('given a 1,000-member group spread over 3 gateways, when one message is sent, then it costs 3 publishes (one per gateway) and reaches every member', async () => {
    const sign = createSigner({ key: cluster.env.NATTER_JWT_SECRET!, algorithm: 'HS256', expiresIn: 3_600_000 });
    const members = Array.from({ length: 1000 }, (_, i) => `m${i}`);
    const owner = rest(cluster.gateways[0]!.url, sign({ sub: members[0] }));
    const { body: group } = await owner.post('/v1/conversations', { type: 'group', title: 'big', member_ids: members });
    assert.equal(group.members.length, 1000);
    const devices: Device[] = [];
    for (let i = 0; i < members.length; i += 50) {
      devices.push(
        ...(await Promise.all(members.slice(i, i + 50).map((user, k) => Device.connect(cluster.gateways[(i + k) % 3]!.wsUrl, sign({ sub: user }), 'phone')))),
      );
    }
    // Let connection-time traffic (presence, registration) settle before counting.
    await new Promise((r) => setTimeout(r, 1_000));
    const before = cluster.published();
    const ack = await devices[0]!.sendMessage(group.conversation_id, 'hello, 999 people');
    await Promise.all(devices.map((d) => d.waitFor('new_message', (f) => f.message_id === ack.message_id, 1, 20_000)));
    // The fast path delivered it from the appending gateway; the projector's durable path publishes it again.
    const deadline = Date.now() + 20_000;
    while (cluster.published() - before < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(cluster.published() - before, 3, 'one publish per gateway, whatever the number of members');
    await Promise.all(devices.map((d) => d.close()));
  });
});

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { createSigner } from 'fast-jwt';
import { loadConfig } from '../../app/config.ts';
import { loadClusterConfig } from '../../app/cluster/config.ts';
import { createGateway, type Gateway } from '../../app/cluster/gateway.ts';
import { startProjectorWorker } from '../../app/cluster/projector.ts';
import { startClusterRelay } from '../../app/cluster/relay.ts';
import { clusterNamespace, type ClusterNamespace } from '../support/cluster.ts';
import { allMessages, rest } from '../support/natter.ts';
import { eventually } from '../support/eventually.ts';
import { Device } from '../support/ws-client.ts';
import { testLimits } from '../support/limits.ts';

/*
 * Issue #18: the fan-out reactor caches each conversation's members, and only the worker that
 * applies a membership event sees it. A conversation whose partition moves to another worker for a
 * removal and then comes back must not keep the removed member in the first worker's cache.
 */
describe('cluster fan-out across a rebalance', { timeout: 240_000 }, () => {
  const GROUPS = 12;
  let env: ClusterNamespace;
  let relay: Awaited<ReturnType<typeof startClusterRelay>>;
  let first: Awaited<ReturnType<typeof startProjectorWorker>>;
  let second: Awaited<ReturnType<typeof startProjectorWorker>> | undefined;
  let gateway: Gateway;
  let url: string;
  const devices: Device[] = [];

  before(async () => {
    env = { ...(await clusterNamespace()), NATTER_LOG_LEVEL: 'warn', ...testLimits, NATTER_KAFKA_SESSION_TIMEOUT_MS: '6000' };
    const cluster = loadClusterConfig(env);
    relay = await startClusterRelay(cluster, loadConfig(env, 'cluster'));
    first = await startProjectorWorker(loadConfig(env, 'cluster'), cluster);
    gateway = await createGateway(loadConfig(env, 'cluster'), { ...cluster, gatewayId: `${env.NATTER_REDIS_PREFIX}-gw` });
    url = await gateway.app.listen({ host: '127.0.0.1', port: 0 });
  });
  after(async () => {
    await Promise.all(devices.map((d) => d.close().catch(() => {})));
    await gateway?.close();
    await second?.stop();
    await first?.stop();
    await relay?.stop();
  });

  it('given groups whose members the first worker cached, when a member is removed while a second worker holds some of their partitions and it then leaves, then the removed member receives nothing more', async () => {
    const sign = createSigner({ key: env.NATTER_JWT_SECRET!, algorithm: 'HS256', expiresIn: 3_600_000 });
    const ann = rest(url, sign({ sub: 'ann' }));
    const wsUrl = url.replace('http', 'ws');
    const [annPhone, rob, sue] = await Promise.all(['ann', 'rob', 'sue'].map((user) => Device.connect(wsUrl, sign({ sub: user }), 'phone')));
    devices.push(annPhone!, rob!, sue!);
    const groups: string[] = [];
    for (let i = 0; i < GROUPS; i++)
      groups.push((await ann.post('/v1/conversations', { type: 'group', title: `g${i}`, member_ids: ['rob', 'sue'] })).body.conversation_id);

    // The first worker alone fans these out, and caches every group's members (rob among them).
    for (const id of groups) await annPhone!.sendMessage(id, 'before');
    await Promise.all(groups.map((id) => rob!.waitFor('new_message', (f) => f.conversation_id === id, 1, 20_000)));

    // A second worker joins: the partitions are split between the two, and rob is removed everywhere.
    second = await startProjectorWorker(loadConfig(env, 'cluster'), loadClusterConfig(env));
    await sleep(3_000); // the first worker hears of the rebalance at its next heartbeat
    for (const id of groups) assert.equal((await ann.delete(`/v1/conversations/${id}/members/rob`)).status, 200);

    // The second worker leaves: the first one gets every partition back.
    await second.stop();
    second = undefined;
    const removedAt = rob!.of('new_message').length;
    for (const id of groups) await annPhone!.sendMessage(id, 'after');
    await Promise.all(groups.map((id) => sue!.waitFor('new_message', (f) => f.conversation_id === id && f.content === 'after', 1, 60_000)));
    // Sue has them from the fast path, which knew rob was gone. The first worker's fan-out follows its
    // history writes: once history holds every 'after', its frames have left, or are about to.
    for (const id of groups)
      await eventually(
        () => allMessages(ann, id),
        (items) => items.some((m) => m.content === 'after'),
        { timeoutMs: 60_000, everyMs: 250 },
      );
    await sleep(1_500);
    const leaked = rob!
      .of('new_message')
      .slice(removedAt)
      .map((f) => f.conversation_id);
    assert.deepEqual(leaked, [], `rob received messages of ${leaked.length} group(s) he was removed from`);
  });
});

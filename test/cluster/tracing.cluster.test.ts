import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createSigner } from 'fast-jwt';
import { startCluster, type RunningCluster } from '../support/cluster.ts';
import { rest } from '../support/natter.ts';
import { Device } from '../support/ws-client.ts';
import { eventually } from '../support/eventually.ts';
import { ancestry, startOtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.ts';

// Every role exports over real OTLP/HTTP (JSON) to this receiver, as to a collector; the links
// between roles are only what the carriers took along (event metadata, Kafka headers, the command
// bus, the Redis envelope): each role has its own tracer provider.
describe('cluster tracing', () => {
  let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;
  let cluster: RunningCluster;
  before(async () => {
    receiver = await startOtlpReceiver();
    cluster = await startCluster(
      {
        NATTER_LOG_LEVEL: 'warn',
        NATTER_OTEL_ENABLED: 'true',
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_BSP_SCHEDULE_DELAY: '50',
      },
      { gateways: 2 },
    );
  });
  after(async () => {
    await cluster?.close();
    await receiver?.close();
  });

  const names = (chain: ReceivedSpan[]) => chain.map((s) => s.name);
  const role = (span: ReceivedSpan) => span.resource['natter.role'];

  it("given alice on one gateway and bob on the other, when alice sends, then one trace leads from her send_message frame to the delivery on bob's gateway, by the durable path and by the fast path", async () => {
    const sign = createSigner({ key: cluster.env.NATTER_JWT_SECRET!, algorithm: 'HS256', expiresIn: 3_600_000 });
    const [gw0, gw1] = cluster.gateways;
    const { body: group } = await rest(gw0!.url, sign({ sub: 'alice' })).post('/v1/conversations', { type: 'group', title: 'traced', member_ids: ['bob'] });
    const alice = await Device.connect(gw0!.wsUrl, sign({ sub: 'alice' }), 'phone');
    const bob = await Device.connect(gw1!.wsUrl, sign({ sub: 'bob' }), 'phone');
    try {
      const clientMsgId = `traced-${Date.now()}`;
      const ack = await alice.sendMessage(group.conversation_id, 'follow me', clientMsgId);
      await bob.waitFor('new_message', (f) => f.message_id === ack.message_id, 1, 10_000);

      const gw1Id = `${cluster.env.NATTER_REDIS_PREFIX}-gw1`;
      const root = () => receiver.spans.find((s) => s.name === 'natter.ws send_message' && s.attributes['natter.client_msg_id'] === clientMsgId);
      // Both deliveries on bob's gateway: one by the fast path, one by the projector's fan-out.
      const deliveries = () => {
        const send = root();
        return send
          ? receiver.spans.filter((s) => s.name === 'natter.deliver' && s.traceId === send.traceId && s.resource['service.instance.id'] === gw1Id)
          : [];
      };
      const chains = () => deliveries().map((d) => ancestry(receiver.spans, d));
      const complete = (chain: ReceivedSpan[]) => chain.at(-1)?.name === 'natter.ws send_message';
      const by = (name: string) => (chain: ReceivedSpan[]) => chain.some((s) => s.name === name);
      const found = await eventually(
        async () => chains().filter(complete),
        (f) => f.some(by('natter.relay')) && f.some(by('natter.fastpath')),
        { timeoutMs: 20_000 },
      );
      assert.ok(found.some(by('natter.relay')), `a durable-path chain; have ${JSON.stringify(chains().map(names))}`);
      assert.ok(found.some(by('natter.fastpath')), `a fast-path chain; have ${JSON.stringify(chains().map(names))}`);

      const send = root()!;
      assert.equal(send.resource['service.instance.id'], `${cluster.env.NATTER_REDIS_PREFIX}-gw0`, "the trace starts on alice's gateway");
      assert.equal(send.parentSpanId, undefined, 'the send_message span is the root');
      for (const chain of found) {
        assert.ok(
          chain.every((s) => s.traceId === send.traceId),
          'one trace',
        );
        // The owner may be alice's gateway (no routing) or bob's (the command crosses the bus).
        const withoutRouting = names(chain).filter((n) => n !== 'natter.command sendMessage');
        if (chain.some((s) => s.name === 'natter.relay')) {
          assert.deepEqual(withoutRouting, ['natter.deliver', 'natter.publish', 'natter.project', 'natter.relay', 'natter.append', 'natter.ws send_message']);
          assert.deepEqual(chain.slice(0, 4).map(role), ['gateway', 'projector', 'projector', 'relay'], 'deliver, publish, project, relay: each in its role');
        } else {
          assert.deepEqual(withoutRouting, ['natter.deliver', 'natter.publish', 'natter.fastpath', 'natter.append', 'natter.ws send_message']);
        }
        const append = chain.find((s) => s.name === 'natter.append')!;
        const command = chain.find((s) => s.name === 'natter.command sendMessage');
        if (command) {
          assert.notEqual(command.resource['service.instance.id'], send.resource['service.instance.id'], 'a routed command runs on the other gateway');
          assert.equal(append.parentSpanId, command.spanId);
        } else {
          assert.equal(append.parentSpanId, send.spanId);
        }
      }
      const relay = receiver.spans.find((s) => s.name === 'natter.relay' && s.traceId === send.traceId)!;
      assert.equal(relay.attributes['messaging.destination.name'], cluster.env.NATTER_KAFKA_EVENTS_TOPIC);
    } finally {
      await alice.close();
      await bob.close();
    }
  });
});

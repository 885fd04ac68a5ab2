// embedded only: this file builds the embedded server with an in-memory span exporter; the cluster's
// trace, across its roles, is checked by test/cluster/tracing.cluster.test.ts.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { loadConfig } from '../../app/config.ts';
import { createEmbeddedNatter, embeddedPaths, type Natter } from '../../app/embedded.ts';
import { createOtelTracing } from '../../adapters/otel/tracing.ts';
import { createSqliteEventStore } from '../../adapters/sqlite/event-store.ts';
import { rest, tempDir } from '../support/natter.ts';
import { Device } from '../support/ws-client.ts';
import { eventually } from '../support/eventually.ts';

const token = async (url: string, userId: string) => (await rest(url).post('/v1/auth/dev-token', { user_id: userId })).body.token as string;

/** A server, a group of alice and bob with a device each, and one message from alice that bob received. */
const sendOne = async (natter: Natter, clientMsgId: string) => {
  const url = await natter.app.listen({ host: '127.0.0.1', port: 0 });
  const [aliceToken, bobToken] = [await token(url, 'alice'), await token(url, 'bob')];
  const { body: group } = await rest(url, aliceToken).post('/v1/conversations', { type: 'group', title: 'traced', member_ids: ['bob'] });
  const wsUrl = url.replace('http', 'ws');
  const alice = await Device.connect(wsUrl, aliceToken);
  const bob = await Device.connect(wsUrl, bobToken);
  const ack = await alice.sendMessage(group.conversation_id, 'follow me', clientMsgId);
  await bob.waitFor('new_message', (f) => f.message_id === ack.message_id);
  await alice.close();
  await bob.close();
  return ack;
};

const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;

/** What the log holds of the MessageSent events, read back from the closed server's SQLite file. */
const sentInLog = async (dataDir: string) => {
  const store = createSqliteEventStore({ path: embeddedPaths(dataDir).events });
  try {
    return (await store.readAll({ after: 0, maxCount: 1000 })).filter((e) => e.type === 'MessageSent');
  } finally {
    await store.close();
  }
};

describe('tracing (embedded)', () => {
  it('given tracing on, when alice sends over her socket, then the spans send_message → append → deliver form one trace', async () => {
    const exporter = new InMemorySpanExporter();
    const dataDir = tempDir();
    const config = loadConfig({ NATTER_DATA_DIR: dataDir, NATTER_LOG_LEVEL: 'warn', NATTER_OTEL_ENABLED: 'true' });
    const natter = await createEmbeddedNatter(config, { tracing: createOtelTracing({ serviceName: 'natter-test', role: 'embedded', exporter }) });
    try {
      await sendOne(natter, 'traced-1');
    } finally {
      await natter.close();
    }

    const spans = await eventually(
      async () => exporter.getFinishedSpans(),
      (s) => s.some((span) => span.name === 'natter.deliver'),
    );
    const send = spans.find((s) => s.name === 'natter.ws send_message' && s.attributes['natter.client_msg_id'] === 'traced-1');
    assert.ok(send, `a send_message span; have ${spans.map((s) => s.name).join(', ')}`);
    assert.equal(parentOf(send), undefined, 'the frame starts the trace');
    const append = spans.find((s) => s.name === 'natter.append' && parentOf(s) === send.spanContext().spanId);
    assert.ok(append, 'the append is a child of the send_message span');
    assert.equal(append.spanContext().traceId, send.spanContext().traceId);
    const deliveries = spans.filter((s) => s.name === 'natter.deliver' && parentOf(s) === append.spanContext().spanId);
    assert.ok(
      deliveries.length >= 1,
      `the fan-out's delivery is a child of the append; have ${spans.map((s) => `${s.name}<${parentOf(s) ?? '-'}`).join(', ')}`,
    );
    assert.ok(
      deliveries.every((d) => d.spanContext().traceId === send.spanContext().traceId),
      'one trace',
    );
    const [sent] = await sentInLog(dataDir);
    const { traceId, spanId } = append.spanContext();
    assert.equal(sent?.metadata?.traceparent, `00-${traceId}-${spanId}-01`, "the event keeps the append's context in the log");
  });

  it('given tracing off (the default), when a message is sent, then its event carries no trace context', async () => {
    const dataDir = tempDir();
    const config = loadConfig({ NATTER_DATA_DIR: dataDir, NATTER_LOG_LEVEL: 'warn' });
    assert.equal(config.tracing.enabled, false);
    const natter = await createEmbeddedNatter(config);
    try {
      await sendOne(natter, 'untraced-1');
    } finally {
      await natter.close();
    }
    const sent = await sentInLog(dataDir);
    assert.equal(sent.length, 1);
    assert.equal(sent[0]!.metadata, undefined, 'no metadata: nothing of tracing reached the log');
  });
});

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { createSigner } from 'fast-jwt';
import { connectCassandra } from '../../adapters/cassandra/client.ts';
import { migrate } from '../../adapters/cassandra/migrations.ts';
import { clusterNamespace, dropClusterNamespace } from '../../scripts/cluster-namespace.ts';
import { spawnRole, type Role } from './cluster-processes.ts';
import { startPrivateEngines, type PrivateEngines } from './private-engines.ts';
import { eventually } from './eventually.ts';
import { rest, allMessages } from './natter.ts';
import { liveArrivals, steadySender, type SteadySender } from './steady-load.ts';
import { Device, type Frame } from './ws-client.ts';
import { testLimits } from './limits.ts';

/*
 * A store killed with -9 under a steady send load and started again after `downMs` (issue #18): the
 * cluster runs as processes (3 gateways, a projector worker, the relay, a push worker) with that
 * store a private one of the test's own (test/support/private-engines.ts) and the other engines the
 * shared ones, in a namespace of their own. Every acked message must reach history and the receiving
 * device, and no Natter process may exit. NATTER_TEST_ROLE_LOGS=<dir> keeps each role's output there.
 */

const limits = { ...testLimits, NATTER_KAFKA_SESSION_TIMEOUT_MS: '6000' };
/** A send with no answer (ack or error frame) after this long counts as hung, and is sent again. */
const REPLY_TIMEOUT_MS = 10_000;
const ms = (value: number) => (Number.isFinite(value) ? `${(value / 1000).toFixed(1)} s` : 'never');

type Pair = { name: string; sender: SteadySender; receiver: Device; arrivals: Array<{ frame: Frame; at: number }>; receiverToken: string };

export type OutageOptions = {
  engine: 'postgres' | 'cassandra';
  /** How long the store stays down. */
  downMs: number;
  /** Messages per second over all the gateways. */
  rate: number;
  /** After the store is back, sends must be acked and delivered live again within this. */
  recoveryMs: number;
};

/** Runs the whole scenario and asserts on it; returns the figures it printed. */
export const storeOutageUnderLoad = async (options: OutageOptions) => {
  const roles: Role[] = [];
  const pairs: Pair[] = [];
  const devices: Device[] = [];
  let engines: PrivateEngines | undefined;
  const namespace = await clusterNamespace();
  try {
    engines = await startPrivateEngines([options.engine]);
    const env: Record<string, string> = { ...namespace, ...engines.env, ...limits };
    if (options.engine === 'cassandra') {
      // The namespace's keyspace, on the private Cassandra (clusterNamespace made it on the shared one).
      const client = await connectCassandra({ contactPoints: [engines.env.NATTER_CASSANDRA_CONTACT_POINTS!], localDataCenter: env.NATTER_CASSANDRA_DC! });
      try {
        await migrate(client, env.NATTER_CASSANDRA_KEYSPACE!, { replication: { class: 'SimpleStrategy', replication_factor: 1 } });
      } finally {
        await client.shutdown();
      }
    }
    const sign = createSigner({ key: env.NATTER_JWT_SECRET!, algorithm: 'HS256', expiresIn: 3_600_000 });
    const spawnAll = async (...specs: Array<[string, Record<string, string>]>) => {
      const started = await Promise.allSettled(specs.map(([role, extra]) => spawnRole(role, env, extra)));
      for (const s of started) if (s.status === 'fulfilled') roles.push(s.value);
      for (const s of started) if (s.status === 'rejected') throw s.reason;
      return started.map((s) => (s as PromiseFulfilledResult<Role>).value);
    };
    await spawnAll(['relay', {}], ['projector', {}], ['push-worker', {}]);
    const gateways = await spawnAll(...[1, 2, 3].map((i): [string, Record<string, string>] => ['gateway', { NATTER_GATEWAY_ID: `gw${i}` }]));
    const ws = (role: Role) => role.url!.replace('http', 'ws');

    // Three conversations, each from one gateway to the next: 20 msgs/s in all crosses every pair of gateways.
    const everyMs = Math.round((1000 * 3) / options.rate);
    for (const i of [0, 1, 2]) {
      const [from, to] = [`s${i}`, `r${i}`];
      const senderToken = sign({ sub: from });
      const receiverToken = sign({ sub: to });
      const { body: conversation } = await rest(gateways[i]!.url!, senderToken).post('/v1/conversations', { type: 'direct', peer_id: to });
      const receiver = await Device.connect(ws(gateways[(i + 1) % 3]!), receiverToken, 'phone');
      const arrivals = liveArrivals(receiver);
      const device = await Device.connect(ws(gateways[i]!), senderToken, 'phone');
      devices.push(receiver, device);
      pairs.push({
        name: `${from}→${to}`,
        sender: steadySender(device, conversation.conversation_id, from, { everyMs, replyTimeoutMs: REPLY_TIMEOUT_MS }),
        receiver,
        arrivals,
        receiverToken,
      });
    }
    await sleep(3_000);
    assert.ok(
      pairs.every((p) => p.arrivals.length > 0),
      'the load is delivered before the fault',
    );

    const deliveredLive = (pair: Pair, messageId: string) => pair.arrivals.some((a) => a.frame.message_id === messageId);
    const killedAt = Date.now();
    await engines.kill9(options.engine);
    await sleep(options.downMs);
    await engines.start(options.engine);
    const upAt = Date.now();
    const resumed = await eventually(
      async () => pairs.every((pair) => pair.sender.all().some((s) => s.firstSentAt >= upAt && s.ack && deliveredLive(pair, s.ack.message_id))),
      (done) => done,
      { timeoutMs: options.recoveryMs, everyMs: 100 },
    );
    const settledAt = Date.now();
    for (const pair of pairs) pair.sender.stop();
    const settled = await Promise.all(pairs.map((pair) => pair.sender.settle(60_000)));

    const figures = pairs.map((pair) => {
      const sends = pair.sender.all();
      const acks = sends
        .filter((s) => s.ackAt !== undefined)
        .map((s) => s.ackAt!)
        .sort((a, b) => a - b);
      const arrivalOf = new Map(pair.arrivals.map((a) => [a.frame.message_id as string, a.at]));
      const ackedBefore = sends.filter((s) => s.ackAt !== undefined && s.ackAt < upAt);
      const lateLive = ackedBefore.map((s) => arrivalOf.get(s.ack!.message_id)).filter((at): at is number => at !== undefined && at > killedAt);
      return {
        conversation: pair.name,
        sends: sends.length,
        'acked while down': sends.filter((s) => s.ackAt !== undefined && s.ackAt >= killedAt && s.ackAt < upAt).length,
        'refused while down': sends.filter((s) => s.errors.some((e) => e.at >= killedAt && e.at < upAt)).length,
        'acks resumed after up': ms((acks.find((at) => at >= upAt) ?? NaN) - upAt),
        'live delivery resumed after up': ms((pair.arrivals.find((a) => a.at >= upAt)?.at ?? NaN) - upAt),
        'acked before up, delivered live by': lateLive.length > 0 ? ms(Math.max(...lateLive) - upAt) : '—',
      };
    });
    console.log(
      `# ${options.engine} killed with -9 under ${options.rate} msgs/s over 3 gateways, down ${ms(upAt - killedAt)} (${options.downMs / 1000} s pause, then start); resumed ${resumed ? `within ${ms(settledAt - upAt)} of being back` : 'NOT within the bound'}`,
    );
    console.table(figures);

    // No process died or was restarted; they logged the outage and kept going.
    for (const role of roles) {
      assert.equal(role.child.exitCode, null, `${role.name} exited: ${role.output().slice(-2_000)}`);
      assert.equal(role.child.signalCode, null, `${role.name} was killed`);
      assert.doesNotMatch(role.output(), /UnhandledPromiseRejection|ERR_UNHANDLED_REJECTION|uncaughtException/, `${role.name} had an unhandled rejection`);
    }
    assert.ok(resumed, `sends were not acked and delivered live again within ${options.recoveryMs} ms of ${options.engine} being back`);
    assert.ok(settled.every(Boolean), 'every send is acked in the end');

    for (const pair of pairs) {
      const sends = pair.sender.all();
      const errors = sends.flatMap((s) => s.errors);
      // While the log is down a send is refused as unavailable; the retries that pile up meanwhile may
      // then meet the conversation's send rate (rate_limited): both say when to try again.
      const codes = [...new Set(errors.map((e) => e.code))];
      assert.deepEqual(
        codes.filter((code) => code !== 'unavailable' && code !== 'rate_limited'),
        [],
        `other refusals: ${JSON.stringify(errors.filter((e) => e.code !== 'unavailable').slice(0, 3))}`,
      );
      assert.ok(
        errors.every((e) => e.message.length > 0 && typeof e.retry_after_ms === 'number'),
        'a refusal says why and when to retry',
      );
      assert.deepEqual(pair.sender.mismatches, [], 'a retried send gets its first ack back');

      // History holds every acked message once, with the acked id and seq, gapless.
      const reader = rest(gateways[0]!.url!, pair.receiverToken);
      // 503 is a fair answer while the read model's engine is coming back (say when to retry): read again.
      const readAll = () =>
        allMessages(reader, pair.sender.conversationId).catch((error: Error) => {
          if (error.message.includes('answered 503')) return [];
          const logged = gateways[0]!
            .output()
            .split('\n')
            .filter((line) => line.includes('"level":50'));
          throw new Error(`${error.message}; the gateway logged: ${logged.slice(-3).join('\n') || 'no error'}`);
        });
      const history = await eventually(readAll, (items) => items.length >= sends.length, { timeoutMs: 120_000, everyMs: 250 });
      assert.deepEqual(
        history.map((m) => m.seq),
        Array.from({ length: sends.length }, (_, i) => i + 1),
        `${pair.name}: history is gapless, each message once`,
      );
      const byClientId = new Map(history.map((m) => [m.client_msg_id as string, m]));
      for (const send of sends) assert.equal(byClientId.get(send.id)?.message_id, send.ack!.message_id, `${pair.name}: ${send.id} is in history as acked`);

      // The receiving device saw each message once and in seq order live; a sync from its last
      // cursor (what a client does after any reconnect) brings whatever it did not get live.
      const live = pair.arrivals.filter((a) => a.frame.conversation_id === pair.sender.conversationId).map((a) => a.frame.seq as number);
      assert.deepEqual(
        live,
        [...new Set(live)].sort((a, b) => a - b),
        `${pair.name}: live frames come once each, in seq order`,
      );
      const lastCursor = pair.arrivals
        .map((a) => a.frame.cursor as string)
        .sort((a, b) => Number(a) - Number(b))
        .at(-1);
      const { messages: synced } = pair.receiver.open ? await pair.receiver.syncAll(lastCursor) : { messages: [] };
      const seen = new Set([...live, ...synced.filter((f) => f.conversation_id === pair.sender.conversationId).map((f) => f.seq as number)]);
      const missing = history.filter((m) => !seen.has(m.seq)).map((m) => m.seq);
      console.log(
        `# ${pair.name}: ${sends.length} sent and acked, ${live.length} delivered live, ${missing.length} missing after a sync from the last live cursor; receiver socket ${pair.receiver.open ? 'open' : `closed (${pair.receiver.closeCode})`}`,
      );
      assert.deepEqual(missing, [], `${pair.name}: messages the device got neither live nor by sync from its cursor`);
      assert.ok(pair.receiver.open && pair.sender.device.open, `${pair.name}: no socket was closed by the outage`);
    }
    return figures;
  } finally {
    if (process.env.NATTER_TEST_ROLE_LOGS)
      for (const [i, r] of roles.entries()) writeFileSync(`${process.env.NATTER_TEST_ROLE_LOGS}/${options.engine}-${i}-${r.name}.log`, r.output());
    for (const pair of pairs) pair.sender.close();
    await Promise.all(devices.map((d) => d.close().catch(() => {})));
    await Promise.all(roles.map((r) => r.kill9()));
    await engines?.close();
    await dropClusterNamespace(namespace);
  }
};

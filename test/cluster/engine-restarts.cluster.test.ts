import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { createSigner } from 'fast-jwt';
import { clusterNamespace, type ClusterNamespace } from '../support/cluster.ts';
import { spawnRole, type Role } from '../support/cluster-processes.ts';
import { startPrivateEngines, type PrivateEngine, type PrivateEngines } from '../support/private-engines.ts';
import { eventually } from '../support/eventually.ts';
import { rest, allMessages } from '../support/natter.ts';
import { liveArrivals, steadySender, type SteadySender } from '../support/steady-load.ts';
import { Device, type Frame } from '../support/ws-client.ts';
import { testLimits } from '../support/limits.ts';

/*
 * Issue #6: a restart of Kafka or of Redis is survived with retries and backoff, not crashes.
 * The cluster runs as processes (2 gateways, a projector worker, the relay) on a Redis and a Kafka of
 * this file's own, which it kills with -9 and starts again under a steady send load; PostgreSQL and
 * Cassandra are the shared engines, in a namespace of their own. NATTER_TEST_ROLE_LOGS=<dir> keeps
 * each role's output there.
 */

const limits = { ...testLimits, NATTER_KAFKA_SESSION_TIMEOUT_MS: '6000' };
const SEND_EVERY_MS = 100;
/** A send with no answer (ack or error frame) after this long counts as hung. */
const REPLY_TIMEOUT_MS = 10_000;
/** How long each engine stays down. */
const DOWN_MS = 3_000;
/** After the engine is back, sends must be acked and delivered live again within this. */
const RECOVERY_BOUND_MS = 30_000;

type Pair = { name: string; sender: SteadySender; receiver: Device; arrivals: Array<{ frame: Frame; at: number }>; receiverToken: string };

const ms = (value: number) => (Number.isFinite(value) ? `${(value / 1000).toFixed(1)} s` : 'never');

describe('cluster: a restart of Redis or Kafka is survived (issue #6)', { concurrency: false, timeout: 300_000 }, () => {
  let engines: PrivateEngines;
  let env: ClusterNamespace;
  const roles: Role[] = [];
  const pairs: Pair[] = [];
  const devices: Device[] = [];
  let sign: (claims: object) => string;
  let gateways: Role[] = [];

  before(async () => {
    let namespace: ClusterNamespace;
    [engines, namespace] = await Promise.all([startPrivateEngines(), clusterNamespace()]);
    env = { ...namespace, ...engines.env, ...limits };
    sign = createSigner({ key: env.NATTER_JWT_SECRET!, algorithm: 'HS256', expiresIn: 3_600_000 });
    // Started side by side, but every start is awaited before any failure is thrown, so that after()
    // has every process to kill (one left running would keep this test from ending).
    const spawnAll = async (...specs: Array<[string, Record<string, string>]>) => {
      const started = await Promise.allSettled(specs.map(([role, extra]) => spawnRole(role, env, extra)));
      for (const s of started) if (s.status === 'fulfilled') roles.push(s.value);
      for (const s of started) if (s.status === 'rejected') throw s.reason;
      return started.map((s) => (s as PromiseFulfilledResult<Role>).value);
    };
    await spawnAll(['relay', {}], ['projector', {}]);
    gateways = await spawnAll(['gateway', { NATTER_GATEWAY_ID: 'gw1' }], ['gateway', { NATTER_GATEWAY_ID: 'gw2' }]);
  });

  after(async () => {
    if (process.env.NATTER_TEST_ROLE_LOGS)
      for (const [i, r] of roles.entries()) writeFileSync(`${process.env.NATTER_TEST_ROLE_LOGS}/${i}-${r.name}.log`, r.output());
    for (const pair of pairs) pair.sender.close();
    await Promise.all(devices.map((d) => d.close().catch(() => {})));
    await Promise.all(roles.map((r) => r.kill9()));
    await engines?.close();
  });

  it('given a steady send load, when Redis and then Kafka are killed and started again, then no process dies, no acked message is lost and sending and delivery resume', async () => {
    const ws = (role: Role) => role.url!.replace('http', 'ws');
    // Two conversations whose sender and receiver are on different gateways: delivery crosses Redis pub/sub.
    for (const [name, from, to, senderGw, receiverGw] of [
      ['ab', 'alice', 'bob', 0, 1],
      ['cd', 'carol', 'dave', 1, 0],
    ] as const) {
      const senderToken = sign({ sub: from });
      const receiverToken = sign({ sub: to });
      const { body: conversation } = await rest(gateways[senderGw]!.url!, senderToken).post('/v1/conversations', { type: 'direct', peer_id: to });
      const receiver = await Device.connect(ws(gateways[receiverGw]!), receiverToken, 'phone');
      const arrivals = liveArrivals(receiver);
      const device = await Device.connect(ws(gateways[senderGw]!), senderToken, 'phone');
      devices.push(receiver, device);
      pairs.push({
        name,
        sender: steadySender(device, conversation.conversation_id, name, { everyMs: SEND_EVERY_MS, replyTimeoutMs: REPLY_TIMEOUT_MS }),
        receiver,
        arrivals,
        receiverToken,
      });
    }

    const deliveredLive = (pair: Pair, messageId: string) => pair.arrivals.some((a) => a.frame.message_id === messageId);
    /** Restarts `engine` under the load; returns when a send made after the restart is acked and delivered live in every conversation. */
    const restart = async (engine: PrivateEngine) => {
      const killedAt = Date.now();
      await engines.kill9(engine);
      await sleep(DOWN_MS);
      await engines.start(engine);
      const upAt = Date.now();
      const resumed = await eventually(
        async () => pairs.every((pair) => pair.sender.all().some((s) => s.firstSentAt >= upAt && s.ack && deliveredLive(pair, s.ack.message_id))),
        (done) => done,
        { timeoutMs: RECOVERY_BOUND_MS, everyMs: 100 },
      );
      const settledAt = Date.now();
      await sleep(2_000);
      const figures = pairs.map((pair) => {
        const sends = pair.sender.all();
        const acks = sends
          .filter((s) => s.ackAt !== undefined)
          .map((s) => s.ackAt!)
          .sort((a, b) => a - b);
        const inWindow = acks.filter((at) => at >= killedAt - 1_000 && at <= settledAt);
        const ackGap = inWindow.slice(1).reduce((max, at, i) => Math.max(max, at - inWindow[i]!), 0);
        const waits = sends
          .flatMap((s) => s.waits)
          .filter((w) => w.sentAt >= killedAt && w.sentAt <= settledAt)
          .map((w) => w.ms);
        const ackedInOutage = sends.filter((s) => s.ackAt !== undefined && s.ackAt >= killedAt - 1_000 && s.ackAt < upAt);
        const arrivalOf = new Map(pair.arrivals.map((a) => [a.frame.message_id as string, a.at]));
        const backlog = ackedInOutage.map((s) => arrivalOf.get(s.ack!.message_id));
        const lost = ackedInOutage.filter((s) => !arrivalOf.has(s.ack!.message_id));
        if (lost.length > 0)
          console.log(
            `# ${engine} ${pair.name} not live: ${lost.map((s) => `seq ${s.ack!.seq} sent ${s.firstSentAt - killedAt} ms after the kill, acked ${s.ackAt! - killedAt}`).join('; ')} (up at ${upAt - killedAt})`,
          );
        return {
          conversation: pair.name,
          'acks resumed after the engine was up': ms((acks.find((at) => at >= upAt) ?? NaN) - upAt),
          'longest gap between acks': ms(ackGap),
          'slowest answer to a send': ms(Math.max(0, ...waits)),
          'sends refused': sends.filter((s) => s.errors.some((e) => e.at >= killedAt && e.at <= settledAt)).length,
          'live delivery resumed after up': ms((pair.arrivals.find((a) => a.at >= upAt)?.at ?? NaN) - upAt),
          'acked while down, delivered live by': backlog.every((at) => at !== undefined)
            ? ms(Math.max(upAt, ...(backlog as number[])) - upAt)
            : `${backlog.filter((at) => at === undefined).length} missing live`,
        };
      });
      console.log(
        `# ${engine} restart: down for ${ms(upAt - killedAt)} (kill -9, ${DOWN_MS / 1000} s pause, start); resumed ${resumed ? `in ${ms(settledAt - upAt)}` : 'NOT within the bound'}`,
      );
      console.table(figures);
      return resumed;
    };

    await sleep(3_000);
    assert.ok(
      pairs.every((p) => p.arrivals.length > 0),
      'the load is delivered before any fault',
    );
    const redisResumed = await restart('redis');
    const kafkaResumed = await restart('kafka');
    for (const pair of pairs) pair.sender.stop();
    await Promise.all(pairs.map((pair) => pair.sender.settle(30_000)));

    // No process died; they logged the engine errors and kept going.
    for (const role of roles) {
      assert.equal(role.child.exitCode, null, `${role.name} exited: ${role.output().slice(-2_000)}`);
      assert.equal(role.child.signalCode, null, `${role.name} was killed`);
      assert.doesNotMatch(role.output(), /UnhandledPromiseRejection|ERR_UNHANDLED_REJECTION|uncaughtException/, `${role.name} had an unhandled rejection`);
    }
    // ioredis prints "Unhandled error event" for a connection with no 'error' listener: noise, not a crash.
    console.log(
      `# log lines by role: ${roles.map((r) => `${r.name} ${r.output().split('\n').filter(Boolean).length} (ioredis "Unhandled error event": ${r.output().split('[ioredis] Unhandled error event').length - 1})`).join(', ')}`,
    );
    assert.ok(redisResumed, `sends were not acked and delivered again within ${RECOVERY_BOUND_MS} ms of Redis being back`);
    assert.ok(kafkaResumed, `sends were not acked and delivered again within ${RECOVERY_BOUND_MS} ms of Kafka being back`);

    for (const pair of pairs) {
      const sends = pair.sender.all();
      // Every send had an answer in time, and every refusal was a clear, retryable error; no socket was closed.
      assert.deepEqual(
        sends.filter((s) => s.unanswered > 0).map((s) => s.id),
        [],
        `sends without an answer within ${REPLY_TIMEOUT_MS} ms`,
      );
      const errors = sends.flatMap((s) => s.errors);
      assert.deepEqual(
        [...new Set(errors.map((e) => e.code))].filter((code) => code !== 'unavailable'),
        [],
        `refusals other than unavailable: ${JSON.stringify(errors.slice(0, 3))}`,
      );
      assert.ok(
        errors.every((e) => e.message.length > 0 && typeof e.retry_after_ms === 'number'),
        'a refusal says why and when to retry',
      );
      assert.ok(pair.sender.device.open && pair.receiver.open, 'no socket was closed by the restarts');
      assert.deepEqual(pair.sender.mismatches, [], 'a retried send gets its first ack back');
      assert.deepEqual(
        sends.filter((s) => !s.ack).map((s) => s.id),
        [],
        'every send is acked in the end',
      );

      // History holds every acked message once, with the acked id and seq, gapless.
      const reader = rest(gateways[0]!.url!, pair.receiverToken);
      const history = await eventually(
        () => allMessages(reader, pair.sender.conversationId),
        (items) => items.length >= sends.length,
        { timeoutMs: 30_000, everyMs: 250 },
      );
      assert.deepEqual(
        history.map((m) => m.seq),
        Array.from({ length: sends.length }, (_, i) => i + 1),
        `${pair.name}: history is gapless, each message once`,
      );
      const byClientId = new Map(history.map((m) => [m.client_msg_id as string, m]));
      for (const send of sends) {
        const stored = byClientId.get(send.id);
        assert.equal(stored?.message_id, send.ack!.message_id, `${pair.name}: ${send.id} is in history as acked`);
        assert.equal(stored?.seq, send.ack!.seq);
      }

      // The receiving device saw each message in seq order live; a sync from its last cursor (what a
      // client does after any reconnect) brings whatever it missed live.
      const liveSeqs: number[] = [];
      for (const { frame } of pair.arrivals)
        if (frame.conversation_id === pair.sender.conversationId && !liveSeqs.includes(frame.seq)) liveSeqs.push(frame.seq);
      assert.deepEqual(
        liveSeqs,
        [...liveSeqs].sort((a, b) => a - b),
        `${pair.name}: live frames come in seq order`,
      );
      const lastCursor = pair.arrivals
        .map((a) => a.frame.cursor as string)
        .sort((a, b) => Number(a) - Number(b))
        .at(-1);
      const { messages: synced } = await pair.receiver.syncAll(lastCursor);
      const seen = new Set([...liveSeqs, ...synced.filter((f) => f.conversation_id === pair.sender.conversationId).map((f) => f.seq as number)]);
      const missing = history.filter((m) => !seen.has(m.seq)).map((m) => m.seq);
      console.log(
        `# ${pair.name}: ${sends.length} sent and acked, ${liveSeqs.length} delivered live, ${synced.length} by sync from the last live cursor, ${missing.length} missing`,
      );
      assert.deepEqual(missing, [], `${pair.name}: messages the device got neither live nor by sync from its cursor`);

      // A new device's full sync gives the whole conversation in order.
      const fresh = await Device.connect(ws(gateways[1]!), pair.receiverToken, 'tablet');
      devices.push(fresh);
      const { messages: all } = await fresh.syncAll();
      assert.deepEqual(
        all.filter((f) => f.conversation_id === pair.sender.conversationId).map((f) => f.seq),
        history.map((m) => m.seq),
      );

      // The inbox converged: the last message and the unread count are those of history.
      const inbox = await eventually(
        async () => (await reader.get('/v1/conversations')).body.items.find((c: any) => c.conversation_id === pair.sender.conversationId),
        (item) => item?.last_message?.seq === sends.length,
        { timeoutMs: 15_000, everyMs: 250 },
      );
      assert.equal(inbox?.last_message?.seq, sends.length, `${pair.name}: the inbox shows the last message`);
      assert.equal(inbox?.unread_count, sends.length, `${pair.name}: the inbox counts each message once`);
    }
  });
});

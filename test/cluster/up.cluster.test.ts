import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { randomBytes } from 'node:crypto';
import { getPriority } from 'node:os';
import { promisify } from 'node:util';
import { createSigner } from 'fast-jwt';
import { clusterNamespace, type ClusterNamespace } from '../support/cluster.ts';
import { freePort } from '../support/ports.ts';
import { rest } from '../support/natter.ts';
import { Device } from '../support/ws-client.ts';
import { eventually } from '../support/eventually.ts';
import { spawnCaptured } from '../../scripts/spawn-captured.ts';

/**
 * `natter up` as a user runs it: one real child process that starts every role as its own process on
 * the shared engines (with a namespace of their own), serves the whole API on NATTER_PORT..+2, and
 * leaves nothing behind, engines aside, when it gets SIGTERM.
 */

type Launched = { child: ChildProcess; marker: string; output(): string; exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }> };

/** Every role and helper process (tsx's esbuild included) inherits the marker from `natter up`'s environment. */
const launch = (args: string[], env: Record<string, string>): Launched => {
  const marker = randomBytes(6).toString('hex');
  const { child, output: captured } = spawnCaptured(['bin/natter.js', ...args], {
    ...process.env,
    NATTER_LOG_LEVEL: 'warn',
    ...env,
    NATTER_TEST_MARKER: marker,
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, marker, output: captured, exit };
};

/** Live processes carrying this marker in their environment: a process that outlived its `natter up` is an orphan. */
const marked = (marker: string): number[] => {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]?.startsWith('Z')) continue;
      if (readFileSync(`/proc/${entry}/environ`, 'utf8').includes(`NATTER_TEST_MARKER=${marker}\0`)) pids.push(Number(entry));
    } catch {
      /* gone meanwhile, or not ours to read */
    }
  }
  return pids;
};

const waitFor = async (what: string, done: () => boolean, timeoutMs: number, launched?: Launched) => {
  for (const deadline = Date.now() + timeoutMs; !done(); ) {
    if (launched && launched.child.exitCode !== null) throw new Error(`natter exited (${launched.child.exitCode}) before ${what}:\n${launched.output()}`);
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}:\n${launched?.output() ?? ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

const portFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });

/**
 * NATTER_PORT..NATTER_PORT+count-1, all free, below the kernel's ephemeral range. `up` binds them some 20 s after
 * they are chosen, and a port from freePort() is an ephemeral one: meanwhile any of the hundreds of
 * connections the roles open to the engines may take it as its local port (seen: EADDRINUSE).
 */
const freeBasePort = async (count: number) => {
  const [ephemeralLow] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
  const low = 10_000;
  const high = Math.min(ephemeralLow ?? 32_768, 65_536) - count;
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = low + Math.floor(Math.random() * (high - low));
    let all = true;
    for (let i = 0; i < count && all; i++) all = await portFree(base + i);
    if (all) return base;
  }
  throw new Error('no run of free consecutive ports found');
};

/** Nothing listens there: a port the OS just handed out and took back. */
const closedPort = freePort;

describe('natter up: the whole cluster as processes, on loopback', { concurrency: false }, () => {
  let env: ClusterNamespace;
  before(async () => {
    env = await clusterNamespace();
  });

  it('prints where each role runs, serves the whole API on NATTER_PORT..+2 with --dev tokens, and SIGTERM stops every process with exit code 0', async (t) => {
    const base = await freeBasePort(3);
    const ports = [base, base + 1, base + 2];
    const began = Date.now();
    // A short drain: a device stays connected through the stop, so the gateways really drain.
    const up = launch(['up', '--dev'], { ...env, NATTER_PORT: String(base), NATTER_DRAIN_TIMEOUT_MS: '3000', NATTER_DRAIN_JITTER_MS: '100' });
    try {
      await waitFor('the summary "natter up" prints once all are ready', () => /natter up: Ctrl-C or SIGTERM stops/.test(up.output()), 180_000, up);
      const readyMs = Date.now() - began;
      t.diagnostic(`natter up ready after ${readyMs} ms (engines already up); it reports: ${/ready in (\S+ s)/.exec(up.output())![1]}`);

      // Where each one runs: a line per process, with its pid.
      const summary = new Map<string, { pid: number; where: string }>();
      for (const m of up.output().matchAll(/^ {2}(\S+)\s+pid (\d+)\s+(.+)$/gm)) summary.set(m[1]!, { pid: Number(m[2]), where: m[3]! });
      const names = [...ports.map((p) => `gateway-${p}`), 'projector-1', 'projector-2', 'relay', 'push-worker'];
      assert.deepEqual([...summary.keys()].sort(), [...names].sort(), up.output());
      for (const port of ports) {
        const { where } = summary.get(`gateway-${port}`)!;
        assert.match(where, new RegExp(`http://127\\.0\\.0\\.1:${port} `), `gateway on ${port}: ${where}`);
        assert.match(where, new RegExp(`ws://127\\.0\\.0\\.1:${port}/v1/ws`), `gateway on ${port}: ${where}`);
      }
      for (const name of ['projector-1', 'projector-2'])
        assert.match(summary.get(name)!.where, new RegExp(`${env.NATTER_PROJECTOR_GROUP}.*${env.NATTER_KAFKA_EVENTS_TOPIC}`));
      assert.match(summary.get('relay')!.where, new RegExp(`PostgreSQL .*schema ${env.NATTER_PG_SCHEMA}.* topic ${env.NATTER_KAFKA_EVENTS_TOPIC}`));
      assert.match(summary.get('push-worker')!.where, new RegExp(`${env.NATTER_PUSH_GROUP}.*${env.NATTER_KAFKA_PUSH_TOPIC}`));
      const rolePids = names.map((name) => summary.get(name)!.pid);
      const processes = marked(up.marker);
      for (const pid of [up.child.pid!, ...rolePids]) assert.ok(processes.includes(pid), `pid ${pid} is a live process of this run`);
      // The durable path's roles yield the CPU to the gateways (cli/roles.ts); the gateways keep the priority they were started with.
      const own = getPriority();
      for (const name of names) {
        const expected = name.startsWith('gateway-') ? own : Math.max(10, own);
        assert.equal(getPriority(summary.get(name)!.pid), expected, `${name}'s nice value`);
      }

      // --dev: the gateways mint dev tokens, and the summary says so.
      assert.match(up.output(), /^ {2}dev tokens: on \(--dev\): anyone can mint a token for any user/m, up.output());
      const minted = await rest(`http://127.0.0.1:${ports[2]}`).post('/v1/auth/dev-token', { user_id: 'carol' });
      assert.equal(minted.status, 200, JSON.stringify(minted.body));

      for (const port of ports) {
        const health = await fetch(`http://127.0.0.1:${port}/healthz`);
        assert.equal(health.status, 200, `/healthz on ${port}`);
        assert.equal((await fetch(`http://127.0.0.1:${port}/readyz`)).status, 200, `/readyz on ${port}`);
      }

      // One conversation across the three gateways: REST in on PORT, WebSocket in on PORT+1, out on PORT+2.
      const sign = createSigner({ key: env.NATTER_JWT_SECRET!, algorithm: 'HS256', expiresIn: 3_600_000 });
      const [alice, bob] = [sign({ sub: 'alice' }), sign({ sub: 'bob' })];
      const created = await rest(`http://127.0.0.1:${ports[0]}`, alice).post('/v1/conversations', { type: 'direct', peer_id: 'bob' });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const conversationId = created.body.conversation_id as string;
      const bobPhone = await Device.connect(`ws://127.0.0.1:${ports[2]}`, bob, 'phone');
      const viaRest = await rest(`http://127.0.0.1:${ports[0]}`, alice).post(`/v1/conversations/${conversationId}/messages`, {
        client_msg_id: 'rest-1',
        content: 'sent over REST to PORT',
      });
      assert.equal(viaRest.status, 201, JSON.stringify(viaRest.body));
      const aliceLaptop = await Device.connect(`ws://127.0.0.1:${ports[1]}`, alice, 'laptop');
      const ack = await aliceLaptop.sendMessage(conversationId, 'sent over WebSocket to PORT+1', 'ws-1', 15_000);
      const live = await bobPhone.waitFor('new_message', (f) => f.conversation_id === conversationId, 2, 30_000);
      assert.deepEqual(
        live.map((f) => [f.seq, f.content]),
        [
          [1, 'sent over REST to PORT'],
          [2, 'sent over WebSocket to PORT+1'],
        ],
      );
      assert.equal(live[1]!.message_id, ack.message_id);
      assert.equal(live[0]!.message_id, viaRest.body.message_id);
      await aliceLaptop.close();

      for (const port of ports) {
        const client = rest(`http://127.0.0.1:${port}`, port === ports[1] ? alice : bob);
        const items: Array<{ seq: number; content: string }> = await eventually(
          async () => (await client.get(`/v1/conversations/${conversationId}/messages`)).body.items ?? [],
          (found) => found.length >= 2,
          { timeoutMs: 30_000, everyMs: 100 },
        );
        assert.deepEqual(
          items.map((m) => [m.seq, m.content]),
          [
            [1, 'sent over REST to PORT'],
            [2, 'sent over WebSocket to PORT+1'],
          ],
          `history from the gateway on ${port}`,
        );
      }

      // SIGTERM: the gateways drain (the connected device is told to go), then everything exits.
      const stopBegan = Date.now();
      up.child.kill('SIGTERM');
      const result = await Promise.race([up.exit, new Promise<null>((r) => setTimeout(() => r(null), 40_000))]);
      const stopMs = Date.now() - stopBegan;
      t.diagnostic(`natter up stopped ${stopMs} ms after SIGTERM`);
      assert.ok(result, `natter up did not exit within 40 s of SIGTERM:\n${up.output()}`);
      assert.deepEqual(result, { code: 0, signal: null }, up.output());
      assert.ok(bobPhone.of('goaway').length >= 1, 'the gateway drained: its device got goaway');
      await bobPhone.closed(5_000);
      assert.deepEqual(marked(up.marker), [], `no process of this run is left:\n${up.output()}`);
      for (const port of ports) assert.ok(await portFree(port), `port ${port} is released`);
      assert.match(up.output(), /engines keep running/);
      const status = await promisify(execFile)('bash', ['scripts/engines.sh', 'status']).then(
        () => 0,
        (error) => error.code as number,
      );
      assert.equal(status, 0, 'the shared engines are still up');
    } finally {
      if (up.child.exitCode === null) up.child.kill('SIGKILL');
      for (const pid of marked(up.marker)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
    }
  });

  it('a role whose engine is out of reach (or with a bad setting) exits at once with one line naming the engine and its address (or the setting)', async (t) => {
    const redisPort = await closedPort();
    const kafkaPort = await closedPort();
    const cases: Array<{ role: string; env: Record<string, string>; expect: string }> = [
      { role: 'relay', env: { NATTER_REDIS_URL: `redis://127.0.0.1:${redisPort}` }, expect: `cannot reach Redis at redis://127.0.0.1:${redisPort}` },
      { role: 'push-worker', env: { NATTER_KAFKA_BROKERS: `127.0.0.1:${kafkaPort}` }, expect: `cannot reach Kafka at 127.0.0.1:${kafkaPort}` },
      {
        role: 'gateway',
        env: { NATTER_CASSANDRA_KEYSPACE: 'no_such_keyspace', NATTER_PORT: String(await freePort()) },
        expect: 'has no keyspace no_such_keyspace: create it with `natter migrate`',
      },
      { role: 'projector', env: { NATTER_NICE: '20' }, expect: 'NATTER_NICE must be an integer from -20 to 19' },
    ];
    // One at a time, so each time measures that role alone (start-up of node and tsx included).
    for (const { role, env: broken, expect } of cases) {
      const began = Date.now();
      const run = launch([role], { ...env, ...broken });
      const result = await Promise.race([run.exit, new Promise<null>((r) => setTimeout(() => r(null), 45_000))]);
      if (!result) run.child.kill('SIGKILL');
      const took = Date.now() - began;
      t.diagnostic(`${role} with ${Object.keys(broken)[0]} broken exited after ${took} ms`);
      assert.ok(result, `${role} hangs with a broken engine:\n${run.output()}`);
      assert.equal(result.code, 1, run.output());
      const lines = run
        .output()
        .split('\n')
        .filter((line) => line.trim() !== '');
      assert.equal(lines.length, 1, `one line, no stack trace or driver logs:\n${run.output()}`);
      assert.ok(lines[0]!.startsWith(`natter ${role}: `) && lines[0]!.includes(expect), lines[0]);
      assert.deepEqual(marked(run.marker), []);
    }
  });

  it('without --dev, natter up keeps dev tokens off (even with NATTER_DEV_TOKENS=true); killed with SIGKILL, the roles it started notice and stop on their own', async (t) => {
    const base = await freeBasePort(3);
    assert.equal(env.NATTER_DEV_TOKENS, 'true', 'the namespace asks for dev tokens; only --dev turns them on in natter up');
    const up = launch(['up', '--no-engines'], { ...env, NATTER_PORT: String(base), NATTER_DRAIN_TIMEOUT_MS: '2000' });
    try {
      await waitFor('the summary "natter up" prints once all are ready', () => /natter up: Ctrl-C or SIGTERM stops/.test(up.output()), 180_000, up);
      assert.match(up.output(), /^ {2}dev tokens: off/m, up.output());
      const refused = await rest(`http://127.0.0.1:${base}`).post('/v1/auth/dev-token', { user_id: 'carol' });
      assert.equal(refused.status, 403, JSON.stringify(refused.body));
      assert.equal(refused.body.error.code, 'dev_tokens_disabled');
      assert.ok(marked(up.marker).length >= 8, 'natter up and its 7 roles run');
      up.child.kill('SIGKILL');
      await up.exit;
      const killed = Date.now();
      await waitFor('the orphaned roles to stop', () => marked(up.marker).length === 0, 30_000);
      t.diagnostic(`orphaned roles gone ${Date.now() - killed} ms after natter up was killed`);
    } finally {
      for (const pid of marked(up.marker)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
    }
  });

  it('natter up stops the roles it started when one cannot reach its engine, and exits 1', async () => {
    const kafkaPort = await closedPort();
    const up = launch(['up', '--no-engines'], { ...env, NATTER_PORT: String(await freeBasePort(3)), NATTER_KAFKA_BROKERS: `127.0.0.1:${kafkaPort}` });
    try {
      const result = await Promise.race([up.exit, new Promise<null>((r) => setTimeout(() => r(null), 120_000))]);
      assert.ok(result, `natter up hangs when Kafka is out of reach:\n${up.output()}`);
      assert.equal(result.code, 1, up.output());
      assert.match(up.output(), new RegExp(`cannot reach Kafka at 127\\.0\\.0\\.1:${kafkaPort}`));
      assert.match(up.output(), /natter up: \S+ exited during start-up/);
      assert.doesNotMatch(up.output(), /^\s+at /m, 'no stack trace');
      assert.doesNotMatch(up.output(), /natter up: ready/);
      assert.deepEqual(marked(up.marker), [], `no process of this run is left:\n${up.output()}`);
    } finally {
      if (up.child.exitCode === null) up.child.kill('SIGKILL');
      for (const pid of marked(up.marker)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
    }
  });
});

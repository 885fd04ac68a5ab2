// The cluster deployment under test, started once per bench run on first use and shared by the
// cluster profile's scenarios: on the real engines (scripts/engines.sh; running engines are reused), a
// fresh namespace (Redis prefix, PostgreSQL schema, Kafka topics and groups, Cassandra keyspace
// migrated), then a relay, 2 projector workers and 3 gateways, each its own `node bin/natter.js <role>`
// process (scripts/cluster-roles.ts), with the bench's high rate limits. cluster.end() (bench/run.ts
// calls it at the end) kills them and drops the namespace; the roles are killed on exit and SIGINT too.
import type { Ctx } from './context.ts';
import { errMsg, round } from './context.ts';
import type { Deployment, Running } from './deployment.ts';
import { connect, type Target } from './drivers.ts';
import { engines } from './engines.ts';
import { BENCH_LIMITS, createDirect, devToken } from './natter.ts';
import { REPO_DIR, sleep } from './proc.ts';
import { publishCounter } from './publish-counter.ts';
import { summarizeLog } from './role-log.ts';
import { clusterNamespace, dropClusterNamespace, type ClusterNamespace } from '../../scripts/cluster-namespace.ts';
import { spawnRole, type Role } from '../../scripts/cluster-roles.ts';
import { enginePids } from '../../scripts/engines.ts';

const GATEWAYS = 3;
const PROJECTORS = 2;
/** What every role gets on top of the namespace (a short session timeout: a killed worker's partitions move on sooner). */
const ROLE_ENV: Record<string, string> = { ...BENCH_LIMITS, NATTER_KAFKA_SESSION_TIMEOUT_MS: '6000', NATTER_DEV_TOKENS: 'true' };

type Gateway = { id: string; base: string; target: Target };
type BenchCluster = { ns: ClusterNamespace; gateways: Gateway[]; startup_s: number };

let starting: Promise<BenchCluster> | null = null;
/** the roles and their labels (relay, projector1, …, gw1, …), same order */
const roles: Array<{ role: Role; label: string }> = [];
let namespace: ClusterNamespace | null = null;
let exitHookInstalled = false;

const killRolesNow = (): void => {
  for (const { role } of roles) {
    try {
      if (role.child.exitCode === null && role.child.signalCode === null) role.child.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
};

const startCluster = async (ctx: Ctx): Promise<BenchCluster> => {
  const t0 = performance.now();
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', killRolesNow);
  }
  // the roles resolve relative paths (their data directory) against the cwd, as with `npm run bench`
  if (process.cwd() !== REPO_DIR) process.chdir(REPO_DIR);
  ctx.log('cluster: engines (scripts/engines.sh up)');
  await engines();
  ctx.log('cluster: fresh namespace (Cassandra keyspace migrated)');
  const ns = await clusterNamespace();
  namespace = ns;
  const env = { ...ns, ...ROLE_ENV };
  const spawn = async (name: string, label: string, extra: Record<string, string> = {}): Promise<Role> => {
    // a gateway picks a free port, which another process may take before it listens: retry once
    for (let attempt = 0; ; attempt++) {
      try {
        const role = await spawnRole(name, env, extra);
        roles.push({ role, label });
        return role;
      } catch (e) {
        if (attempt >= 1 || name !== 'gateway') throw e;
      }
    }
  };
  ctx.log(`cluster: relay, ${PROJECTORS} projector workers, ${GATEWAYS} gateways`);
  await spawn('relay', 'relay');
  for (let i = 0; i < PROJECTORS; i++) await spawn('projector', `projector${i + 1}`); // one at a time: each joins the group
  const gws = await Promise.all(Array.from({ length: GATEWAYS }, (_, i) => spawn('gateway', `gw${i + 1}`, { NATTER_GATEWAY_ID: `gw${i + 1}` })));
  const gateways: Gateway[] = gws.map((r, i) => {
    const url = new URL(r.url!);
    return { id: `gw${i + 1}`, base: r.url!, target: { kind: 'natter', host: url.hostname, port: Number(url.port) } };
  });
  ctx.log('cluster: first cross-gateway delivery');
  await probe(gateways, 90_000);
  const startup = round((performance.now() - t0) / 1000, 1);
  ctx.log(`cluster: ready in ${startup}s (namespace ${ns.NATTER_REDIS_PREFIX})`);
  return { ns, gateways, startup_s: startup };
};

/** One message from the last gateway to a device on gateway 2, retried until it arrives (consumer group settled). */
const probe = async (gateways: Gateway[], timeoutMs: number): Promise<void> => {
  const base = gateways[0]!.base;
  const a = `probe-${Date.now().toString(36)}-a`,
    b = a.replace(/-a$/, '-b');
  const ta = await devToken(base, a, 'd');
  const tb = await devToken(base, b, 'd');
  const room = await createDirect(base, ta, b);
  let got: (() => void) | null = null;
  const arrived = new Set<string>();
  const rx = await connect(
    gateways[1]!.target,
    { room, token: tb, deviceId: 'd' },
    {
      onChat: (content) => {
        arrived.add(content);
        got?.();
      },
    },
  );
  const tx = await connect(gateways[GATEWAYS - 1]!.target, { room, token: ta, deviceId: 'd' }, {});
  try {
    const end = Date.now() + timeoutMs;
    for (let i = 0; Date.now() < end; i++) {
      const content = `probe ${i}`;
      tx.sendChat(`probe-${i}`, content);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 3000);
        got = () => {
          if (arrived.has(content)) clearTimeout(t), resolve();
        };
      });
      if (arrived.has(content)) return;
    }
    throw new Error(`no cross-gateway delivery within ${timeoutMs / 1000}s`);
  } finally {
    rx.close();
    tx.close();
  }
};

/** Kills the roles and drops the namespace (best effort, bounded). */
const stopCluster = async (ctx: Ctx): Promise<void> => {
  if (!starting) return;
  starting.catch(() => undefined);
  starting = null;
  await Promise.all(roles.splice(0).map(({ role }) => role.kill9().catch(() => undefined)));
  const ns = namespace;
  namespace = null;
  if (!ns) return;
  ctx.log(`cluster: dropping namespace ${ns.NATTER_REDIS_PREFIX}`);
  const dropped = dropClusterNamespace(ns).then((failures) => failures.forEach((f) => ctx.log(`cluster: cleanup: ${errMsg(f)}`)));
  await Promise.race([dropped, sleep(30_000)]);
};

/** A view of the shared cluster: senders on gateway k, their peers on gateway k + 1; stop() leaves it up for the next scenario. */
const view = (c: BenchCluster): Running => ({
  kind: 'natter',
  label: `cluster (${c.gateways.length} gateways)`,
  base: c.gateways[0]!.base,
  senders: c.gateways.map((g) => g.target),
  receivers: c.gateways.map((_, i) => c.gateways[(i + 1) % c.gateways.length]!.target),
  setup: () => ({
    namespace: c.ns.NATTER_REDIS_PREFIX,
    gateways: GATEWAYS,
    projector_workers: PROJECTORS,
    relays: 1,
    kafka_partitions: Number(c.ns.NATTER_KAFKA_PARTITIONS),
    startup_s: c.startup_s,
  }),
  watchLog: () => {
    const mark = roles.map(({ role }) => role.output().length);
    return () =>
      summarizeLog(
        roles.flatMap(({ role, label }, i) =>
          role
            .output()
            .slice(mark[i] ?? 0)
            .split('\n')
            .filter((l) => /warn|error|fatal|"level":[456]0/i.test(l))
            .map((l) => `${label}: ${l}`),
        ),
      );
  },
  processes: async () => [
    ...roles.map(({ role, label }) => ({ label, pid: role.child.pid! })),
    ...Object.entries(await enginePids()).map(([label, pid]) => ({ label, pid: pid! })),
  ],
  publishCounter: (conversationId) => publishCounter(c.ns.NATTER_REDIS_URL!, c.ns.NATTER_REDIS_PREFIX!, conversationId),
  stop: async () => undefined,
});

/** A failed start is remembered: the next scenario is told the same reason without trying again. */
export const cluster: Deployment = {
  name: 'cluster',
  start: async (ctx) => view(await (starting ??= startCluster(ctx))),
  end: stopCluster,
};

// One cluster role as its own `node bin/natter.js <role>` process, for the process-level cluster tests
// and the cluster bench (bench/lib/cluster.ts), which must not import from test/.
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.ts';
import { spawnCaptured } from './spawn-captured.ts';

const bin = fileURLToPath(new URL('../bin/natter.js', import.meta.url));

export type Role = { name: string; child: ChildProcess; url?: string; output(): string; kill9(): Promise<void>; stop(): Promise<void> };

const exited = (child: ChildProcess) =>
  child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise<void>((resolve) => child.once('exit', () => resolve()));

/**
 * One cluster role (`natter gateway|projector|relay|push-worker`) as its own process, ready when it
 * says so on stdout (and, for a gateway, answers /healthz).
 */
export const spawnRole = async (role: string, env: Record<string, string>, extra: Record<string, string> = {}): Promise<Role> => {
  const port = role === 'gateway' ? await freePort() : undefined;
  const { child, output: captured } = spawnCaptured([bin, role], {
    ...process.env,
    ...env,
    NATTER_LOG_LEVEL: 'warn',
    NATTER_HOST: '127.0.0.1',
    ...(port ? { NATTER_PORT: String(port) } : {}),
    ...extra,
  });
  const ready = role === 'gateway' ? /listening on/ : /running|joined/;
  const deadline = Date.now() + 60_000;
  while (!ready.test(captured())) {
    if (child.exitCode !== null) throw new Error(`${role} exited early: ${captured()}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${role} did not start: ${captured()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    name: role,
    child,
    output: captured,
    ...(port ? { url: `http://127.0.0.1:${port}` } : {}),
    kill9: async () => {
      child.kill('SIGKILL');
      await exited(child);
    },
    stop: async () => {
      child.kill('SIGTERM');
      await exited(child);
    },
  };
};

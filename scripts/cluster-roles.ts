// One cluster role as its own `node bin/natter.js <role>` process, for the process-level cluster tests
// and the cluster bench (bench/lib/cluster.ts), which must not import from test/.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.ts';

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
  const child = spawn(process.execPath, [bin, role], {
    env: { ...process.env, ...env, NATTER_LOG_LEVEL: 'warn', NATTER_HOST: '127.0.0.1', ...(port ? { NATTER_PORT: String(port) } : {}), ...extra },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => {
    output += d;
  });
  child.stderr!.on('data', (d) => {
    output += d;
  });
  const ready = role === 'gateway' ? /listening on/ : /running|joined/;
  const deadline = Date.now() + 60_000;
  while (!ready.test(output)) {
    if (child.exitCode !== null) throw new Error(`${role} exited early: ${output}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${role} did not start: ${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    name: role,
    child,
    output: () => output,
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

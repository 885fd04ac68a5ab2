import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { freePort } from './ports.ts';
import { loadConfig } from '../../app/config.ts';
import { createEmbeddedNatter } from '../../app/embedded.ts';
import { testLimits } from './limits.ts';
import { spawnCaptured } from '../../scripts/spawn-captured.ts';

/** Tests send in bursts far above a human's rate; the rate-limit tests set their own limits. */

export const tempDir = (prefix = 'natter-test-') => mkdtempSync(join(tmpdir(), prefix));

export type Server = {
  url: string;
  wsUrl: string;
  dataDir: string;
  /** The cluster's settings (its namespace on the shared engines); absent for the embedded profile. */
  env?: Record<string, string>;
  token(userId: string, deviceId?: string): Promise<string>;
  close(): Promise<void>;
};

const withToken =
  (url: string) =>
  async (userId: string, deviceId?: string): Promise<string> => {
    const response = await fetch(`${url}/v1/auth/dev-token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user_id: userId, ...(deviceId ? { device_id: deviceId } : {}) }),
    });
    if (response.status !== 200) throw new Error(`dev-token failed: ${response.status} ${await response.text()}`);
    return ((await response.json()) as { token: string }).token;
  };

/**
 * A real Natter listening on loopback, in this process: the embedded profile, or with
 * NATTER_TEST_PROFILE=cluster a cluster of gateways on the real engines, so that the same
 * end-to-end suite runs against both. A name set to undefined is left unset (the cluster harness
 * sets some, e.g. NATTER_DEV_TOKENS, for every test).
 */
export const startNatter = async (env: Record<string, string | undefined> = {}, dataDir = tempDir()): Promise<Server> => {
  if (process.env.NATTER_TEST_PROFILE === 'cluster') {
    const { clusterServer } = await import('./cluster.ts');
    const server = await clusterServer({ NATTER_LOG_LEVEL: 'warn', ...testLimits, ...env }, dataDir);
    return Object.defineProperty(server, 'token', { value: (userId: string, deviceId?: string) => withToken(server.url)(userId, deviceId) }) as Server;
  }
  const config = loadConfig({ NATTER_DATA_DIR: dataDir, NATTER_LOG_LEVEL: 'warn', NATTER_PORT: '0', ...testLimits, ...env });
  const natter = await createEmbeddedNatter(config);
  const address = await natter.app.listen({ host: '127.0.0.1', port: 0 });
  return { url: address, wsUrl: address.replace('http', 'ws'), dataDir, token: withToken(address), close: () => natter.close() };
};

export type Spawned = Server & { process: ChildProcess; kill9(): Promise<void>; output(): string };

/** Natter as a child process (`node bin/natter.js serve`), for crash and signal tests. */
export const spawnNatter = async (dataDir: string, env: Record<string, string> = {}): Promise<Spawned> => {
  const port = await freePort();
  const { child, output: captured } = spawnCaptured(['bin/natter.js', 'serve'], {
    ...process.env,
    NATTER_DATA_DIR: dataDir,
    NATTER_PORT: String(port),
    NATTER_HOST: '127.0.0.1',
    NATTER_LOG_LEVEL: 'warn',
    ...testLimits,
    ...env,
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`natter exited early (${child.exitCode}): ${captured()}`);
    try {
      if ((await fetch(`${url}/healthz`)).status === 200) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`natter did not start: ${captured()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    wsUrl: url.replace('http', 'ws'),
    dataDir,
    process: child,
    token: withToken(url),
    output: captured,
    kill9: async () => {
      child.kill('SIGKILL');
      await exited;
    },
    close: async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
};

export type Reply<T = any> = { status: number; body: T; headers: Headers };

/** A REST client bound to one user's token. */
export const rest = (url: string, token?: string) => {
  const call = async <T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply<T>> => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined, headers: response.headers };
  };
  return {
    get: <T = any>(path: string) => call<T>('GET', path),
    post: <T = any>(path: string, body?: unknown, headers?: Record<string, string>) => call<T>('POST', path, body ?? {}, headers),
    delete: <T = any>(path: string) => call<T>('DELETE', path),
    call,
  };
};

/** Every message of a conversation, oldest first, read page by page through REST history. */
export const allMessages = async (client: ReturnType<typeof rest>, conversationId: string): Promise<any[]> => {
  const items: any[] = [];
  for (let after = 0; ; ) {
    const reply = await client.get(`/v1/conversations/${conversationId}/messages?after=${after}&limit=200`);
    if (reply.status !== 200) throw new Error(`history of ${conversationId} answered ${reply.status}: ${JSON.stringify(reply.body)}`);
    items.push(...reply.body.items);
    if (reply.body.items.length < 200) return items;
    after = reply.body.items.at(-1).seq;
  }
};

/** A series' value from a server's Prometheus text (`name` with its labels, exactly); 0 when absent. */
export const metric = async (url: string, name: string): Promise<number> => {
  const line = (await (await fetch(`${url}/metrics`)).text()).split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
};

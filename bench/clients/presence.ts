// Load generator: users flap (connect, then close) while one watcher, who shares a direct
// conversation with each of them, counts the presence frames it receives.
import WebSocket from 'ws';
import { devTokens, createDirect } from '../lib/natter.ts';
import { onCommand, reply, lifetime, pool } from '../lib/ipc.ts';

type Run = { base: string; users: number; durationMs: number; concurrency: number };

const open = (url: string) =>
  new Promise<WebSocket>((resolve, reject) => {
    const socket = new WebSocket(url);
    socket.once('open', () => resolve(socket));
    socket.once('error', reject);
  });

onCommand(async (c) => {
  if (c.cmd !== 'run') return;
  const run = c as unknown as Run;
  lifetime(run.durationMs + 120_000);
  const ws = run.base.replace('http', 'ws');
  const ids = Array.from({ length: run.users }, (_, i) => ({ userId: `pf${i}`, deviceId: 'd' }));
  const tokens = await devTokens(run.base, ids);
  const [watcherToken] = await devTokens(run.base, [{ userId: 'pwatch', deviceId: 'd' }]);
  for (let i = 0; i < run.users; i++) await createDirect(run.base, tokens[i]!, 'pwatch');
  const watcher = await open(`${ws}/v1/ws?token=${watcherToken}&device_id=d`);
  let frames = 0;
  watcher.on('message', (data) => {
    if (String(data).startsWith('{"type":"presence"')) frames++;
  });
  let flaps = 0;
  const started = performance.now();
  const deadline = Date.now() + run.durationMs;
  await pool(Array.from({ length: run.concurrency }), run.concurrency, async (_, worker) => {
    for (let k = worker; Date.now() < deadline; k += run.concurrency) {
      const i = k % run.users;
      const socket = await open(`${ws}/v1/ws?token=${tokens[i]}&device_id=d`);
      await new Promise<void>((resolve) => {
        socket.once('close', () => resolve());
        socket.close();
      });
      flaps++;
    }
  });
  const seconds = (performance.now() - started) / 1000;
  await new Promise((r) => setTimeout(r, 500));
  watcher.close();
  reply({ type: 'done', flaps, frames, seconds });
});
reply({ type: 'ready' });

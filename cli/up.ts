import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { migrateCommand } from '../adapters/cassandra/migrations.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'bin', 'natter.js');

/**
 * `natter up`: the engines (scripts/engines.sh), the Cassandra schema, then 3 gateways on PORT,
 * PORT+1, PORT+2, 2 projector workers, a relay and a push worker on loopback, each output line
 * prefixed with its role. Ctrl-C or SIGTERM stops them all (gateways drain first).
 */
export const up = async (options: { gateways: number; projectors: number }) => {
  const env: NodeJS.ProcessEnv = { ...process.env };
  const engines = execFileSync('bash', [join(root, 'scripts', 'engines.sh'), 'up'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  for (const line of engines.split('\n')) {
    const match = /^(NATTER_[A-Z_]+)=(.*)$/.exec(line.trim());
    if (match) env[match[1]!] = match[2]!;
  }
  await migrateCommand(env, (line) => console.log(`[migrate] ${line}`));

  const base = Number(env.PORT ?? 3000);
  const children: ChildProcess[] = [];
  const start = (name: string, args: string[], extra: NodeJS.ProcessEnv = {}) => {
    const child = spawn(process.execPath, [bin, ...args], { env: { ...env, NATTER_DEV_TOKENS: env.NATTER_DEV_TOKENS ?? 'true', ...extra }, stdio: ['ignore', 'pipe', 'pipe'] });
    const prefix = (chunk: Buffer) => { for (const line of chunk.toString().split('\n')) if (line) console.log(`[${name}] ${line}`); };
    child.stdout!.on('data', prefix);
    child.stderr!.on('data', prefix);
    child.on('exit', (code, signal) => console.log(`[${name}] exited (${signal ?? code})`));
    children.push(child);
  };
  start('relay', ['relay']);
  for (let i = 0; i < options.projectors; i++) start(`projector-${i + 1}`, ['projector']);
  start('push-worker', ['push-worker']);
  for (let i = 0; i < options.gateways; i++) {
    const port = base + i;
    start(`gateway-${port}`, ['gateway'], { PORT: String(port), NATTER_GATEWAY_ID: `gw-${port}` });
  }
  console.log(`natter up: ${options.gateways} gateways on http://127.0.0.1:${base}..${base + options.gateways - 1}, ${options.projectors} projector workers, a relay and a push worker. Ctrl-C stops them.`);

  let stopping = false;
  const stop = () => {
    if (stopping) { for (const child of children) child.kill('SIGKILL'); process.exit(1); }
    stopping = true;
    for (const child of children) child.kill('SIGTERM');
    Promise.all(children.map((child) => child.exitCode !== null ? null : new Promise((resolve) => child.once('exit', resolve)))).then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
};

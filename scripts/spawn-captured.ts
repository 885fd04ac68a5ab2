// A child process whose stdout and stderr are kept together, for the tests and the bench that start
// Natter (`node bin/natter.js …`) and read what it printed when something goes wrong.
import { spawn, type ChildProcess } from 'node:child_process';

export type Captured = { child: ChildProcess; output(): string };

export const spawnCaptured = (args: string[], env: NodeJS.ProcessEnv): Captured => {
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (d: Buffer) => {
    output += d;
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  return { child, output: () => output };
};

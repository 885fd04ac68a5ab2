// Preloaded into a Natter child process (node --import tsx --import ./test/support/worker-killer.ts):
// on SIGUSR2 it terminates every worker thread the process started, the SQLite event log's writer
// among them, as a crash of that thread would. A test-only way in: nothing in Natter listens for it.
import type { Worker } from 'node:worker_threads';

const workers: Worker[] = [];
process.on('worker', (worker: Worker) => {
  workers.push(worker);
});
process.on('SIGUSR2', () => {
  for (const worker of workers) void worker.terminate();
});

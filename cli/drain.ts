import { loadConfig } from '../app/config.ts';
import { dataDirHolder } from './data-dir-lock.ts';

/** Asks the server that holds the data directory to drain (SIGTERM) and waits until it has exited. */
export const drain = async (options: { timeout: number }) => {
  const { dataDir } = loadConfig();
  const pid = dataDirHolder(dataDir);
  if (!pid) throw new Error(`no running Natter server holds ${dataDir}`);
  process.kill(pid, 'SIGTERM');
  console.log(`asked process ${pid} to drain`);
  const deadline = Date.now() + options.timeout;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch {
      console.log(`process ${pid} drained and exited`);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`process ${pid} is still running after ${options.timeout} ms`);
};

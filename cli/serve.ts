import { loadConfig } from '../app/config.ts';
import { createEmbeddedNatter } from '../app/embedded.ts';
import { holdDataDirLock } from './data-dir-lock.ts';

/** Runs the embedded profile until SIGINT/SIGTERM, then closes sockets, projections and stores. */
export const serve = async () => {
  const config = loadConfig();
  const releaseLock = holdDataDirLock(config.dataDir);
  const natter = await createEmbeddedNatter(config);
  const address = await natter.app.listen({ host: config.host, port: config.port });
  natter.app.log.info({ address, dataDir: config.dataDir }, 'natter listening');
  if (process.stdout.isTTY) console.log(`Natter is listening on ${address} (data in ${config.dataDir})`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    natter.app.log.info({ signal }, 'shutting down');
    await natter.close();
    releaseLock();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
};

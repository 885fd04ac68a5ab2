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

  // The first SIGTERM/SIGINT drains: devices are told to go away (with jitter), in-flight commands
  // finish and are acked, then the stores close. A second signal exits at once; nothing acked is
  // lost either way, since acks leave only after the commit.
  let stopping = false;
  /** The event log's writer died: whatever stops the process, it exits 1. */
  let failed = false;
  const stop = async (signal: string) => {
    if (stopping) {
      natter.app.log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    natter.app.log.info({ signal }, 'draining');
    const { remaining } = await natter.drain();
    natter.app.log.info({ remaining }, 'drained; closing');
    await natter.close();
    releaseLock();
    process.exit(failed ? 1 : 0);
  };
  // A dead event-log writer cannot come back in this process: /readyz already answers 503; devices
  // are told to go away (1001) and the process exits 1, so that its supervisor starts a new one.
  natter.onFatal(() => {
    failed = true;
    if (stopping) return;
    stopping = true;
    if (process.stdout.isTTY) console.error('Natter cannot write its event log any more; exiting (see the log)');
    setTimeout(() => process.exit(1), 5_000);
    void natter
      .close()
      .catch(() => undefined)
      .finally(() => {
        releaseLock();
        process.exit(1);
      });
  });
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
};

import { replayCluster } from '../app/cluster/replay.ts';
import { rate, replayBar } from './progress.ts';

/**
 * `natter replay <projection|all> --cluster`: rebuilds cluster read models into a new version while
 * gateways and projector workers keep running, then switches to it (app/cluster/replay.ts). The
 * engines come from the same NATTER_* settings as the other roles.
 */
export const replayClusterCommand = async (projection: string, options: { batch: number; dropOld?: boolean; grace: number }) => {
  if (!Number.isSafeInteger(options.batch) || options.batch < 1) throw new Error(`--batch must be a positive integer, got ${options.batch}`);
  if (!Number.isSafeInteger(options.grace) || options.grace < 0) throw new Error(`--grace must be a number of milliseconds >= 0, got ${options.grace}`);
  // Ctrl-C before the switch lifts the fence at once (workers resume) and deletes the half-built version; a second one exits.
  const abort = new AbortController();
  const interrupt = () => {
    if (abort.signal.aborted) process.exit(130);
    abort.abort();
  };
  process.on('SIGINT', interrupt);
  process.on('SIGTERM', interrupt);
  const bar = replayBar();
  let running = false;
  const started = performance.now();
  const print = (line: string) => {
    // A line printed under a live bar would be overwritten by its next redraw.
    if (running) {
      bar.stop();
      running = false;
    }
    console.log(line);
  };
  const result = await replayCluster({
    projection,
    batchSize: options.batch,
    dropOld: options.dropOld ?? false,
    graceMs: options.grace,
    print,
    signal: abort.signal,
    onStart: (head) => {
      bar.start(head, 0, { events: 0, rate: 0 });
      running = true;
    },
    onProgress: (position, head, events) => {
      if (!running) return;
      bar.setTotal(head);
      bar.update(position, { events, rate: rate(events, (performance.now() - started) / 1000) });
    },
  }).finally(() => {
    if (running) bar.stop();
  });
  for (const v of result.versions) console.log(`${v.projection}: v${v.from} → v${v.to}, replayed ${result.events} events`);
  console.log(
    `replayed ${result.events} events into ${result.versions.map((v) => `${v.projection} v${v.to}`).join(', ')} in ${result.seconds.toFixed(2)} s (${rate(result.events, result.seconds)} events/s), switched at position ${result.switchedAt}`,
  );
};

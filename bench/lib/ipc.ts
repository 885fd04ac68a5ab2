// Child side of the IPC protocol used by bench/clients/* and bench/peers/*.
export type Cmd = { cmd: string; [k: string]: unknown };

export const reply = (msg: { type: string; [k: string]: unknown }): void => {
  if (process.send) process.send(msg);
  else process.stdout.write(`${JSON.stringify(msg)}\n`);
};

/** Run `handler` for every command from the parent; a thrown error is reported as 'fatal' and the process exits. */
export const onCommand = (handler: (c: Cmd) => Promise<void> | void): void => {
  process.on('message', (m: Cmd) => {
    Promise.resolve()
      .then(() => handler(m))
      .catch((e: unknown) => fatal(e));
  });
  // The parent going away (or closing IPC) ends us: load must never outlive the bench.
  process.on('disconnect', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));
};

export const fatal = (e: unknown): void => {
  const error = e instanceof Error ? (e.stack ?? e.message) : String(e);
  try {
    reply({ type: 'fatal', error });
  } catch {
    /* no channel */
  }
  process.stderr.write(`fatal: ${error}\n`);
  setTimeout(() => process.exit(1), 100);
};

/** Hard stop after `ms` whatever happens (a bound on every load process). */
export const lifetime = (ms: number): void => {
  setTimeout(() => {
    process.stderr.write(`lifetime of ${ms} ms exceeded, exiting\n`);
    process.exit(2);
  }, ms).unref();
};

/** Run async tasks with bounded concurrency. */
export const pool = async <T, R>(items: T[], concurrency: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> => {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return out;
};

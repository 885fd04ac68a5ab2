import type { DirectoryStore } from '../ports/read-models.ts';
import type { Commands } from './commands.ts';

type Log = { warn(obj: object, msg: string): void };

const PAGE = 500;

/**
 * Retention, decided by events: every `intervalMs`, each conversation with a retention (its own, or
 * the server's default) gets an ExpireMessages command from the process that writes it, which
 * appends MessagesExpired when messages have passed the horizon. The read models then drop them.
 * In the cluster each gateway sweeps the conversations it owns (`owns`), so none is swept twice.
 */
export const startRetentionSweep = (options: {
  directory: Pick<DirectoryStore, 'conversations'>;
  commands: Pick<Commands, 'expireMessages'>;
  defaultDays: number | null;
  intervalMs: number;
  owns(conversationId: string): boolean;
  log: Log;
}) => {
  let running: Promise<void> | undefined;
  let stopped = false;
  const sweep = async () => {
    for (let after = ''; !stopped; ) {
      const page = await options.directory.conversations(after, PAGE);
      for (const { conversation_id: id, retention_days: days } of page) {
        if (stopped) return;
        if ((days ?? options.defaultDays) === null || !options.owns(id)) continue;
        await options.commands
          .expireMessages(id)
          .catch((error) => options.log.warn({ err: error, conversation: id }, 'retention: expiry failed; the next sweep retries'));
      }
      if (page.length < PAGE) return;
      after = page[page.length - 1]!.conversation_id;
    }
  };
  const timer = setInterval(() => {
    if (running) return;
    running = sweep()
      .catch((error) => options.log.warn({ err: error }, 'retention sweep failed'))
      .finally(() => {
        running = undefined;
      });
  }, options.intervalMs);
  timer.unref();
  return {
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
};

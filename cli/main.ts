import { Command } from 'commander';
import { serve } from './serve.ts';
import { replay } from './replay.ts';
import { printStream } from './stream.ts';
import { drain } from './drain.ts';

const program = new Command('natter')
  .description('Event-sourced real-time chat backend')
  .showHelpAfterError();

program.command('serve', { isDefault: true })
  .description('run the embedded profile (HTTP + WebSocket on $HOST:$PORT, data in $NATTER_DATA_DIR)')
  .action(serve);

program.command('replay')
  .description('rebuild read models from the event log (stop the server first)')
  .argument('<projection>', 'a projection name (directory, history, inbox, receipts) or "all"')
  .option('--batch <n>', 'events per batch', (v) => Number.parseInt(v, 10), 10_000)
  .action((projection: string, options: { batch: number }) => replay(projection, options));

program.command('stream')
  .description("print a stream's events as JSON lines")
  .argument('<conversation_id>', 'the conversation id')
  .option('--receipts', 'print the receipts stream instead of the conversation stream')
  .action((conversationId: string, options: { receipts?: boolean }) => printStream(conversationId, options));

program.command('drain')
  .description('drain the running server: devices are told to reconnect elsewhere, then it exits')
  .option('--timeout <ms>', 'how long to wait for the server to exit', (v) => Number.parseInt(v, 10), 60_000)
  .action((options: { timeout: number }) => drain(options));

await program.parseAsync(process.argv);

import { Command } from 'commander';
import { serve } from './serve.ts';
import { replay, type ReplayOptions } from './replay.ts';
import { printStream } from './stream.ts';
import { drain } from './drain.ts';
import { eraseUser } from './erase-user.ts';
import { ConfigError } from '../app/config/validate.ts';
import { capacityCommand } from './capacity.ts';

// Cluster roles load their engine drivers only when asked for.
const roles = () => import('./roles.ts');

const program = new Command('natter').description('Event-sourced real-time chat backend').showHelpAfterError();

program
  .command('serve', { isDefault: true })
  .description('run the embedded profile (HTTP + WebSocket on $NATTER_HOST:$NATTER_PORT, data in $NATTER_DATA_DIR)')
  .action(serve);

program
  .command('replay')
  .description('rebuild read models from the event log: embedded (stop the server first), or with --cluster into a new version while the cluster runs')
  .argument('<projection>', 'a projection name (directory, history, inbox, receipts) or "all"')
  .option('--batch <n>', 'events per batch', (v) => Number.parseInt(v, 10), 10_000)
  .option('--cluster', 'rebuild the cluster read models (NATTER_* engine settings) into a new version, then switch to it')
  .option('--drop-old', 'with --cluster: delete the versions switched away from')
  .option('--grace <ms>', 'with --cluster: how long readers get to move to the new version', (v) => Number.parseInt(v, 10), 3_000)
  .action((projection: string, options: ReplayOptions) => replay(projection, options));

program
  .command('stream')
  .description("print a stream's events as JSON lines")
  .argument('<conversation_id>', 'the conversation id')
  .option('--receipts', 'print the receipts stream instead of the conversation stream')
  .action((conversationId: string, options: { receipts?: boolean }) => printStream(conversationId, options));

program
  .command('erase-user')
  .description("erase a user: their messages' content becomes unrecoverable everywhere (the log included), their tokens stop working")
  .argument('<user_id>', 'the user to erase')
  .option('--cluster', 'on the cluster engines (NATTER_* settings); without it, the embedded data directory (stop the server first)')
  .action((userId: string, options: { cluster?: boolean }) => eraseUser(userId, options));

program
  .command('drain')
  .description('drain the running server: devices are told to reconnect elsewhere, then it exits')
  .option('--timeout <ms>', 'how long to wait for the server to exit', (v) => Number.parseInt(v, 10), 60_000)
  .action((options: { timeout: number }) => drain(options));

program
  .command('gateway')
  .description('cluster: a gateway (REST + WebSocket) on $NATTER_HOST:$NATTER_PORT')
  .action(async () => (await roles()).gatewayRole());
program
  .command('projector')
  .description('cluster: a projector worker (Kafka consumer group); names restrict it to some projections')
  .argument('[names...]', 'projections: directory, history, inbox, receipts (default: all, with fan-out and push)')
  .action(async (names: string[]) => (await roles()).projectorRole(names));
program
  .command('relay')
  .description('cluster: the relay from the event store to Kafka')
  .action(async () => (await roles()).relayRole());
program
  .command('push-worker')
  .description('cluster: the push worker (Kafka consumer group on the push topic)')
  .action(async () => (await roles()).pushWorkerRole());
program
  .command('all')
  .description('cluster: every role in one process, on the cluster engines')
  .action(async () => (await roles()).allRoles());
program
  .command('migrate')
  .description('cluster: create or update the Cassandra schema')
  .action(async () => {
    const { loadClusterConfig } = await import('../app/cluster/config.ts');
    await (await import('../adapters/cassandra/migrations.ts')).migrateCommand(loadClusterConfig().cassandra);
  });
program
  .command('up')
  .description('cluster: start the engines, 3 gateways, 2 projector workers, a relay and a push worker on loopback')
  .option('--gateways <n>', 'gateways', (v) => Number.parseInt(v, 10), 3)
  .option('--projectors <n>', 'projector workers', (v) => Number.parseInt(v, 10), 2)
  .option('--no-engines', 'do not run scripts/engines.sh up; use the engines the NATTER_* settings name')
  .option('--dev', 'turn dev tokens on in the gateways (POST /v1/auth/dev-token: anyone can mint a token for any user)')
  .action(async (options: { gateways: number; projectors: number; engines: boolean; dev?: boolean }) => (await import('./up.ts')).up(options));

program.addCommand(capacityCommand());

let command = 'serve';
program.hook('preAction', (_, action) => {
  command = action.name();
});

// A setting that cannot be used is the operator's to fix: one line naming it, no stack trace.
// (The cluster roles print their own, the same way, in cli/roles.ts.)
try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(`natter ${command}: ${error.message}`);
  process.exit(1);
}

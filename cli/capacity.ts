import { Command, Option } from 'commander';
import path from 'node:path';
import { defaultAssumptions, parseGroupMix, type Assumptions } from '../capacity/assumptions.ts';
import { formatCapacity } from '../capacity/format.ts';
import { measuredFromReports, measuredKeys, type MeasuredKey } from '../capacity/measured.ts';
import { runCapacity } from '../capacity/model.ts';
import { latestReport, readReport, type LoadedReport } from '../capacity/reports.ts';
import { seedIds, seeds } from '../capacity/seeds.ts';
import { packageRoot } from '../app/package-root.ts';

const RESULTS = path.join(packageRoot, 'bench', 'results');

const number = (name: string) => (v: string) => {
  const x = Number(v);
  if (!Number.isFinite(x) || x < 0) throw new Error(`--${name}: "${v}" is not a number ≥ 0`);
  return x;
};

/** One flag per assumption; none has a commander default, so that a flag given overrides the seed's figure. */
export const assumptionFlags: Array<[keyof Assumptions, string, string]> = [
  ['dau', '--dau <n>', 'daily active users'],
  ['msgsPerUserDay', '--msgs-per-user-day <n>', 'messages each daily user sends per day'],
  ['peakFactor', '--peak-factor <n>', 'peak-hour rate ÷ daily average rate'],
  ['onlineShare', '--online-share <n>', 'share of daily users online at the peak (concurrent ÷ DAU)'],
  ['devicesPerUser', '--devices-per-user <n>', 'connected devices per online user'],
  ['messageBytes', '--message-bytes <n>', 'average message content, bytes'],
  ['heartbeatSeconds', '--heartbeat-seconds <n>', 'heartbeat interval, seconds'],
  ['retentionDays', '--retention-days <n>', 'days history and the event log are kept'],
  ['sessionsPerUserDay', '--sessions-per-user-day <n>', 'sessions (connects) per daily user per day'],
  ['contacts', '--contacts <n>', 'people a user shares presence with'],
  ['deliveredMarks', '--delivered-marks <n>', 'delivered receipts per online recipient per message'],
  ['readMarks', '--read-marks <n>', 'read receipts per online recipient per message'],
  ['typingPerMsg', '--typing-per-msg <n>', 'typing frames per message sent'],
  [
    'statusFanoutMaxMembers',
    '--status-fanout-max-members <n>',
    'Natter setting NATTER_STATUS_FANOUT_MAX_MEMBERS: groups up to this size send receipts to every member',
  ],
  [
    'inboxFanoutMaxMembers',
    '--inbox-fanout-max-members <n>',
    "the Redis inbox adapter's fanoutMaxMembers (default 64): groups up to this size keep per-member inbox lists",
  ],
  ['conversationsPerUser', '--conversations-per-user <n>', 'conversations per registered user'],
  ['usersPerDau', '--users-per-dau <n>', 'registered users ÷ daily users'],
  ['headroom', '--headroom <n>', 'share of every measured capacity kept free'],
  ['gatewayMemoryGb', '--gateway-memory-gb <n>', 'usable memory per gateway process, GiB'],
  ['cassandraDiskTb', '--cassandra-disk-tb <n>', 'usable data per Cassandra node, TB'],
  ['redisNodeGb', '--redis-node-gb <n>', 'usable memory per Redis primary, GB'],
  ['pgDiskTb', '--pg-disk-tb <n>', 'usable disk per event-log primary, TB'],
  ['pgCopies', '--pg-copies <n>', 'copies of the event log (primary + standbys)'],
];

type Options = Partial<Record<keyof Assumptions, number>> & {
  seed?: string;
  groupMix?: string;
  json?: boolean;
  results: string;
  embeddedReport?: string;
  clusterReport?: string;
  measured?: string[];
};

const pick = (file: string | undefined, dir: string, profile: 'embedded' | 'cluster'): LoadedReport => {
  const found = file ? readReport(file) : latestReport(dir, profile);
  if (!found)
    throw new Error(
      `no ${profile} bench report under ${dir}: run \`npx tsx bench/run.ts --quick${profile === 'cluster' ? ' --profile cluster' : ''}\` or pass --${profile}-report <report.json>`,
    );
  return found;
};

const parseMeasured = (pairs: string[] = []): Partial<Record<MeasuredKey, number>> =>
  Object.fromEntries(
    pairs.map((p) => {
      const [key, value] = p.split('=');
      const x = Number(value);
      if (!measuredKeys.includes(key as MeasuredKey)) throw new Error(`--measured: "${key}" is not one of ${measuredKeys.join(', ')}`);
      if (!Number.isFinite(x) || x <= 0) throw new Error(`--measured: "${p}" is not <figure>=<number > 0>`);
      return [key, x];
    }),
  );

export const capacity = (options: Options) => {
  const seed = options.seed === undefined ? undefined : seeds[options.seed];
  if (options.seed !== undefined && !seed) throw new Error(`--seed: unknown seed "${options.seed}"; known: ${seedIds.join(', ')}`);
  const given = Object.fromEntries(assumptionFlags.map(([key]) => [key, options[key]]).filter(([, v]) => v !== undefined));
  const assumptions: Assumptions = {
    ...defaultAssumptions,
    ...seed?.assumptions,
    ...given,
    ...(options.groupMix ? { groupMix: parseGroupMix(options.groupMix) } : {}),
  };
  const embedded = pick(options.embeddedReport, options.results, 'embedded');
  const cluster = pick(options.clusterReport, options.results, 'cluster');
  const measured = measuredFromReports(embedded.report, cluster.report, parseMeasured(options.measured));
  const result = runCapacity(assumptions, measured, [embedded.meta, cluster.meta], seed);
  process.stdout.write(options.json ? `${JSON.stringify(result, null, 2)}\n` : `${formatCapacity(result)}\n`);
};

export const capacityCommand = () => {
  const command = new Command('capacity')
    .description('size a deployment for a given scale from the latest bench reports of both profiles (docs/capacity.md)')
    .addOption(new Option('--seed <id>', "load a seed's figures (flags given override them)").choices(seedIds))
    .option('--group-mix <mix>', 'share of messages by conversation size, e.g. 2:0.8,10:0.15,100:0.05');
  for (const [key, flag, help] of assumptionFlags)
    command.option(flag, `${help} (default ${defaultAssumptions[key] as number})`, number(flag.split(' ')[0]!.slice(2)));
  return command
    .option('--results <dir>', 'where the bench reports are', RESULTS)
    .option('--embedded-report <file>', 'an embedded report.json instead of the latest under --results')
    .option('--cluster-report <file>', 'a cluster report.json instead of the latest under --results')
    .option('--measured <figure=value...>', `give or replace a measured figure: ${measuredKeys.join(', ')}`)
    .option('--json', 'print the whole result as JSON')
    .action((options: Options) => {
      try {
        capacity(options);
      } catch (error) {
        process.stderr.write(`natter capacity: ${(error as Error).message}\n`);
        process.exitCode = 2;
      }
    });
};

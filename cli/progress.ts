import cliProgress from 'cli-progress';

/** The replay's progress bar, the same for both profiles: positions of the log, events and their rate. */
export const replayBar = () =>
  new cliProgress.SingleBar(
    {
      format: `replay [{bar}] {percentage}% | {value}/{total} positions | {events} events | {rate} events/s`,
      noTTYOutput: true,
      notTTYSchedule: 2000,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );

export const rate = (events: number, seconds: number) => Math.round(events / Math.max(seconds, 1e-9));

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { reportMeta, type ReportMeta } from './measured.ts';

export type LoadedReport = { report: unknown; meta: ReportMeta };

export const readReport = (file: string): LoadedReport => {
  const report: unknown = JSON.parse(readFileSync(file, 'utf8'));
  return { report, meta: reportMeta(report, file) };
};

/**
 * The newest report.json of a profile under `dir` (bench/results/<date>-<commit>/…), by the run's
 * own start time (meta.date), not by the directory name: both profiles may write under one name.
 */
export const latestReport = (dir: string, profile: 'embedded' | 'cluster'): LoadedReport | undefined => {
  if (!existsSync(dir)) return undefined;
  const found = readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => path.join(dir, e.name, 'report.json'))
    .filter((f) => existsSync(f))
    .flatMap((f) => {
      try {
        return [readReport(f)];
      } catch {
        return [];
      }
    })
    .filter((r) => r.meta.profile === profile)
    .sort((a, b) => b.meta.date.localeCompare(a.meta.date));
  return found[0];
};

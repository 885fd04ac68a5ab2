// What every scenario gets from bench/run.ts.
import type { ScenarioResult } from './report.js';

export interface Ctx {
  quick: boolean;
  outDir: string;
  profile: 'embedded' | 'cluster';
  /** progress messages (stderr) */
  log: (msg: string) => void;
  /** --durable-rate override */
  durableRate?: number;
}

export interface Scenario {
  name: string;
  describe: string;
  /** measures Centrifugo: run.ts finds (in full runs: builds) it before any scenario's clock starts */
  usesCentrifugo?: boolean;
  run(ctx: Ctx): Promise<ScenarioResult>;
}

export function errMsg(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export const round = (v: number, digits = 0): number => {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
};

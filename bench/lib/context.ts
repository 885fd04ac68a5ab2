// What every scenario gets from bench/run.ts.
import type { ScenarioResult } from './report.ts';

export type Ctx = {
  quick: boolean;
  outDir: string;
  /** progress messages (stderr) */
  log: (msg: string) => void;
  /** --durable-rate override */
  durableRate?: number;
};

export type Scenario = {
  name: string;
  describe: string;
  /** measures Centrifugo: run.ts finds (in full runs: builds) it before any scenario's clock starts */
  usesCentrifugo?: boolean;
  run: (ctx: Ctx) => Promise<ScenarioResult>;
};

export const errMsg = (e: unknown): string => {
  return e instanceof Error ? e.message : String(e);
};

export const round = (v: number, digits = 0): number => {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
};

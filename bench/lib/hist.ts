// HdrHistogram helpers. All latencies are recorded in microseconds.
import * as hdr from 'hdr-histogram-js';

export type Hist = hdr.Histogram;

/** 1 µs .. 1 h, 3 significant digits. */
export const newHist = (): Hist => {
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 3_600_000_000,
    numberOfSignificantValueDigits: 3,
  });
};

/** Monotonic clock in µs. CLOCK_MONOTONIC on Linux, so comparable across processes of one machine. */
export const nowUs = (): number => {
  return Number(process.hrtime.bigint() / 1000n);
};

export const recordUs = (h: Hist, us: number): void => {
  h.recordValue(Math.max(1, Math.min(Math.round(us), 3_600_000_000)));
};

export const encodeHist = (h: Hist): string => {
  return hdr.encodeIntoCompressedBase64(h);
};

export const decodeHist = (b64: string): Hist => {
  return hdr.decodeFromCompressedBase64(b64);
};

/** Merge base64-encoded histograms (from several client processes) into one. */
export const mergeEncoded = (encoded: Array<string | undefined>): Hist => {
  const out = newHist();
  for (const e of encoded) if (e) out.add(decodeHist(e));
  return out;
};

export type LatencySummary = {
  count: number;
  p50_ms: number;
  p99_ms: number;
  p999_ms: number;
  max_ms: number;
  mean_ms: number;
};

const ms = (us: number): number => Math.round(us) / 1000;

export const summarize = (h: Hist): LatencySummary => {
  if (h.totalCount === 0) return { count: 0, p50_ms: NaN, p99_ms: NaN, p999_ms: NaN, max_ms: NaN, mean_ms: NaN };
  return {
    count: h.totalCount,
    p50_ms: ms(h.getValueAtPercentile(50)),
    p99_ms: ms(h.getValueAtPercentile(99)),
    p999_ms: ms(h.getValueAtPercentile(99.9)),
    max_ms: ms(h.maxValue),
    mean_ms: Math.round(h.mean) / 1000,
  };
};

/** Points of the latency CDF, [percentile, ms], dense towards the tail (for a log-scaled "1/(1-p)" axis). */
export const cdfPoints = (h: Hist): Array<[number, number]> => {
  if (h.totalCount === 0) return [];
  const pts: Array<[number, number]> = [];
  const ps = new Set<number>();
  for (let p = 0; p <= 90; p += 5) ps.add(p);
  for (const base of [90, 99, 99.9, 99.99]) {
    const span = 100 - base;
    for (let k = 0; k < 10; k++) ps.add(+(base + (span * k) / 10).toFixed(4));
  }
  ps.add(99.999);
  for (const p of [...ps].sort((a, b) => a - b)) pts.push([p, ms(h.getValueAtPercentile(Math.max(p, 0.0001)))]);
  pts.push([100, ms(h.maxValue)]);
  return pts;
};

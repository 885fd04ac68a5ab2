// Hand-written SVG, like svg.ts: throughput vs offered load. Left panel: achieved msgs/s against offered
// msgs/s (log–log, the dashed diagonal is "keeps up"); right panel: send → receive p99 (solid) and p50
// (dashed) against offered msgs/s. One colour per server; where a server saturates, its left curve leaves the diagonal and its
// right curve climbs.
import { COLORS, esc } from './svg.ts';

export type LoadPoint = {
  offered: number;
  /** achieved msgs/s (delivered within the step) */
  achieved: number;
  /** send → receive p50 and p99, ms (CO-corrected) */
  p50_ms: number | null;
  p99_ms: number | null;
  /** the load generator itself ran late in this step: drawn as a hollow point */
  generatorBound?: boolean;
};

export type LoadSeries = {
  label: string;
  points: LoadPoint[];
};

type Axis = {
  lo: number;
  hi: number;
};

const decades = (values: number[], fallback: Axis): Axis => {
  const v = values.filter((x) => x > 0 && Number.isFinite(x));
  if (!v.length) return fallback;
  return { lo: 10 ** Math.floor(Math.log10(Math.min(...v))), hi: 10 ** Math.ceil(Math.log10(Math.max(...v))) };
};

const tick = (v: number): string => (v >= 1000 ? `${v / 1000}k` : String(v));

export const loadSvg = (title: string, series: LoadSeries[]): string => {
  const W = 1000,
    H = 460,
    mt = 62,
    mb = 50,
    gap = 80,
    ml = 70,
    legend = 190;
  const pw = (W - ml - gap - legend - 20) / 2,
    ph = H - mt - mb;
  const offered = series.flatMap((s) => s.points.map((p) => p.offered));
  const xAx = decades(offered, { lo: 100, hi: 100_000 });
  const tAx = decades([...offered, ...series.flatMap((s) => s.points.map((p) => p.achieved))], xAx);
  const lAx = decades(
    series.flatMap((s) => s.points.flatMap((p) => [p.p50_ms ?? NaN, p.p99_ms ?? NaN])),
    { lo: 0.1, hi: 1000 },
  );
  const o: string[] = [];
  o.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  o.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  o.push(`<text x="${ml}" y="22" font-size="15" font-weight="bold">${esc(title)}</text>`);

  const panel = (
    x0: number,
    y: Axis,
    yLabel: string,
    unit: string,
    picks: Array<{ pick: (p: LoadPoint) => number | null; dash?: string }>,
    diagonal: boolean,
  ): void => {
    const lx = (v: number): number => x0 + ((Math.log10(v) - Math.log10(xAx.lo)) / (Math.log10(xAx.hi) - Math.log10(xAx.lo) || 1)) * pw;
    const ly = (v: number): number => mt + ph - ((Math.log10(Math.max(v, y.lo)) - Math.log10(y.lo)) / (Math.log10(y.hi) - Math.log10(y.lo) || 1)) * ph;
    for (let d = Math.log10(xAx.lo); d <= Math.log10(xAx.hi) + 1e-9; d++) {
      for (const m of [1, 2, 5]) {
        const v = m * 10 ** d;
        if (v > xAx.hi) break;
        o.push(`<line x1="${lx(v)}" y1="${mt}" x2="${lx(v)}" y2="${mt + ph}" stroke="${m === 1 ? '#ccc' : '#eee'}"/>`);
        if (m === 1 || pw > 250) o.push(`<text x="${lx(v)}" y="${mt + ph + 16}" text-anchor="middle" font-size="11">${tick(v)}</text>`);
      }
    }
    for (let d = Math.log10(y.lo); d <= Math.log10(y.hi) + 1e-9; d++) {
      const v = 10 ** d;
      o.push(`<line x1="${x0}" y1="${ly(v)}" x2="${x0 + pw}" y2="${ly(v)}" stroke="#ccc"/>`);
      o.push(`<text x="${x0 - 6}" y="${ly(v) + 4}" text-anchor="end" font-size="11">${v >= 1 ? tick(v) : v}${unit}</text>`);
    }
    if (diagonal) {
      const a = Math.max(xAx.lo, y.lo),
        b = Math.min(xAx.hi, y.hi);
      o.push(`<line x1="${lx(a)}" y1="${ly(a)}" x2="${lx(b)}" y2="${ly(b)}" stroke="#999" stroke-dasharray="5 4"/>`);
    }
    o.push(`<rect x="${x0}" y="${mt}" width="${pw}" height="${ph}" fill="none" stroke="#444"/>`);
    o.push(`<text x="${x0 + pw / 2}" y="${H - 12}" text-anchor="middle">offered msgs/s (log)</text>`);
    o.push(`<text x="${x0 + pw / 2}" y="${mt - 8}" text-anchor="middle" font-weight="bold">${esc(yLabel)}</text>`);
    series.forEach((s, i) => {
      const c = COLORS[i % COLORS.length];
      for (const { pick, dash } of picks) {
        const pts = s.points
          .map((p) => [p.offered, pick(p), p.generatorBound] as const)
          .filter((p): p is readonly [number, number, boolean | undefined] => p[1] != null && p[1] > 0 && Number.isFinite(p[1]));
        const line = pts.map(([x, v]) => `${lx(x).toFixed(1)},${ly(v).toFixed(1)}`).join(' ');
        if (pts.length > 1)
          o.push(`<polyline fill="none" stroke="${c}" stroke-width="${dash ? 1.5 : 2}"${dash ? ` stroke-dasharray="${dash}"` : ''} points="${line}"/>`);
        if (!dash)
          for (const [x, v, lag] of pts)
            o.push(
              `<circle cx="${lx(x).toFixed(1)}" cy="${ly(v).toFixed(1)}" r="${lag ? 4 : 3}" fill="${lag ? 'white' : c}" stroke="${c}" stroke-width="1.5"/>`,
            );
      }
    });
  };
  panel(ml, tAx, 'achieved msgs/s (delivered within the step)', '', [{ pick: (p) => p.achieved }], true);
  panel(ml + pw + gap, lAx, 'send → receive p99 (solid), p50 (dashed)', ' ms', [{ pick: (p) => p.p99_ms }, { pick: (p) => p.p50_ms, dash: '6 4' }], false);

  const lx0 = ml + 2 * pw + gap + 16;
  series.forEach((s, i) => {
    const c = COLORS[i % COLORS.length];
    const y = mt + 10 + i * 20;
    o.push(`<line x1="${lx0}" y1="${y}" x2="${lx0 + 20}" y2="${y}" stroke="${c}" stroke-width="3"/>`);
    o.push(`<text x="${lx0 + 26}" y="${y + 4}">${esc(s.label)}</text>`);
  });
  if (series.some((s) => s.points.some((p) => p.generatorBound))) {
    const y = mt + 20 + series.length * 20;
    o.push(`<circle cx="${lx0 + 10}" cy="${y}" r="4" fill="white" stroke="#444" stroke-width="1.5"/>`);
    o.push(`<text x="${lx0 + 26}" y="${y + 4}" font-size="11">load generator late</text>`);
    o.push(`<text x="${lx0 + 26}" y="${y + 18}" font-size="11">(lag p99 &gt; 5% of the step)</text>`);
  }
  o.push('</svg>');
  return `${o.join('\n')}\n`;
};

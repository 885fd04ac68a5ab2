// Hand-written SVG: latency CDF ("percentile spectrum") with a log axis of 1/(1-p) and a log latency axis.
export type Series = {
  label: string;
  /** [percentile 0..100, latency ms] */
  points: Array<[number, number]>;
};

export const COLORS = ['#d62728', '#1f77b4', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f'];
export const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export const cdfSvg = (title: string, series: Series[]): string => {
  const W = 760,
    H = 440,
    ml = 70,
    mr = 190,
    mt = 40,
    mb = 50;
  const pw = W - ml - mr,
    ph = H - mt - mb;
  const maxNines = 5; // up to 99.999
  const xOf = (p: number): number => {
    const n = p >= 100 ? maxNines : Math.min(maxNines, -Math.log10(Math.max(1e-9, 1 - p / 100)));
    return ml + (n / maxNines) * pw;
  };
  const all = series.flatMap((s) => s.points.map(([, v]) => v)).filter((v) => v > 0 && Number.isFinite(v));
  const lo = all.length ? 10 ** Math.floor(Math.log10(Math.min(...all))) : 0.01;
  const hi = all.length ? 10 ** Math.ceil(Math.log10(Math.max(...all))) : 10;
  const yOf = (v: number): number => {
    const t = (Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo) || 1);
    return mt + ph - t * ph;
  };
  const o: string[] = [];
  o.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  o.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  o.push(`<text x="${ml}" y="22" font-size="15" font-weight="bold">${esc(title)}</text>`);
  // grid
  for (let n = 0; n <= maxNines; n++) {
    const x = ml + (n / maxNines) * pw;
    const label = n === 0 ? '0%' : `${(100 - 10 ** (2 - n)).toFixed(Math.max(0, n - 2))}%`;
    o.push(`<line x1="${x}" y1="${mt}" x2="${x}" y2="${mt + ph}" stroke="#ddd"/>`);
    o.push(`<text x="${x}" y="${mt + ph + 18}" text-anchor="middle">${label}</text>`);
  }
  for (let d = Math.log10(lo); d <= Math.log10(hi) + 1e-9; d++) {
    const v = 10 ** d;
    const y = yOf(v);
    o.push(`<line x1="${ml}" y1="${y}" x2="${ml + pw}" y2="${y}" stroke="#ddd"/>`);
    o.push(`<text x="${ml - 6}" y="${y + 4}" text-anchor="end">${v >= 1 ? v.toLocaleString('en-US') : v} ms</text>`);
  }
  o.push(`<rect x="${ml}" y="${mt}" width="${pw}" height="${ph}" fill="none" stroke="#444"/>`);
  o.push(`<text x="${ml + pw / 2}" y="${H - 10}" text-anchor="middle">percentile</text>`);
  o.push(`<text transform="translate(16 ${mt + ph / 2}) rotate(-90)" text-anchor="middle">latency (log)</text>`);
  series.forEach((s, i) => {
    const c = COLORS[i % COLORS.length];
    const pts = s.points.filter(([, v]) => Number.isFinite(v)).map(([p, v]) => `${xOf(p).toFixed(1)},${yOf(v).toFixed(1)}`);
    if (pts.length) o.push(`<polyline fill="none" stroke="${c}" stroke-width="2" points="${pts.join(' ')}"/>`);
    const ly = mt + 10 + i * 20;
    o.push(`<line x1="${ml + pw + 12}" y1="${ly}" x2="${ml + pw + 32}" y2="${ly}" stroke="${c}" stroke-width="3"/>`);
    o.push(`<text x="${ml + pw + 38}" y="${ly + 4}">${esc(s.label)}</text>`);
  });
  o.push('</svg>');
  return `${o.join('\n')}\n`;
};

// The report: report.json (everything), summary.md (one table) and the SVG plots.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { cdfSvg, type Series } from './svg.ts';
import { loadSvg, type LoadSeries } from './svg-load.ts';

export type Target = {
  on: 'ratio' | 'natter';
  op: '>=' | '<=';
  value: number;
};

/** One line of the summary table: a Natter figure beside its physical limit or peer figure. */
export type Row = {
  metric: string;
  unit: string;
  natter: number | null;
  ref: number | null;
  ref_name: string;
  /** natter / ref */
  ratio: number | null;
  target?: Target;
  met?: boolean | null;
};

export type Plot = {
  title: string;
  file: string;
  /** latency CDF series (the default kind) */
  series: Series[];
  /** 'load': throughput and p99 vs offered load, drawn from `load` instead of `series` */
  kind?: 'cdf' | 'load';
  load?: LoadSeries[];
};

export type ScenarioResult = {
  name: string;
  line: string;
  figures: Record<string, unknown>;
  rows: Row[];
  plots?: Plot[];
  /** the whole scenario failed */
  error?: string;
  /** parts of it failed (e.g. the Natter side while the peers ran) */
  errors?: Record<string, string>;
  /** the scenario could not run (reason) */
  skipped?: string;
  notes?: string[];
  duration_s?: number;
};

/** a / b; none when either is missing or negative (a memory delta after a collection can be) or b is 0: such a ratio would meet a target by accident. */
export const ratio = (a: number | null | undefined, b: number | null | undefined): number | null => {
  if (a == null || b == null || !Number.isFinite(a) || !Number.isFinite(b) || a < 0 || b <= 0) return null;
  return Math.round((a / b) * 1000) / 1000;
};

export const row = (metric: string, unit: string, natter: number | null | undefined, ref: number | null | undefined, refName: string, target?: Target): Row => {
  const n = natter == null || !Number.isFinite(natter) ? null : natter;
  const r = ref == null || !Number.isFinite(ref) ? null : ref;
  const q = ratio(n, r);
  let met: boolean | null = null;
  if (target) {
    const v = target.on === 'ratio' ? q : n;
    if (v != null) met = target.op === '>=' ? v >= target.value : v <= target.value;
  }
  return { metric, unit, natter: n, ref: r, ref_name: refName, ratio: q, ...(target ? { target, met } : {}) };
};

const fmt = (v: number | null | undefined): string => {
  if (v == null || !Number.isFinite(v)) return '—';
  if (Math.abs(v) >= 100) return Math.round(v).toLocaleString('en-US');
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(3).replace(/\.?0+$/, '') || '0';
};

export const targetText = (t?: Target): string => {
  if (!t) return '';
  return `${t.on === 'ratio' ? 'ratio' : 'natter'} ${t.op === '>=' ? '≥' : '≤'} ${t.value.toLocaleString('en-US')}`;
};

/** Write everything; returns the paths written. */
export const writeReport = (outDir: string, meta: Record<string, unknown>, results: ScenarioResult[]): string[] => {
  mkdirSync(outDir, { recursive: true });
  const written: string[] = [];
  for (const r of results)
    for (const p of r.plots ?? []) {
      const f = path.join(outDir, p.file);
      writeFileSync(f, p.kind === 'load' ? loadSvg(p.title, p.load ?? []) : cdfSvg(p.title, p.series));
      written.push(f);
    }
  const json = {
    meta,
    scenarios: Object.fromEntries(
      results.map((r) => [
        r.name,
        {
          ...r,
          plots: r.plots?.map((p) => ({
            title: p.title,
            file: p.file,
            ...(p.kind === 'load' ? { kind: p.kind, load: p.load } : { series: p.series.map((s) => ({ label: s.label, points: s.points })) }),
          })),
        },
      ]),
    ),
  };
  const jf = path.join(outDir, 'report.json');
  writeFileSync(jf, `${JSON.stringify(json, null, 2)}\n`);
  written.push(jf);
  const mf = path.join(outDir, 'summary.md');
  writeFileSync(mf, summaryMd(meta, results));
  written.push(mf);
  return written;
};

const summaryMd = (meta: Record<string, unknown>, results: ScenarioResult[]): string => {
  const m = meta as {
    date?: string;
    git_commit?: string;
    git_dirty?: boolean;
    node?: string;
    os?: string;
    cores?: number;
    memory_bytes?: number;
    profile?: string;
    quick?: boolean;
  };
  const L: string[] = [];
  L.push(`# Natter bench — ${m.date ?? ''}`);
  L.push('');
  L.push(
    `Commit \`${String(m.git_commit ?? '').slice(0, 12)}\`${m.git_dirty ? ' (dirty tree)' : ''} · ${m.profile ?? 'embedded'} profile${m.quick ? ' · **quick run**' : ''} · Node ${m.node} · ${m.os} · ${m.cores} cores · ${((m.memory_bytes ?? 0) / 2 ** 30).toFixed(1)} GiB`,
  );
  L.push('');
  L.push('Peers and limits run in the same session on the same machine; read the ratios, not the absolute figures (the machine is shared and noisy).');
  L.push('');
  L.push('| scenario | metric | Natter | limit / peer | ratio | target | met |');
  L.push('| --- | --- | ---: | ---: | ---: | --- | :---: |');
  for (const r of results) {
    if (r.skipped) {
      L.push(`| ${r.name} | skipped: ${r.skipped.replace(/\|/g, '/')} | | | | | |`);
      continue;
    }
    if (r.error && r.rows.length === 0) {
      L.push(`| ${r.name} | **error**: ${r.error.split('\n')[0]!.replace(/\|/g, '/').slice(0, 200)} | | | | | |`);
      continue;
    }
    for (const x of r.rows) {
      const ref = x.ref == null ? '—' : `${fmt(x.ref)} (${x.ref_name})`;
      const met = x.met == null ? '' : x.met ? '✅' : '❌';
      L.push(`| ${r.name} | ${x.metric} [${x.unit}] | ${fmt(x.natter)} | ${ref} | ${fmt(x.ratio)} | ${targetText(x.target)} | ${met} |`);
    }
  }
  const errs = results.flatMap((r) => [
    ...(r.error ? [`- **${r.name}**: ${r.error.split('\n')[0]}`] : []),
    ...Object.entries(r.errors ?? {}).map(([k, v]) => `- **${r.name} / ${k}**: ${v.split('\n')[0]}`),
  ]);
  if (errs.length) L.push('', '## Errors', '', ...errs);
  const notes = results.flatMap((r) => (r.notes ?? []).map((n) => `- ${r.name}: ${n}`));
  if (notes.length) L.push('', '## Notes', '', ...notes);
  const plots = results.flatMap((r) => (r.plots ?? []).map((p) => `- [${p.title}](${p.file})`));
  if (plots.length) L.push('', '## Plots', '', ...plots);
  L.push(
    '',
    'Targets are proposals of the bench (bench/lib/targets.ts), not requirements. Latencies are corrected for coordinated omission (measured from the intended send time of a fixed-rate schedule).',
    '',
  );
  return L.join('\n');
};

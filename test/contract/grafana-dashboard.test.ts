import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startNatter, type Server } from '../support/natter.ts';

type Panel = { type: string; title: string; targets?: Array<{ expr: string }>; panels?: Panel[] };
const dashboard = JSON.parse(readFileSync(new URL('../../docs/grafana/natter.json', import.meta.url), 'utf8')) as {
  panels: Panel[];
  templating: { list: Array<{ definition?: string }> };
};

const queries = [
  ...dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]).flatMap((panel) => (panel.targets ?? []).map((t) => t.expr)),
  ...dashboard.templating.list.flatMap((variable) => (variable.definition ? [variable.definition] : [])),
];

/** Metric names a query reads: Natter's own and the Node/process defaults of prom-client. */
const metricNames = (expr: string) => [...expr.matchAll(/\b(?:natter|process|nodejs)_[a-z0-9_]+/g)].map((m) => m[0]);

/** The series names a scrape can have: each family, and a histogram's _bucket, _sum and _count. */
const exported = (text: string): Map<string, string> => {
  const names = new Map<string, string>();
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.set(name!, type!);
    if (type === 'histogram' || type === 'summary') for (const suffix of ['_bucket', '_sum', '_count']) names.set(`${name}${suffix}`, type);
  }
  return names;
};

describe('the Grafana dashboard (docs/grafana/natter.json) reads what the server exports', () => {
  let server: Server;
  let scraped: Map<string, string>;

  before(async () => {
    server = await startNatter();
    scraped = exported(await (await fetch(`${server.url}/metrics`)).text());
  });
  after(() => server.close());

  it('given every query of the dashboard, then each metric it names is exported by GET /metrics', () => {
    assert.ok(queries.length >= 20, `only ${queries.length} queries found`);
    const missing = [...new Set(queries.flatMap(metricNames))].filter((name) => !scraped.has(name));
    assert.deepEqual(missing, [], `the dashboard queries metrics the server does not export: ${missing.join(', ')}`);
  });

  it('given the histograms, then the dashboard reads them through _bucket (quantiles) and _sum/_count (means)', () => {
    const used = new Set(queries.flatMap(metricNames));
    for (const [name, type] of scraped) {
      if (type !== 'histogram' || !name.startsWith('natter_') || /_(bucket|sum|count)$/.test(name)) continue;
      assert.ok(used.has(`${name}_bucket`) && used.has(`${name}_sum`) && used.has(`${name}_count`), `${name} is read as a histogram`);
    }
  });

  it('given every Natter metric the server exports, then the dashboard has a panel for it', () => {
    const used = new Set(queries.flatMap(metricNames).map((name) => name.replace(/_(bucket|sum|count)$/, '')));
    const families = [...scraped]
      .filter(([name, type]) => name.startsWith('natter_') && !(type === 'histogram' && /_(bucket|sum|count)$/.test(name)))
      .map(([name]) => name);
    const unseen = families.filter((name) => !used.has(name));
    assert.deepEqual(unseen, [], `no panel reads ${unseen.join(', ')}`);
  });
});

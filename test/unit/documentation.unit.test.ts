import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { errorStatus } from '../../contracts/errors.ts';
import { closeCodes } from '../../contracts/close-codes.ts';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** The rows of the Markdown table that follows `heading`, as arrays of cells. */
const table = (heading: string): string[][] => {
  const section = readme.slice(readme.indexOf(heading));
  assert.ok(readme.includes(heading), `README has a "${heading}" section`);
  const lines = section.split('\n').slice(1);
  const start = lines.findIndex((l) => l.startsWith('|'));
  const rows = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(line.split('|').slice(1, -1).map((c) => c.trim().replaceAll('`', '')));
  }
  return rows;
};

describe('the README documents the contract as the code defines it', () => {
  it('given the error registry, then the README error table lists every code with its HTTP status, and nothing else', () => {
    const documented = Object.fromEntries(table('### Error codes').map(([code, status]) => [code, Number(status)]));
    assert.deepEqual(documented, { ...errorStatus });
  });

  it('given the close codes, then the README close-code table lists exactly them', () => {
    const documented = table('### Close codes').map(([code]) => Number(code)).sort();
    assert.deepEqual(documented, Object.values(closeCodes).sort());
  });
});

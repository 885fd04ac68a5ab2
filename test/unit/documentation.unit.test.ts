import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
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
    rows.push(
      line
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim().replaceAll('`', '')),
    );
  }
  return rows;
};

describe('the README documents the contract as the code defines it', () => {
  it('given the error registry, then the README error table lists every code with its HTTP status, and nothing else', () => {
    const documented = Object.fromEntries(table('### Error codes').map(([code, status]) => [code, Number(status)]));
    assert.deepEqual(documented, { ...errorStatus });
  });

  it('given the close codes, then the README close-code table lists exactly them', () => {
    const documented = table('### Close codes')
      .map(([code]) => Number(code))
      .sort();
    assert.deepEqual(documented, Object.values(closeCodes).sort());
  });
});

describe('the README shows the tree as it is', () => {
  it('given the folder table, then it names every top-level folder of the repository, and only folders that exist', () => {
    const listed = table('The folders follow the design').map(([folder]) => folder!.replace(/\/$/, ''));
    const tracked = execFileSync('git', ['ls-files'], { encoding: 'utf8', cwd: new URL('../..', import.meta.url) })
      .split('\n')
      .filter((path) => path.includes('/') && !path.startsWith('.'))
      .map((path) => path.slice(0, path.indexOf('/')));
    const folders = [...new Set(tracked)].sort();
    assert.deepEqual(
      listed
        .map((f) => f.split('/')[0])
        .filter((f, i, all) => all.indexOf(f) === i)
        .sort(),
      folders,
    );
    for (const folder of listed) assert.ok(existsSync(new URL(`../../${folder}`, import.meta.url)), `${folder} is in the table but not in the tree`);
  });
});

// npm run engines:prune [-- --older-than-hours N]: drops the namespaces that test files and bench runs
// left on the shared engines (scripts/cluster-namespace.ts), those older than N hours (default 2).
import { parseArgs } from 'node:util';
import { pruneClusterNamespaces } from './cluster-namespace.ts';

const { values } = parseArgs({ options: { 'older-than-hours': { type: 'string', default: '2' } } });
const hours = Number(values['older-than-hours']);
if (!(hours >= 0)) throw new Error(`--older-than-hours must be a number of hours, not ${values['older-than-hours']}`);
const { dropped, failures } = await pruneClusterNamespaces(hours * 3_600_000);
console.log(
  `dropped ${dropped.length} namespace(s) older than ${hours} h${failures.length ? `; ${failures.length} part(s) were already gone or could not be dropped` : ''}`,
);

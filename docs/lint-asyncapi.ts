// `npm run lint:api` (second half): validates docs/asyncapi.json with @asyncapi/parser, the
// reference parser, and exits non-zero on any error-level diagnostic.
import { readFileSync } from 'node:fs';
import { Parser, DiagnosticSeverity } from '@asyncapi/parser';

const path = new URL('asyncapi.json', import.meta.url);
const { document, diagnostics } = await new Parser().parse(readFileSync(path, 'utf8'));
const errors = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error);
const warnings = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Warning);
for (const d of [...errors, ...warnings]) {
  console.log(`${d.severity === DiagnosticSeverity.Error ? 'error' : 'warning'} ${d.code} at ${d.path.join('.') || '/'}: ${d.message}`);
}
console.log(`docs/asyncapi.json: ${errors.length} errors, ${warnings.length} warnings${document ? `, AsyncAPI ${document.version()}` : ''}`);
if (errors.length > 0 || !document) process.exit(1);

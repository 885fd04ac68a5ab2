#!/usr/bin/env node
// Runs the compiled server in dist/ (`npm run build`, which `npm install` runs through `prepare`).
// The TypeScript sources run instead, compiled on load by tsx (a development dependency), when there
// is no build yet, when NATTER_FROM_SOURCE=1, and under the test runner (`node --test` marks its
// processes with NODE_TEST_CONTEXT, which their children inherit): tests must exercise the code as
// it is, never a dist/ left over from an earlier build.
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/cli/main.js', import.meta.url);
const fromSource = process.env.NATTER_FROM_SOURCE === '1' || process.env.NODE_TEST_CONTEXT !== undefined || !existsSync(compiled);
if (fromSource) {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../cli/main.ts');
} else {
  await import(compiled.href);
}

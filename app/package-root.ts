import { fileURLToPath } from 'node:url';

// The package's root directory, whether this file runs from the sources (app/) or compiled
// (dist/app/): what lies outside the compiled code (bin/, the built web client, bench results,
// scripts/) is found from both.
export const packageRoot = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? '..' : '../..', import.meta.url));

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Runs a package binary from the repository root; its output is returned for the failure message. */
const run = (command: string, args: string[]) => {
  const result = spawnSync(command, args, {
    cwd: root,
    encoding: 'utf8',
    timeout: 120_000,
    // No telemetry or update check from a test (CI has no route to them anyway).
    env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' },
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
};

describe('the API documents pass the standard linters (npm run lint:api)', () => {
  it('given docs/openapi.json, then `redocly lint` (recommended rules) finds no error and no warning', () => {
    const { status, output } = run(`${root}node_modules/.bin/redocly`, ['lint', 'docs/openapi.json']);
    assert.equal(status, 0, output);
    assert.match(output, /Your API description is valid/, output);
    assert.doesNotMatch(output, /You have \d+ warnings?/, output);
  });

  it('given docs/asyncapi.json, then @asyncapi/parser reports no error and no warning', () => {
    const { status, output } = run(process.execPath, ['--import', 'tsx', 'docs/lint-asyncapi.ts']);
    assert.equal(status, 0, output);
    assert.match(output, /docs\/asyncapi\.json: 0 errors, 0 warnings, AsyncAPI 3\.0\.0/, output);
  });
});

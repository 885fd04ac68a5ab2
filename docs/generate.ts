// `npm run docs`: writes the OpenAPI and AsyncAPI documents that the server serves, from a server
// built in memory (nothing listens), so that they can be read and diffed without running Natter.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../app/config.ts';
import { createEmbeddedNatter } from '../app/embedded.ts';
import { asyncApiDocument } from '../http/docs.ts';

/** The same bytes every time, so `git diff` shows only real changes. */
const serialize = (document: unknown) => `${JSON.stringify(document, null, 2)}\n`;

const dataDir = mkdtempSync(join(tmpdir(), 'natter-docs-'));
try {
  const natter = await createEmbeddedNatter(loadConfig({ NATTER_DATA_DIR: dataDir, NATTER_LOG_LEVEL: 'warn' }));
  await natter.app.ready();
  const here = new URL('.', import.meta.url);
  writeFileSync(new URL('openapi.json', here), serialize(natter.app.swagger()));
  writeFileSync(new URL('asyncapi.json', here), serialize(asyncApiDocument()));
  await natter.close();
  console.log('wrote docs/openapi.json and docs/asyncapi.json');
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqliteReadModels } from '../../adapters/sqlite/read-models.ts';
import { readModelsContract } from './read-models.contract.ts';

readModelsContract('sqlite', async () => createSqliteReadModels(join(mkdtempSync(join(tmpdir(), 'natter-rm-')), 'read-models.db')));

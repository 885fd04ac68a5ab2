import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqliteEventStore } from '../../adapters/sqlite/event-store.ts';
import { eventStoreContract } from './event-store.contract.ts';

eventStoreContract('sqlite', async () => createSqliteEventStore({ path: join(mkdtempSync(join(tmpdir(), 'natter-es-')), 'events.db') }));

import type { ReadModels } from '../ports/read-models.ts';
import type { Projector } from '../ports/projector.ts';
import { directoryProjector } from './directory/projector.ts';
import { historyProjector } from './history/projector.ts';
import { inboxProjector } from './inbox/projector.ts';
import { receiptsProjector } from './receipts/projector.ts';
import { usersProjector } from './users/projector.ts';
import { searchProjector } from './search/projector.ts';

/** Every read model, in the order they are applied; the directory first, since fan-out reads it. */
export const readModelProjectors = (readModels: ReadModels): Projector[] => [
  directoryProjector(readModels.directory),
  historyProjector(readModels.history),
  inboxProjector(readModels.inbox),
  receiptsProjector(readModels.receipts),
  usersProjector(readModels.users),
  searchProjector(readModels.search),
];

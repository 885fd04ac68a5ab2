import { NatterError } from '../contracts/errors.ts';

// Both inbox adapters encode their cursor as base64url of `<last activity>|<conversation id>`. An
// adapter reads a cursor it cannot decode as "from the top", which would serve a client with a
// corrupted cursor the first page again as if it were the next: the route refuses it first.
const INBOX_CURSOR = /^[0-9]{1,16}\|[A-Za-z0-9][A-Za-z0-9_-]*$/;

/** The cursor as given, when it is one the inbox gave; else 400 invalid_request. */
export const checkInboxCursor = (cursor: string): string => {
  if (!INBOX_CURSOR.test(Buffer.from(cursor, 'base64url').toString('latin1'))) {
    throw new NatterError('invalid_request', 'cursor is not one this server gave (use next_cursor as it came)');
  }
  return cursor;
};

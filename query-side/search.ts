import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type {} from '../command-side/actor.ts';
import { DEFAULT_PAGE, SearchQuery, SearchReply } from '../contracts/rest.ts';
import { NatterError } from '../contracts/errors.ts';
import type { DirectoryStore } from '../ports/read-models.ts';
import type { SearchIndex } from '../ports/search.ts';
import { parseQuery, searchableText, snippetOf } from '../projections/search/text.ts';
import { visibleConversation } from './visible.ts';

/** The cursor is the position of the last message of the page, opaque to clients. */
const encodeCursor = (position: number) => Buffer.from(`s${position}`).toString('base64url');
const decodeCursor = (cursor: string): number => {
  const match = /^s([1-9]\d{0,15})$/.exec(Buffer.from(cursor, 'base64url').toString('latin1'));
  if (!match) throw new NatterError('invalid_request', 'cursor is not one this server gave');
  return Number(match[1]);
};

/**
 * GET /v1/search: the caller's messages matching `q`, newest first. Which conversations are searched
 * is read from the directory at every query, not stored with the messages: a member removed a moment
 * ago finds nothing more there, and one added finds the whole history. Newest first by log position
 * keeps pages stable: the cursor says "older than this message", and new messages only ever land
 * before the first page.
 */
export const searchRoute = (app: FastifyInstance, deps: { directory: DirectoryStore; search: SearchIndex }) => {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  api.get(
    '/v1/search',
    {
      schema: { operationId: 'searchMessages', summary: 'Search the messages of your conversations', querystring: SearchQuery, response: { 200: SearchReply } },
    },
    async (request) => {
      const { q, conversation_id, limit = DEFAULT_PAGE, cursor } = request.query;
      const userId = request.actor.user_id;
      const terms = parseQuery(q);
      if (terms.length === 0) throw new NatterError('invalid_request', 'q has no word to search for (letters or digits)');
      const before = cursor === undefined ? undefined : decodeCursor(cursor);
      const conversationIds =
        conversation_id === undefined
          ? await deps.directory.conversationsOf(userId)
          : [(await visibleConversation(deps.directory, userId, conversation_id)).conversation_id];
      // One more than asked, to know whether there is a next page.
      const hits = await deps.search.search({ terms, conversationIds, limit: limit + 1, ...(before !== undefined ? { before } : {}) });
      const page = hits.slice(0, limit);
      return {
        items: page.map((hit) => ({
          conversation_id: hit.conversation_id,
          seq: hit.seq,
          message_id: hit.message_id,
          sender_id: hit.sender_id,
          timestamp: hit.timestamp,
          snippet: snippetOf(searchableText(hit.text, hit.content_type) ?? '', terms),
        })),
        next_cursor: hits.length > limit ? encodeCursor(page.at(-1)!.position) : null,
      };
    },
  );
};

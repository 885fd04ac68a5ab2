import type { FastifyInstance } from 'fastify';
import type {} from '../command-side/actor.ts';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import {
  BlocksReply,
  ConversationParams,
  ConversationReply,
  DEFAULT_PAGE,
  InboxQuery,
  InboxReply,
  MessageParams,
  MessagesQuery,
  MessagesReply,
  RepliesQuery,
  ReceiptsReply,
  SyncQuery,
  SyncReply,
} from '../contracts/rest.ts';
import type { ReadModels } from '../ports/read-models.ts';
import { visibleConversation } from './visible.ts';
import { toMessage } from './messages.ts';
import { DEFAULT_SYNC_LIMIT, syncPage } from './sync.ts';
import { searchRoute } from './search.ts';
import { checkInboxCursor } from './inbox-cursor.ts';

/** REST queries. They read the read models only, never the event store or the command side. */
export const queryRoutes = async (app: FastifyInstance, deps: { readModels: ReadModels; appliedPosition(): number }) => {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const { directory, history, inbox, receipts, users, search } = deps.readModels;

  api.get(
    '/v1/conversations',
    {
      schema: {
        operationId: 'listConversations',
        summary: 'Your inbox: conversations by last activity, newest first',
        querystring: InboxQuery,
        response: { 200: InboxReply },
      },
    },
    async (request) => {
      const page = await inbox.list(request.actor.user_id, {
        limit: request.query.limit ?? DEFAULT_PAGE,
        ...(request.query.cursor !== undefined ? { cursor: checkInboxCursor(request.query.cursor) } : {}),
      });
      return { items: page.items.map(({ kind, last_position: _, ...item }) => ({ ...item, type: kind })), next_cursor: page.next_cursor };
    },
  );

  api.get(
    '/v1/conversations/:id',
    { schema: { operationId: 'getConversation', summary: 'A conversation you are in', params: ConversationParams, response: { 200: ConversationReply } } },
    async (request) => {
      const info = await visibleConversation(directory, request.actor.user_id, request.params.id);
      return {
        conversation_id: info.conversation_id,
        type: info.kind,
        title: info.title,
        members: info.members,
        admins: info.admins,
        created_by: info.created_by,
        retention_days: info.retention_days,
      };
    },
  );

  api.get(
    '/v1/conversations/:id/messages',
    {
      schema: {
        operationId: 'listMessages',
        summary: 'A page of history',
        params: ConversationParams,
        querystring: MessagesQuery,
        response: { 200: MessagesReply },
      },
    },
    async (request) => {
      await visibleConversation(directory, request.actor.user_id, request.params.id);
      const { before, after, limit = DEFAULT_PAGE } = request.query;
      const rows = await history.page(request.params.id, { limit, ...(before !== undefined ? { before } : {}), ...(after !== undefined ? { after } : {}) });
      return { items: rows.map(toMessage) };
    },
  );

  api.get(
    '/v1/conversations/:id/messages/:seq/replies',
    {
      schema: {
        operationId: 'listReplies',
        summary: 'The thread of a message',
        params: MessageParams,
        querystring: RepliesQuery,
        response: { 200: MessagesReply },
      },
    },
    async (request) => {
      await visibleConversation(directory, request.actor.user_id, request.params.id);
      const rows = await history.replies(request.params.id, request.params.seq, {
        after: request.query.after ?? 0,
        limit: request.query.limit ?? DEFAULT_PAGE,
      });
      return { items: rows.map(toMessage) };
    },
  );

  api.get(
    '/v1/conversations/:id/receipts',
    {
      schema: {
        operationId: 'listReceipts',
        summary: 'Delivered and read watermarks of every member',
        params: ConversationParams,
        response: { 200: ReceiptsReply },
      },
    },
    async (request) => {
      const info = await visibleConversation(directory, request.actor.user_id, request.params.id);
      const marks = new Map((await receipts.list(request.params.id)).map((r) => [r.user_id, r]));
      return { items: info.members.map((user_id) => marks.get(user_id) ?? { user_id, delivered_seq: 0, read_seq: 0 }) };
    },
  );

  api.get(
    '/v1/users/me/blocks',
    { schema: { operationId: 'listBlocks', summary: 'The users you blocked', response: { 200: BlocksReply } } },
    async (request) => ({ items: await users.blocks(request.actor.user_id) }),
  );

  api.get(
    '/v1/sync',
    {
      schema: {
        operationId: 'sync',
        summary: 'Messages and changes after a cursor, across your conversations',
        querystring: SyncQuery,
        response: { 200: SyncReply },
      },
    },
    async (request) => {
      const after = Number(request.query.cursor ?? 0);
      const page = await syncPage({ history, inbox }, request.actor.user_id, after, deps.appliedPosition(), request.query.limit ?? DEFAULT_SYNC_LIMIT);
      return { items: page.entries.map((entry) => toMessage(entry.message)), cursor: String(page.cursor), has_more: page.has_more };
    },
  );

  searchRoute(app, { directory, search });
};

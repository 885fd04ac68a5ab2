import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type {} from '../../command-side/actor.ts';
import type { ReadModels } from '../../ports/read-models.ts';
import type { PushRegistry } from '../../ports/push.ts';
import { toMessage } from '../../query-side/messages.ts';

const PAGE = 200;

/**
 * Everything the user can read, as NDJSON, one line at a time: their profile (settings, blocks,
 * registered push devices), each conversation they are in, then its messages as history shows them
 * (edits applied, deleted ones blank), page by page. Streamed with chunked transfer and pulled by
 * the client, so an export of any size holds one page in memory, never the whole.
 */
export const exportLines = async function* (readModels: ReadModels, push: PushRegistry, userId: string): AsyncGenerator<string> {
  const line = (value: object) => `${JSON.stringify(value)}\n`;
  const devices = (await push.targetsOf([userId])).map(({ device_id, platform, created_at }) => ({ device_id, platform, created_at }));
  yield line({
    type: 'profile',
    user_id: userId,
    exported_at: Date.now(),
    last_seen_visibility: await readModels.users.lastSeenVisibility(userId),
    blocks: await readModels.users.blocks(userId),
    push_devices: devices,
  });
  let cursor: string | undefined;
  for (;;) {
    const page = await readModels.inbox.list(userId, { limit: PAGE, ...(cursor ? { cursor } : {}) });
    for (const item of page.items) {
      const info = await readModels.directory.get(item.conversation_id);
      if (!info?.members.includes(userId)) continue;
      yield line({
        type: 'conversation',
        conversation_id: info.conversation_id,
        kind: info.kind,
        title: info.title,
        members: info.members,
        admins: info.admins,
        muted: item.muted,
        muted_until: item.muted_until,
      });
      for (let after = 0; ; ) {
        const rows = await readModels.history.page(info.conversation_id, { after, limit: PAGE });
        for (const row of rows) yield line({ type: 'message', ...toMessage(row) });
        if (rows.length < PAGE) break;
        after = rows[rows.length - 1]!.seq;
      }
    }
    if (!page.next_cursor) return;
    cursor = page.next_cursor;
  }
};

/** `GET /v1/users/me/export`: the caller's data, streamed (see exportLines). */
export const exportRoutes = async (app: FastifyInstance, deps: { readModels: ReadModels; push: PushRegistry }) => {
  app.get(
    '/v1/users/me/export',
    {
      schema: {
        operationId: 'exportMe',
        summary: 'Everything you can read, as NDJSON (streamed)',
        response: {
          200: {
            description: 'NDJSON: a `profile` line, then each `conversation` line followed by its `message` lines',
            content: { 'application/x-ndjson': { schema: { type: 'string' } } },
          },
        },
      },
    },
    async (request, reply) => {
      const stream = Readable.from(exportLines(deps.readModels, deps.push, request.actor.user_id), { objectMode: false });
      return reply
        .type('application/x-ndjson; charset=utf-8')
        .header('content-disposition', `attachment; filename="natter-export-${request.actor.user_id}.ndjson"`)
        .send(stream);
    },
  );
};

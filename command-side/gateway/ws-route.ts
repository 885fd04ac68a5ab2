import type {} from '@fastify/websocket';
import type {} from '../actor.ts';
import type { FastifyInstance } from 'fastify';
import type { WebSocket } from 'ws';
import { isNatterError } from '../../contracts/errors.ts';
import type { AckFrame, ClientFrame, SyncDoneFrame } from '../../contracts/frames.ts';
import type { HistoryStore, InboxStore } from '../../ports/read-models.ts';
import { DEFAULT_SYNC_LIMIT, syncPage } from '../../query-side/sync.ts';
import { toMessage } from '../../query-side/messages.ts';
import type { Commands } from '../commands.ts';
import { Connection } from './connection.ts';
import { parseFrame } from './frames.ts';
import type { ConnectionRegistry } from './registry.ts';

export type GatewayDeps = {
  commands: Commands;
  registry: ConnectionRegistry;
  stores: { history: HistoryStore; inbox: InboxStore };
  appliedPosition(): number;
  limits: { maxBufferBytes: number; maxHeldFrames: number };
};

/**
 * The WebSocket command/subscribe API. Authentication happens before the upgrade (see app/auth.ts);
 * from then on, bad input gets an error frame and the socket stays open.
 */
export const gatewayRoute = async (app: FastifyInstance, deps: GatewayDeps) => {
  const { commands, registry, stores } = deps;

  const sync = async (connection: Connection, frame: Extract<ClientFrame, { type: 'sync' }>) => {
    connection.startSync();
    const after = Number(frame.cursor ?? 0);
    const page = await syncPage(stores, connection.userId, after, Math.max(after, deps.appliedPosition()), frame.limit ?? DEFAULT_SYNC_LIMIT);
    for (const message of page.items) connection.sendFrame({ type: 'new_message', ...toMessage(message) });
    connection.sendFrame({ type: 'sync_done', cursor: String(page.cursor), has_more: page.has_more } satisfies SyncDoneFrame);
    if (!page.has_more) connection.finishSync(page.cursor);
  };

  const handle = async (connection: Connection, frame: ClientFrame) => {
    const actor = { user_id: connection.userId, device_id: connection.deviceId };
    switch (frame.type) {
      case 'send_message': {
        const { position: _, ...ack } = await commands.sendMessage(actor, frame);
        connection.sendFrame({ type: 'ack', ...ack } satisfies AckFrame);
        return;
      }
      case 'mark_delivered':
      case 'mark_read':
        await commands.markReceipt(actor, frame.conversation_id, frame.type === 'mark_read' ? 'read' : 'delivered', frame.up_to_seq);
        return;
      case 'sync': return sync(connection, frame);
      case 'ping': connection.sendFrame({ type: 'pong' }); return;
    }
  };

  app.get('/v1/ws', { websocket: true }, (socket: WebSocket, request) => {
    const connection = new Connection(socket, request.actor.user_id, request.actor.device_id, deps.limits);
    const log = request.log.child({ connection: connection.id, user: connection.userId, device: connection.deviceId });
    registry.add(connection);
    socket.on('close', () => registry.remove(connection));
    socket.on('error', (error) => log.warn({ err: error }, 'socket error'));
    socket.on('message', (data, isBinary) => {
      const parsed = parseFrame(data, isBinary);
      if (!parsed.ok) { connection.sendFrame(parsed.error); return; }
      const frame = parsed.frame;
      handle(connection, frame).catch((error: unknown) => {
        const clientMsgId = frame.type === 'send_message' ? { client_msg_id: frame.client_msg_id } : {};
        if (isNatterError(error)) { connection.error(error.code, error.message, { ...clientMsgId, ...(error.details ?? {}) }); return; }
        log.error({ err: error, frame: frame.type }, 'frame failed');
        connection.error('internal', 'internal error', clientMsgId);
      });
    });
  });
};

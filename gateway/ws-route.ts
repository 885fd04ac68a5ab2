import type {} from '@fastify/websocket';
import type {} from '../command-side/actor.ts';
import type { FastifyInstance } from 'fastify';
import type { WebSocket } from 'ws';
import { NatterError, isNatterError } from '../contracts/errors.ts';
import { closeCodes } from '../contracts/close-codes.ts';
import type { AckFrame, ClientFrame, OkFrame, ReauthFrame, SyncDoneFrame } from '../contracts/frames.ts';
import type { HistoryStore, InboxStore, UserStore } from '../ports/read-models.ts';
import type { Metrics } from '../ports/metrics.ts';
import type { RateLimit, RateLimiter } from '../ports/rate-limiter.ts';
import { DEFAULT_SYNC_LIMIT, syncPage } from '../query-side/sync.ts';
import { toMessage, toUpdate } from '../query-side/messages.ts';
import type { Actor } from '../command-side/actor.ts';
import type { Commands } from '../command-side/commands.ts';
import { noTracing, type Tracing } from '../ports/tracing.ts';
import type { VerifiedToken, VerifyToken } from '../http/auth.ts';
import { Connection, type ConnectionLimits } from './connection.ts';
import { historyGapFill } from './gap-fill.ts';
import { parseFrame } from './frames.ts';
import { createTokenExpiry } from './token-expiry.ts';
import type { ConnectionRegistry } from './registry.ts';
import type { Presence } from './presence.ts';
import type { Typing } from './typing.ts';

export type GatewayDeps = {
  commands: Commands;
  registry: ConnectionRegistry;
  presence: Presence;
  typing: Typing;
  limiter: RateLimiter;
  /** Typing, pings, receipts and syncs: cheap, but a flood of them must not starve anyone. */
  ephemeralLimit: RateLimit;
  metrics: Metrics;
  stores: { history: HistoryStore; inbox: InboxStore; users: Pick<UserStore, 'eitherBlocks'> };
  appliedPosition(): number;
  /** Resolves once the read models have applied the log through `position` (bounded wait). */
  caughtUp(position: number): Promise<void>;
  /** The log's head: what a device registered now may have missed live. */
  logHead(): Promise<number>;
  isDraining(): boolean;
  limits: ConnectionLimits & { maxSocketsPerUser: number };
  /** The check REST and the upgrade apply (http/auth.ts), for `reauth`; `token_expiring` goes out this long before exp. */
  tokens: { verify: VerifyToken; expiringNoticeMs: number };
  /** A user's live sockets on every gateway (the cluster's session registry); without it, this gateway's count. */
  countSockets?(userId: string): Promise<number>;
  /** Each `send_message` frame starts a trace when tracing is on (ports/tracing.ts). */
  tracing?: Tracing;
};

/**
 * The WebSocket command/subscribe API. Authentication happens before the upgrade (see http/auth.ts);
 * from then on, bad input gets an error frame and the socket stays open.
 */
export const gatewayRoute = async (app: FastifyInstance, deps: GatewayDeps) => {
  const { commands, registry, stores, presence, typing, metrics } = deps;

  const registered = new WeakMap<Connection, Promise<number | null>>();
  const tokenExpiry = createTokenExpiry({ noticeMs: deps.tokens.expiringNoticeMs });
  app.addHook('onClose', async () => tokenExpiry.stop());
  const fill = historyGapFill(stores.history, deps.appliedPosition);
  const rateLimitLogged = new WeakSet<Connection>();

  const sync = async (connection: Connection, frame: Extract<ClientFrame, { type: 'sync' }>) => {
    connection.startSync();
    // Events fanned out before this device was registered never reached it live: sync must cover
    // them, so it waits until the read models have applied the log as of the registration.
    await deps.caughtUp((await registered.get(connection)) ?? (await deps.logHead()));
    const after = Number(frame.cursor ?? 0);
    const page = await syncPage(stores, connection.userId, after, Math.max(after, deps.appliedPosition()), frame.limit ?? DEFAULT_SYNC_LIMIT);
    // A page is also capped by bytes: written at once, a page of large messages would exceed the
    // send buffer and get a healthy device cut off as a slow consumer.
    const budget = deps.limits.maxBufferBytes / 2;
    let bytes = 0;
    let sent = 0;
    for (const entry of page.entries) {
      const json = JSON.stringify(entry.kind === 'new' ? { type: 'new_message', ...toMessage(entry.message) } : toUpdate(entry.message));
      if (sent > 0 && bytes + json.length > budget) break;
      connection.send(json);
      if (entry.kind === 'new') connection.synced(entry.message.conversation_id, entry.message.seq);
      bytes += json.length;
      sent++;
    }
    const truncated = sent < page.entries.length;
    const cursor = truncated ? page.entries[sent - 1]!.at : page.cursor;
    const hasMore = truncated || page.has_more;
    connection.sendFrame({ type: 'sync_done', cursor: String(cursor), has_more: hasMore } satisfies SyncDoneFrame);
    if (!hasMore) connection.finishSync(cursor);
  };

  const ephemeralBudget = async (actor: Actor) => {
    const decision = await deps.limiter.take(`ephemeral:${actor.user_id}`, deps.ephemeralLimit);
    if (decision.ok) return;
    metrics.rateLimited('ephemeral');
    throw new NatterError('rate_limited', `too many frames; retry in ${decision.retryAfterMs} ms`, { retry_after_ms: decision.retryAfterMs });
  };

  const tracing = deps.tracing ?? noTracing;
  const sendMessage = async (connection: Connection, actor: Actor, frame: Extract<ClientFrame, { type: 'send_message' }>) => {
    const ack = await commands.sendMessage(actor, frame);
    connection.sendFrame({
      type: 'ack',
      conversation_id: ack.conversation_id,
      client_msg_id: ack.client_msg_id,
      message_id: ack.message_id,
      seq: ack.seq,
      timestamp: ack.timestamp,
    } satisfies AckFrame);
    metrics.ack();
  };

  const handle = async (connection: Connection, frame: ClientFrame) => {
    const actor = { user_id: connection.userId, device_id: connection.deviceId };
    if (frame.type !== 'send_message') await ephemeralBudget(actor);
    switch (frame.type) {
      case 'send_message':
        // The root of a message's trace: the append, relay, projectors and deliveries are its descendants.
        if (!tracing.enabled) return sendMessage(connection, actor, frame);
        return tracing.active(
          'natter.ws send_message',
          {
            kind: 'server',
            attributes: { 'natter.conversation': frame.conversation_id, 'natter.client_msg_id': frame.client_msg_id, 'enduser.id': actor.user_id },
          },
          () => sendMessage(connection, actor, frame),
        );
      case 'mark_delivered':
      case 'mark_read':
        await commands.markReceipt(actor, frame.conversation_id, frame.type === 'mark_read' ? 'read' : 'delivered', frame.up_to_seq);
        return;
      case 'sync':
        return sync(connection, frame);
      case 'ping':
        connection.sendFrame({ type: 'pong' });
        return;
      case 'typing': {
        const members = await commands.membersFor(actor, frame.conversation_id);
        // In a direct conversation a block silences typing both ways (in groups it flows as before).
        const other = frame.conversation_id.startsWith('d_') ? [...members].find((m) => m !== actor.user_id) : undefined;
        if (other !== undefined && (await stores.users.eitherBlocks(actor.user_id, other))) return;
        typing.update(members, frame.conversation_id, actor.user_id, frame.state);
        return;
      }
      case 'edit_message':
        await commands.editMessage(actor, frame.conversation_id, frame.seq, frame.content);
        return ok(connection, frame.request_id);
      case 'delete_message':
        await commands.deleteMessage(actor, frame.conversation_id, frame.seq);
        return ok(connection, frame.request_id);
      case 'react':
        await commands.react(actor, frame.conversation_id, frame.seq, frame.emoji, frame.op);
        return ok(connection, frame.request_id);
      case 'reauth':
        return reauth(connection, frame);
    }
  };
  // A refused reauth closes the socket: the client has a bug, or someone is trying another user's token.
  const reauth = (connection: Connection, frame: ReauthFrame) => {
    let verified: VerifiedToken;
    try {
      verified = deps.tokens.verify(frame.token);
      if (verified.userId !== connection.userId) throw new NatterError('unauthorized', 'a reauth token must name the same user as the socket');
    } catch (error) {
      metrics.error('unauthorized');
      connection.error(
        'unauthorized',
        isNatterError(error) ? error.message : 'invalid token',
        frame.request_id === undefined ? {} : { request_id: frame.request_id },
      );
      connection.closeReason = 'reauth_refused';
      connection.socket.close(closeCodes.reauth_refused, 'reauth refused');
      setTimeout(() => connection.socket.terminate(), 1_000).unref();
      return;
    }
    tokenExpiry.watch(connection, verified.expiresAt);
    ok(connection, frame.request_id);
  };
  const ok = (connection: Connection, requestId: string | undefined) => {
    connection.sendFrame(requestId === undefined ? { type: 'ok' } : ({ type: 'ok', request_id: requestId } satisfies OkFrame));
  };

  // A draining gateway takes no new sockets; the client reconnects to another one.
  app.addHook('onRequest', async (request) => {
    if (request.routeOptions.url === '/v1/ws' && deps.isDraining()) throw new NatterError('unavailable', 'this gateway is draining; reconnect');
  });
  // In the cluster the per-user socket limit counts every gateway's sockets: looked up before the
  // upgrade (the socket handler itself is synchronous) and refused the same way as a local excess.
  const elsewhere = new WeakMap<object, number>();
  if (deps.countSockets) {
    app.addHook('preHandler', async (request) => {
      if (request.routeOptions.url === '/v1/ws') elsewhere.set(request.raw, await deps.countSockets!(request.actor.user_id).catch(() => 0));
    });
  }

  // The listeners are shared by every socket and find its connection here: a closure per listener
  // per socket would cost an idle socket a few hundred bytes (bench: idle).
  const connections = new WeakMap<WebSocket, Connection>();
  const log = (connection: Connection) => app.log.child({ connection: connection.id, user: connection.userId, device: connection.deviceId });

  function onPong(this: WebSocket) {
    const connection = connections.get(this);
    if (connection) connection.alive = true;
  }
  function onClose(this: WebSocket, code: number) {
    const connection = connections.get(this);
    if (!connection) return;
    tokenExpiry.forget(connection);
    registry.remove(connection);
    metrics.socketClosed(connection.closeReason ?? String(code));
    presence.disconnected(connection.userId, connection.sessionId).catch((error) => log(connection).warn({ err: error }, 'presence update failed'));
  }
  function onError(this: WebSocket, error: Error & { code?: string }) {
    const connection = connections.get(this);
    // ws has already sent 1009 for an oversized frame: a client's mistake (or a probe), not a server
    // fault, so it is counted under its own close reason and logged without a stack trace.
    if (connection && error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
      connection.closeReason = 'frame_too_large';
      log(connection).warn({ code: 'frame_too_large' }, 'socket closed: frame over the size limit');
    } else if (connection) {
      log(connection).warn({ err: error }, 'socket error');
    }
    this.terminate();
  }
  function onMessage(this: WebSocket, data: WebSocket.RawData, isBinary: boolean) {
    const connection = connections.get(this);
    if (!connection) return;
    connection.alive = true;
    const parsed = parseFrame(data, isBinary);
    if (!parsed.ok) {
      metrics.error(parsed.error.code);
      connection.sendFrame(parsed.error);
      return;
    }
    const frame = parsed.frame;
    metrics.frameIn(frame.type);
    // Decided here, in the frame's own turn, not after handle()'s first await: a client sends its
    // sync and its outbox in one write, and a later frame must not release what the sync holds.
    if (frame.type === 'sync') connection.startSync();
    else connection.firstFrame();
    handle(connection, frame).catch((error: unknown) => {
      // A sync that failed (refused, or its reads did) lets go of what it held: the client syncs again.
      if (frame.type === 'sync') connection.abandonSync();
      const clientMsgId =
        frame.type === 'send_message'
          ? { client_msg_id: frame.client_msg_id }
          : 'request_id' in frame && frame.request_id !== undefined
            ? { request_id: frame.request_id }
            : {};
      if (isNatterError(error)) {
        metrics.error(error.code);
        // One log line per socket for its first refusal, not one per refused frame (a flood must not flood the log too).
        if (error.code === 'rate_limited' && !rateLimitLogged.has(connection)) {
          rateLimitLogged.add(connection);
          log(connection).warn({ frame: frame.type }, 'socket over its rate limit');
        }
        connection.error(error.code, error.message, { ...clientMsgId, ...(error.details ?? {}) });
        return;
      }
      log(connection).error({ err: error, frame: frame.type }, 'frame failed');
      metrics.error('internal');
      connection.error('internal', 'internal error', clientMsgId);
    });
  }

  app.get('/v1/ws', { websocket: true }, (socket: WebSocket, request) => {
    // An idle socket should cost bytes: nothing may keep the upgrade request alive. @fastify/websocket
    // leaves the socket holding the upgrade's response (whose 'finish' listener holds the request,
    // the reply, their logger and headers) and an error listener that holds them too: a few KB per
    // socket. The upgrade is done, so both go, and our own error listener takes over before theirs
    // goes: a socket refused below still reads while it closes, and an error then (a frame over the
    // size limit) with no listener would end the process. The HTTP server's idle timer
    // (NATTER_CONNECTION_TIMEOUT_MS), which ws switched off, goes too: Node keeps the cleared timer
    // on the socket.
    const upgradeErrorListeners = socket.listeners('error');
    socket.on('error', onError);
    for (const listener of upgradeErrorListeners) socket.removeListener('error', listener as (error: Error) => void);
    const raw = (socket as unknown as { _socket?: { _httpMessage?: { detachSocket(socket: unknown): void } | null } & object })._socket;
    raw?._httpMessage?.detachSocket(raw);
    if (raw) for (const key of Object.getOwnPropertySymbols(raw)) if (key.description === 'timeout') Reflect.set(raw, key, null);
    const connection = new Connection(socket, request.actor.user_id, request.actor.device_id, deps.limits, fill);
    if (Math.max(registry.of(connection.userId).length, elsewhere.get(request.raw) ?? 0) >= deps.limits.maxSocketsPerUser) {
      // Counted and logged: a flood of sockets from one user shows in natter_errors_total{code="too_many_connections"}.
      metrics.error('too_many_connections');
      log(connection).warn({ limit: deps.limits.maxSocketsPerUser }, 'socket refused: too many connections');
      connection.error('too_many_connections', `at most ${deps.limits.maxSocketsPerUser} sockets per user`);
      socket.close(closeCodes.too_many_connections, 'too many connections');
      return;
    }
    registry.add(connection);
    connections.set(socket, connection);
    metrics.socketOpened();
    tokenExpiry.watch(connection, request.tokenExpiresAt);
    // The log's head as of the registration; null if the log was out of reach (a sync then waits for
    // the head as of the sync, which is later: safe). Never a rejection, which a device that never
    // syncs would leave unhandled, ending the process.
    registered.set(
      connection,
      presence
        .connected(connection.userId, connection.sessionId)
        .catch((error) => log(connection).warn({ err: error }, 'presence update failed'))
        .then(() => deps.logHead())
        .catch(() => null),
    );
    socket.on('pong', onPong);
    socket.on('close', onClose);
    socket.on('message', onMessage);
  });
};

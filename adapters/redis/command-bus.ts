import type { Redis } from 'ioredis';
import { NatterError, isNatterError, type ErrorCode } from '../../contracts/errors.ts';
import { ownerOf } from '../../command-side/ownership.ts';
import { OwnerUnreachable, type CommandBus } from '../../ports/command-bus.ts';
import { namespace } from './keys.ts';
import { reportOutages } from './client.ts';
import { noTracing, type TraceCarrier, type Tracing } from '../../ports/tracing.ts';

/** `trace`: the caller's span, when tracing is on; the owner runs the command as its child. */
type Request = { id: number; from: string; method: string; args: unknown[]; trace?: TraceCarrier };
type Reply =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: { code?: ErrorCode; message: string; details?: Record<string, unknown> } };

/*
 * The gateways that may own conversations, and request/reply between them, on Redis:
 *   own:members        ZSET  gateway → expiresAt (ms), refreshed by each gateway's heartbeat
 *   own:changed        channel: a gateway joined or left, re-read the members now
 *   own:req:<gateway>  channel: commands for conversations that gateway owns
 *   own:rep:<gateway>  channel: answers to the commands that gateway forwarded
 * PUBLISH answers how many subscribers got a request, so a dead owner (its subscriber connection
 * closed with the process) is noticed at once, not after a timeout.
 */
export const startRedisCommandBus = async (options: {
  redis: Redis;
  prefix: string;
  processId: string;
  serve(method: string, args: unknown[]): Promise<unknown>;
  /** The set of owners changed: state cached for conversations this process did not own may be stale. */
  onOwnersChanged(members: readonly string[]): void;
  onError(error: unknown): void;
  log: { warn(obj: object, msg: string): void };
  heartbeatMs?: number;
  ttlMs?: number;
  timeoutMs?: number;
  tracing?: Tracing;
}): Promise<CommandBus & { members(): readonly string[]; leave(): Promise<void>; close(): Promise<void> }> => {
  const { redis, processId: self, tracing = noTracing } = options;
  const heartbeatMs = options.heartbeatMs ?? 2_000;
  const ttlMs = options.ttlMs ?? 3 * heartbeatMs;
  const timeoutMs = options.timeoutMs ?? 3_000;
  const ns = `${namespace(options.prefix)}own:`;
  const membersKey = `${ns}members`;
  const changed = `${ns}changed`;
  const requests = (gateway: string) => `${ns}req:${gateway}`;
  const replies = (gateway: string) => `${ns}rep:${gateway}`;

  let members: readonly string[] = [];
  let joined = true;
  let nextId = 0;
  const pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void; timer: NodeJS.Timeout }>();

  const refresh = async () => {
    const now = Date.now();
    const live = (await redis.zrangebyscore(membersKey, now, '+inf')).sort();
    if (live.join('\u0000') === members.join('\u0000')) return;
    members = live;
    options.onOwnersChanged(members);
  };
  const heartbeat = async () => {
    const now = Date.now();
    if (joined) await redis.zadd(membersKey, now + ttlMs, self);
    await redis.zremrangebyscore(membersKey, '-inf', now);
    await refresh();
  };

  const answer = async (request: Request) => {
    let reply: Reply;
    try {
      const serve = () => options.serve(request.method, request.args);
      const value = request.trace
        ? await tracing.active(
            `natter.command ${request.method}`,
            { kind: 'server', parent: request.trace, attributes: { 'natter.from': request.from } },
            serve,
          )
        : await serve();
      reply = { id: request.id, ok: true, value };
    } catch (error) {
      reply = isNatterError(error)
        ? { id: request.id, ok: false, error: { code: error.code, message: error.message, ...(error.details ? { details: error.details } : {}) } }
        : { id: request.id, ok: false, error: { message: error instanceof Error ? error.message : String(error) } };
    }
    await redis.publish(replies(request.from), JSON.stringify(reply));
  };

  const settle = (reply: Reply) => {
    const waiting = pending.get(reply.id);
    if (!waiting) return;
    pending.delete(reply.id);
    clearTimeout(waiting.timer);
    if (reply.ok) waiting.resolve(reply.value);
    else if (reply.error.code) waiting.reject(new NatterError(reply.error.code, reply.error.message, reply.error.details));
    else waiting.reject(new Error(reply.error.message));
  };

  const subscriber = redis.duplicate({ connectionName: `natter-bus-${self}` });
  reportOutages(subscriber, `bus-${self}`, options.log);
  subscriber.on('message', (channel: string, message: string) => {
    try {
      if (channel === changed) refresh().catch(options.onError);
      else if (channel === requests(self)) answer(JSON.parse(message) as Request).catch(options.onError);
      else settle(JSON.parse(message) as Reply);
    } catch (error) {
      options.onError(error);
    }
  });
  await subscriber.subscribe(requests(self), replies(self), changed);
  await heartbeat();
  await redis.publish(changed, self);
  const timer = setInterval(() => {
    heartbeat().catch(options.onError);
  }, heartbeatMs);
  timer.unref();

  const leave = async () => {
    joined = false;
    await redis.zrem(membersKey, self);
    await redis.publish(changed, self);
    await refresh();
  };

  return {
    members: () => members,
    ownerOf: (conversationId) => {
      const owner = ownerOf(conversationId, members);
      return owner === self ? undefined : owner;
    },
    call: (owner, method, args) =>
      new Promise((resolve, reject) => {
        const id = ++nextId;
        const timer = setTimeout(() => {
          pending.delete(id);
          // The owner heard the request but is slow: standing in would only race it on the stream, so
          // the client retries (with the same client_msg_id) once it has answered or left the list.
          reject(
            new NatterError('unavailable', `the gateway writing this conversation did not answer within ${timeoutMs} ms; retry`, { retry_after_ms: 1_000 }),
          );
        }, timeoutMs);
        pending.set(id, { resolve, reject, timer });
        // With Redis down the request would wait in ioredis' offline queue: run the command here instead.
        if (redis.status !== 'ready') {
          settleUnreachable(id, 'redis is not connected');
          return;
        }
        const trace = tracing.current();
        redis.publish(requests(owner), JSON.stringify({ id, from: self, method, args, ...(trace ? { trace } : {}) } satisfies Request)).then(
          (receivers) => {
            if (receivers === 0) settleUnreachable(id, `${owner} is not listening`);
          },
          (error: unknown) => settleUnreachable(id, `request to ${owner} failed: ${error instanceof Error ? error.message : String(error)}`),
        );
      }),
    leave,
    close: async () => {
      clearInterval(timer);
      if (joined) await leave().catch(options.onError);
      for (const [id] of pending) settleUnreachable(id, 'this gateway is closing');
      subscriber.disconnect();
    },
  };

  function settleUnreachable(id: number, why: string) {
    const waiting = pending.get(id);
    if (!waiting) return;
    pending.delete(id);
    clearTimeout(waiting.timer);
    waiting.reject(new OwnerUnreachable(why));
  }
};

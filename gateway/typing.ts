import type { Delivery } from '../ports/delivery.ts';

type Typer = { expiry: NodeJS.Timeout; lastStartSent: number };

/**
 * Typing indicators are ephemeral: never events, never stored. A `start` is forwarded at most once
 * per throttle window per user and conversation; without a refresh it turns into a `stop` by itself.
 */
export const createTyping = (options: { delivery: Delivery; ttlMs: number; throttleMs: number; clock?: () => number }) => {
  const clock = options.clock ?? Date.now;
  const typers = new Map<string, Typer>();
  const key = (conversationId: string, userId: string) => `${conversationId}\u0000${userId}`;

  const forward = (members: ReadonlySet<string>, conversationId: string, userId: string, state: 'start' | 'stop') => {
    const json = JSON.stringify({ type: 'typing', conversation_id: conversationId, user_id: userId, state });
    const others = [...members].filter((m) => m !== userId);
    options.delivery.deliver(others, { kind: 'ephemeral', json, position: 0 });
  };

  return {
    update(members: ReadonlySet<string>, conversationId: string, userId: string, state: 'start' | 'stop') {
      const k = key(conversationId, userId);
      const typer = typers.get(k);
      if (state === 'stop') {
        if (!typer) return;
        clearTimeout(typer.expiry);
        typers.delete(k);
        forward(members, conversationId, userId, 'stop');
        return;
      }
      if (typer) clearTimeout(typer.expiry);
      const now = clock();
      const send = !typer || now - typer.lastStartSent >= options.throttleMs;
      const expiry = setTimeout(() => {
        typers.delete(k);
        forward(members, conversationId, userId, 'stop');
      }, options.ttlMs);
      expiry.unref();
      typers.set(k, { expiry, lastStartSent: send ? now : typer!.lastStartSent });
      if (send) forward(members, conversationId, userId, 'start');
    },
    stop() {
      for (const typer of typers.values()) clearTimeout(typer.expiry);
      typers.clear();
    },
  };
};
export type Typing = ReturnType<typeof createTyping>;

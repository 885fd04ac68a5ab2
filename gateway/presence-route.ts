import type {} from '../command-side/actor.ts';
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { UserId } from '../contracts/primitives.ts';
import { PresenceFrame } from '../contracts/frames.ts';
import { NatterError } from '../contracts/errors.ts';
import type { PresenceState } from '../ports/presence.ts';

const PresenceReply = Type.Omit(PresenceFrame, ['type']);

/** A user's presence, for those who share a conversation with them; everyone else gets 404. */
export const presenceRoute = async (app: FastifyInstance, deps: { presence: { visibleTo(viewer: string, userId: string): Promise<PresenceState | null> } }) => {
  app.withTypeProvider<TypeBoxTypeProvider>().get(
    '/v1/users/:id/presence',
    {
      schema: {
        operationId: 'getPresence',
        summary: "A user's presence (online, last seen), if you share a conversation",
        params: Type.Object({ id: UserId }),
        response: { 200: PresenceReply },
      },
    },
    async (request) => {
      const state = await deps.presence.visibleTo(request.actor.user_id, request.params.id);
      if (!state) throw new NatterError('not_found', `no presence for user ${request.params.id}`);
      return state;
    },
  );
};

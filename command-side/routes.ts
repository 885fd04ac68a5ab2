import type { FastifyInstance } from 'fastify';
import type {} from './actor.ts';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import {
  AddMembersBody, ConversationParams, ConversationReply, CreateConversationBody, MarkBody, MemberParams,
  SendMessageBody, SendMessageReply,
} from '../contracts/rest.ts';
import type { Commands } from './commands.ts';

export type CommandRouteDeps = {
  commands: Commands;
  /** Resolves once the read models have applied `position`, for read-your-writes after a change. */
  caughtUp(position: number): Promise<void>;
  onAck?(): void;
};

/** REST commands: the same command side as the socket, with the same ack semantics. */
export const commandRoutes = async (app: FastifyInstance, { commands, caughtUp, onAck }: CommandRouteDeps) => {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  // Membership changes answer after the read models have them, so the caller can query at once.
  const settled = async <T extends { position: number }>(result: T) => { if (result.position > 0) await caughtUp(result.position); return result; };

  api.post('/v1/conversations', { schema: { body: CreateConversationBody, response: { 200: ConversationReply, 201: ConversationReply } } }, async (request, reply) => {
    const body = request.body;
    const { conversation, position } = await settled(body.type === 'direct'
      ? await commands.createDirect(request.actor, body.peer_id)
      : await commands.createGroup(request.actor, body.title, body.member_ids));
    return reply.status(position > 0 ? 201 : 200).send(conversation);
  });

  api.post('/v1/conversations/:id/members', { schema: { params: ConversationParams, body: AddMembersBody, response: { 200: ConversationReply } } }, async (request) =>
    (await settled(await commands.addMembers(request.actor, request.params.id, request.body.user_ids))).conversation);

  api.delete('/v1/conversations/:id/members/:user_id', { schema: { params: MemberParams, response: { 200: ConversationReply } } }, async (request) =>
    (await settled(await commands.removeMember(request.actor, request.params.id, request.params.user_id))).conversation);

  api.post('/v1/conversations/:id/messages', { schema: { params: ConversationParams, body: SendMessageBody, response: { 200: SendMessageReply, 201: SendMessageReply } } }, async (request, reply) => {
    const ack = await commands.sendMessage(request.actor, { conversation_id: request.params.id, ...request.body });
    onAck?.();
    return reply.status(ack.position > 0 ? 201 : 200).send({ message_id: ack.message_id, seq: ack.seq, timestamp: ack.timestamp });
  });

  for (const status of ['delivered', 'read'] as const) {
    api.post(`/v1/conversations/:id/${status}`, { schema: { params: ConversationParams, body: MarkBody } }, async (request, reply) => {
      await commands.markReceipt(request.actor, request.params.id, status, request.body.up_to_seq);
      return reply.status(204).send();
    });
  }
};

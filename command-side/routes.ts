import type { FastifyInstance } from 'fastify';
import type {} from './actor.ts';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import {
  AddMembersBody, ConversationParams, ConversationReply, CreateConversationBody, EditMessageBody, MarkBody, MemberParams, Message,
  EraseBody, MessageParams, MuteBody, PrivacyBody, ReactionParams, SendMessageBody, SendMessageReply, UpdateConversationBody, UserParams,
} from '../contracts/rest.ts';
import { NatterError } from '../contracts/errors.ts';
import type { Commands } from './commands.ts';

export type CommandRouteDeps = {
  commands: Commands;
  /** Resolves once the read models have applied `position`, for read-your-writes after a change. */
  caughtUp(position: number): Promise<void>;
  /** A message as history shows it (the answer to an edit), once the read models have it. */
  message(conversationId: string, seq: number): Promise<Message | null>;
  onAck?(): void;
};

/** REST commands: the same command side as the socket, with the same ack semantics. */
export const commandRoutes = async (app: FastifyInstance, { commands, caughtUp, message, onAck }: CommandRouteDeps) => {
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

  api.patch('/v1/conversations/:id/messages/:seq', { schema: { params: MessageParams, body: EditMessageBody, response: { 200: Message } } }, async (request) => {
    const { id, seq } = request.params;
    const edited = await settled(await commands.editMessage(request.actor, id, seq, request.body.content));
    const shown = await message(id, seq);
    if (!shown) throw new NatterError('message_not_found', `conversation ${id} has no message ${seq}`);
    return { ...shown, edited_at: shown.edited_at ?? edited.edited_at };
  });

  api.delete('/v1/conversations/:id/messages/:seq', { schema: { params: MessageParams } }, async (request, reply) => {
    await settled(await commands.deleteMessage(request.actor, request.params.id, request.params.seq));
    return reply.status(204).send();
  });

  for (const [method, op] of [['put', 'add'], ['delete', 'remove']] as const) {
    api[method]('/v1/conversations/:id/messages/:seq/reactions/:emoji', { schema: { params: ReactionParams } }, async (request, reply) => {
      const { id, seq, emoji } = request.params;
      await settled(await commands.react(request.actor, id, seq, emoji, op));
      return reply.status(204).send();
    });
  }

  api.patch('/v1/conversations/:id', { schema: { params: ConversationParams, body: UpdateConversationBody, response: { 200: ConversationReply } } }, async (request) => {
    const { id } = request.params;
    const { title, retention_days: days } = request.body;
    let result = title !== undefined ? await settled(await commands.renameConversation(request.actor, id, title)) : undefined;
    if (days !== undefined) result = await settled(await commands.setRetention(request.actor, id, days));
    return result!.conversation;
  });

  for (const [method, grant] of [['put', true], ['delete', false]] as const) {
    api[method]('/v1/conversations/:id/admins/:user_id', { schema: { params: MemberParams } }, async (request, reply) => {
      const { id, user_id: userId } = request.params;
      await settled(await (grant ? commands.grantAdmin : commands.revokeAdmin)(request.actor, id, userId));
      return reply.status(204).send();
    });
  }

  api.put('/v1/conversations/:id/mute', { schema: { params: ConversationParams, body: MuteBody } }, async (request, reply) => {
    await settled(await commands.mute(request.actor, request.params.id, request.body.until));
    return reply.status(204).send();
  });
  api.delete('/v1/conversations/:id/mute', { schema: { params: ConversationParams } }, async (request, reply) => {
    await settled(await commands.unmute(request.actor, request.params.id));
    return reply.status(204).send();
  });

  for (const [method, block] of [['put', true], ['delete', false]] as const) {
    api[method]('/v1/users/me/blocks/:user_id', { schema: { params: UserParams } }, async (request, reply) => {
      await settled(await (block ? commands.block : commands.unblock)(request.actor, request.params.user_id));
      return reply.status(204).send();
    });
  }

  api.delete('/v1/users/me', { schema: { body: EraseBody } }, async (request, reply) => {
    if (request.body.confirm !== request.actor.user_id) throw new NatterError('invalid_request', 'confirm must be your own user id: erasure cannot be undone');
    await settled(await commands.eraseUser(request.actor.user_id, 'user'));
    return reply.status(204).send();
  });

  api.put('/v1/users/me/privacy', { schema: { body: PrivacyBody } }, async (request, reply) => {
    await settled(await commands.setPrivacy(request.actor, request.body.last_seen));
    return reply.status(204).send();
  });

  for (const status of ['delivered', 'read'] as const) {
    api.post(`/v1/conversations/:id/${status}`, { schema: { params: ConversationParams, body: MarkBody } }, async (request, reply) => {
      await settled(await commands.markReceipt(request.actor, request.params.id, status, request.body.up_to_seq));
      return reply.status(204).send();
    });
  }
};

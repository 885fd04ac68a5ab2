import type { FastifyInstance } from 'fastify';
import type {} from './actor.ts';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import {
  AddMembersBody,
  ConversationParams,
  ConversationReply,
  CreateConversationBody,
  EditMessageBody,
  MarkBody,
  MemberParams,
  Message,
  EraseBody,
  MessageParams,
  MuteBody,
  NoContent,
  PrivacyBody,
  ReactionParams,
  SendMessageBody,
  SendMessageReply,
  UpdateConversationBody,
  UserParams,
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
  const settled = async <T extends { position: number }>(result: T) => {
    if (result.position > 0) await caughtUp(result.position);
    return result;
  };

  api.post(
    '/v1/conversations',
    {
      schema: {
        operationId: 'createConversation',
        summary: 'Create a group, or open the direct conversation with a peer (200 when it already exists)',
        body: CreateConversationBody,
        response: { 200: ConversationReply, 201: ConversationReply },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const { conversation, position } = await settled(
        body.type === 'direct'
          ? await commands.createDirect(request.actor, body.peer_id)
          : await commands.createGroup(request.actor, body.title, body.member_ids),
      );
      return reply.status(position > 0 ? 201 : 200).send(conversation);
    },
  );

  api.post(
    '/v1/conversations/:id/members',
    {
      schema: {
        operationId: 'addMembers',
        summary: 'Add members to a group (admins)',
        params: ConversationParams,
        body: AddMembersBody,
        response: { 200: ConversationReply },
      },
    },
    async (request) => (await settled(await commands.addMembers(request.actor, request.params.id, request.body.user_ids))).conversation,
  );

  api.delete(
    '/v1/conversations/:id/members/:user_id',
    {
      schema: { operationId: 'removeMember', summary: 'Remove a member from a group, or leave it', params: MemberParams, response: { 200: ConversationReply } },
    },
    async (request) => (await settled(await commands.removeMember(request.actor, request.params.id, request.params.user_id))).conversation,
  );

  api.post(
    '/v1/conversations/:id/messages',
    {
      schema: {
        operationId: 'sendMessage',
        summary: 'Send a message (201; 200 when client_msg_id was already sent)',
        params: ConversationParams,
        body: SendMessageBody,
        response: { 200: SendMessageReply, 201: SendMessageReply },
      },
    },
    async (request, reply) => {
      const ack = await commands.sendMessage(request.actor, { conversation_id: request.params.id, ...request.body });
      onAck?.();
      return reply.status(ack.position > 0 ? 201 : 200).send({ message_id: ack.message_id, seq: ack.seq, timestamp: ack.timestamp });
    },
  );

  api.patch(
    '/v1/conversations/:id/messages/:seq',
    {
      schema: {
        operationId: 'editMessage',
        summary: 'Edit the text of your message',
        params: MessageParams,
        body: EditMessageBody,
        response: { 200: Message },
      },
    },
    async (request) => {
      const { id, seq } = request.params;
      const edited = await settled(await commands.editMessage(request.actor, id, seq, request.body.content));
      const shown = await message(id, seq);
      if (!shown) throw new NatterError('message_not_found', `conversation ${id} has no message ${seq}`);
      return { ...shown, edited_at: shown.edited_at ?? edited.edited_at };
    },
  );

  api.delete(
    '/v1/conversations/:id/messages/:seq',
    {
      schema: {
        operationId: 'deleteMessage',
        summary: 'Delete your message (admins: any message of a group)',
        params: MessageParams,
        response: { 204: NoContent },
      },
    },
    async (request, reply) => {
      await settled(await commands.deleteMessage(request.actor, request.params.id, request.params.seq));
      return reply.status(204).send(null);
    },
  );

  for (const [method, op] of [
    ['put', 'add'],
    ['delete', 'remove'],
  ] as const) {
    const operationId = op === 'add' ? 'addReaction' : 'removeReaction';
    const summary = op === 'add' ? 'React to a message with an emoji' : 'Take back your reaction';
    api[method](
      '/v1/conversations/:id/messages/:seq/reactions/:emoji',
      { schema: { operationId, summary, params: ReactionParams, response: { 204: NoContent } } },
      async (request, reply) => {
        const { id, seq, emoji } = request.params;
        await settled(await commands.react(request.actor, id, seq, emoji, op));
        return reply.status(204).send(null);
      },
    );
  }

  api.patch(
    '/v1/conversations/:id',
    {
      schema: {
        operationId: 'updateConversation',
        summary: 'Rename a group or set its retention',
        params: ConversationParams,
        body: UpdateConversationBody,
        response: { 200: ConversationReply },
      },
    },
    async (request) => {
      const { id } = request.params;
      const { title, retention_days: days } = request.body;
      let result = title !== undefined ? await settled(await commands.renameConversation(request.actor, id, title)) : undefined;
      if (days !== undefined) result = await settled(await commands.setRetention(request.actor, id, days));
      return result!.conversation;
    },
  );

  for (const [method, grant] of [
    ['put', true],
    ['delete', false],
  ] as const) {
    const [operationId, summary] = grant ? ['grantAdmin', 'Make a member an admin (admins)'] : ['revokeAdmin', "Take back a member's admin rights (admins)"];
    api[method](
      '/v1/conversations/:id/admins/:user_id',
      { schema: { operationId, summary, params: MemberParams, response: { 204: NoContent } } },
      async (request, reply) => {
        const { id, user_id: userId } = request.params;
        await settled(await (grant ? commands.grantAdmin : commands.revokeAdmin)(request.actor, id, userId));
        return reply.status(204).send(null);
      },
    );
  }

  api.put(
    '/v1/conversations/:id/mute',
    {
      schema: {
        operationId: 'muteConversation',
        summary: 'Mute a conversation, until a time or until unmuted',
        params: ConversationParams,
        body: MuteBody,
        response: { 204: NoContent },
      },
    },
    async (request, reply) => {
      await settled(await commands.mute(request.actor, request.params.id, request.body.until));
      return reply.status(204).send(null);
    },
  );
  api.delete(
    '/v1/conversations/:id/mute',
    { schema: { operationId: 'unmuteConversation', summary: 'Unmute a conversation', params: ConversationParams, response: { 204: NoContent } } },
    async (request, reply) => {
      await settled(await commands.unmute(request.actor, request.params.id));
      return reply.status(204).send(null);
    },
  );

  for (const [method, block] of [
    ['put', true],
    ['delete', false],
  ] as const) {
    const [operationId, summary] = block ? ['blockUser', 'Block a user'] : ['unblockUser', 'Unblock a user'];
    api[method](
      '/v1/users/me/blocks/:user_id',
      { schema: { operationId, summary, params: UserParams, response: { 204: NoContent } } },
      async (request, reply) => {
        await settled(await (block ? commands.block : commands.unblock)(request.actor, request.params.user_id));
        return reply.status(204).send(null);
      },
    );
  }

  api.delete(
    '/v1/users/me',
    {
      schema: {
        operationId: 'eraseMe',
        summary: 'Erase your account and every copy of your messages (cannot be undone)',
        body: EraseBody,
        response: { 204: NoContent },
      },
    },
    async (request, reply) => {
      if (request.body.confirm !== request.actor.user_id)
        throw new NatterError('invalid_request', 'confirm must be your own user id: erasure cannot be undone');
      await settled(await commands.eraseUser(request.actor.user_id, 'user'));
      return reply.status(204).send(null);
    },
  );

  api.put(
    '/v1/users/me/privacy',
    { schema: { operationId: 'setPrivacy', summary: 'Choose who sees your last-seen time', body: PrivacyBody, response: { 204: NoContent } } },
    async (request, reply) => {
      await settled(await commands.setPrivacy(request.actor, request.body.last_seen));
      return reply.status(204).send(null);
    },
  );

  for (const status of ['delivered', 'read'] as const) {
    const [operationId, summary] = status === 'delivered' ? ['markDelivered', 'Acknowledge delivery up to a seq'] : ['markRead', 'Mark read up to a seq'];
    api.post(
      `/v1/conversations/:id/${status}`,
      { schema: { operationId, summary, params: ConversationParams, body: MarkBody, response: { 204: NoContent } } },
      async (request, reply) => {
        await settled(await commands.markReceipt(request.actor, request.params.id, status, request.body.up_to_seq));
        return reply.status(204).send(null);
      },
    );
  }
};

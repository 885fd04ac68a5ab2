import { NatterError } from '../contracts/errors.ts';
import type { ConversationInfo, DirectoryStore } from '../ports/read-models.ts';

/** A conversation as seen by a user: members see it, everyone else gets the same 404 as for a missing one. */
export const visibleConversation = async (directory: DirectoryStore, userId: string, conversationId: string): Promise<ConversationInfo> => {
  const info = await directory.get(conversationId);
  if (!info?.members.includes(userId)) throw new NatterError('conversation_not_found', `conversation ${conversationId} not found`);
  return info;
};

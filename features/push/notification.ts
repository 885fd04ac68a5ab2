import type { ConversationInfo } from '../../ports/read-models.ts';
import type { MessageSent } from '../../contracts/events.ts';

/** What a push needs of a message; the cluster's push topic carries the content only when it may be shown. */
export type PushableMessage = Pick<MessageSent, 'conversation_id' | 'seq' | 'sender_id' | 'content_type' | 'timestamp'> & {
  content?: string;
  /** The message mentions the user being pushed to. */
  mentioned?: boolean;
};

const CONTENT_CHARS = 200;

const mediaNoun = (content: string | undefined) => {
  try {
    const type = String((JSON.parse(content ?? '') as { content_type?: unknown }).content_type ?? '');
    return type.startsWith('image/') ? 'a photo' : type.startsWith('video/') ? 'a video' : type.startsWith('audio/') ? 'a voice message' : 'a file';
  } catch {
    return 'a file';
  }
};

/** The words of a notification. Content only when configured, never for ciphertext. */
export const describe = (
  info: Pick<ConversationInfo, 'kind' | 'title'> | null,
  messages: readonly PushableMessage[],
  unread: number,
  includeContent: boolean,
) => {
  const last = messages[messages.length - 1]!;
  const senders = new Set(messages.map((m) => m.sender_id));
  const sender = last.sender_id;
  const group = info?.kind === 'group';
  const count = Math.max(unread, messages.length);
  let body: string;
  const showOne = count <= 1 && includeContent && last.content_type === 'text' && last.content !== undefined;
  if (!showOne && senders.size === 1 && messages.every((m) => m.mentioned)) {
    // What is pushed is mentions (a muted conversation pushes nothing else): say so, whatever else is unread.
    body = `${sender} mentioned you`;
  } else if (count <= 1) {
    const showText = includeContent && last.content_type === 'text' && last.content !== undefined;
    const what = showText
      ? null
      : last.content_type === 'media' && includeContent
        ? `sent ${mediaNoun(last.content)}`
        : group
          ? 'sent a message'
          : 'sent you a message';
    const text = what === null ? last.content!.slice(0, CONTENT_CHARS) : what;
    body = group ? `${sender}${what === null ? ':' : ''} ${text}` : what === null ? text : `${sender} ${text}`;
  } else if (senders.size === 1) {
    body = group ? `${sender} sent ${count} messages` : `${sender} sent you ${count} messages`;
    if (messages.some((m) => m.mentioned)) body += ', mentioning you';
  } else {
    body = `${count} new messages${messages.some((m) => m.mentioned) ? ', mentioning you' : ''}`;
  }
  return {
    title: group ? (info?.title ?? 'Group') : sender,
    body,
    content_included: includeContent && count <= 1 && last.content_type === 'text' && last.content !== undefined,
  };
};

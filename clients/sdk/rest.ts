import type {
  Conversation, CreateConversationBody, DevTokenReply, InboxReply, Message, MessagesQuery, MessagesReply, PresenceState, ReceiptsReply,
  RepliesQuery, SendMessageBody, SendMessageReply,
} from './wire.ts';

export class NatterApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(`${status} ${code}: ${message}`);
    this.name = 'NatterApiError';
  }
}

const call = async <T>(url: string, init: { method: string; token?: string; body?: unknown }): Promise<T> => {
  const response = await fetch(url, {
    method: init.method,
    headers: {
      ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
      ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  const text = await response.text();
  const body = text ? JSON.parse(text) : undefined;
  if (!response.ok) throw new NatterApiError(response.status, body?.error?.code ?? 'unknown', body?.error?.message ?? text);
  return body as T;
};

const httpBase = (url: string) => url.replace(/^ws/, 'http').replace(/\/+$/, '');
const query = (params: Record<string, string | number | undefined>) => {
  const entries = Object.entries(params).filter((e): e is [string, string | number] => e[1] !== undefined);
  return entries.length ? `?${new URLSearchParams(Object.fromEntries(entries.map(([k, v]) => [k, String(v)])))}` : '';
};

/** A development token (the server must have NATTER_DEV_TOKENS on). */
export const devToken = (url: string, userId: string, deviceId?: string): Promise<DevTokenReply> =>
  call(`${httpBase(url)}/v1/auth/dev-token`, { method: 'POST', body: { user_id: userId, ...(deviceId ? { device_id: deviceId } : {}) } });

/** The REST queries and commands, for one user's token. */
export class NatterApi {
  private readonly base: string;
  constructor(url: string, private readonly token: string) {
    this.base = httpBase(url);
  }

  private request<T>(method: string, path: string, body?: unknown): Promise<T> {
    return call<T>(`${this.base}${path}`, { method, token: this.token, body });
  }
  private messagePath(id: string, seq: number): string {
    return `/v1/conversations/${encodeURIComponent(id)}/messages/${seq}`;
  }

  inbox(options: { limit?: number; cursor?: string } = {}): Promise<InboxReply> {
    return this.request('GET', `/v1/conversations${query(options)}`);
  }
  conversation(id: string): Promise<Conversation> {
    return this.request('GET', `/v1/conversations/${encodeURIComponent(id)}`);
  }
  createConversation(body: CreateConversationBody): Promise<Conversation> {
    return this.request('POST', '/v1/conversations', body);
  }
  addMembers(id: string, userIds: string[]): Promise<Conversation> {
    return this.request('POST', `/v1/conversations/${encodeURIComponent(id)}/members`, { user_ids: userIds });
  }
  messages(id: string, options: MessagesQuery = {}): Promise<MessagesReply> {
    return this.request('GET', `/v1/conversations/${encodeURIComponent(id)}/messages${query(options)}`);
  }
  /** A REST send, for scripts; devices use NatterClient.send, which survives reconnects. */
  sendMessage(id: string, clientMsgId: string, content: string, extra: Omit<SendMessageBody, 'client_msg_id' | 'content'> = {}): Promise<SendMessageReply> {
    return this.request('POST', `/v1/conversations/${encodeURIComponent(id)}/messages`, { client_msg_id: clientMsgId, content, ...extra });
  }
  /** The author edits the text; answers with the message as it is now. */
  editMessage(id: string, seq: number, content: string): Promise<Message> {
    return this.request('PATCH', this.messagePath(id, seq), { content });
  }
  deleteMessage(id: string, seq: number): Promise<void> {
    return this.request('DELETE', this.messagePath(id, seq));
  }
  addReaction(id: string, seq: number, emoji: string): Promise<void> {
    return this.request('PUT', `${this.messagePath(id, seq)}/reactions/${encodeURIComponent(emoji)}`);
  }
  removeReaction(id: string, seq: number, emoji: string): Promise<void> {
    return this.request('DELETE', `${this.messagePath(id, seq)}/reactions/${encodeURIComponent(emoji)}`);
  }
  /** The thread of a message: the messages that reply to it, ascending seq after `after`. */
  replies(id: string, seq: number, options: RepliesQuery = {}): Promise<MessagesReply> {
    return this.request('GET', `${this.messagePath(id, seq)}/replies${query(options)}`);
  }
  receipts(id: string): Promise<ReceiptsReply> {
    return this.request('GET', `/v1/conversations/${encodeURIComponent(id)}/receipts`);
  }
  presence(userId: string): Promise<PresenceState> {
    return this.request('GET', `/v1/users/${encodeURIComponent(userId)}/presence`);
  }
}

import type {
  BlocksReply,
  Conversation,
  CreateConversationBody,
  DevTokenReply,
  InboxReply,
  LastSeenVisibility,
  Message,
  MessagesQuery,
  MessagesReply,
  PresenceState,
  ReceiptsReply,
  RepliesQuery,
  SearchQuery,
  SearchReply,
  SendMessageBody,
  SendMessageReply,
} from './wire.ts';

export class NatterApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
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
  constructor(
    url: string,
    private readonly token: string,
  ) {
    this.base = httpBase(url);
  }

  private request<T>(method: string, path: string, body?: unknown): Promise<T> {
    return call<T>(`${this.base}${path}`, { method, token: this.token, body });
  }
  private conversationPath(id: string): string {
    return `/v1/conversations/${encodeURIComponent(id)}`;
  }
  private messagePath(id: string, seq: number): string {
    return `${this.conversationPath(id)}/messages/${seq}`;
  }

  inbox(options: { limit?: number; cursor?: string } = {}): Promise<InboxReply> {
    return this.request('GET', `/v1/conversations${query(options)}`);
  }
  /** The conversation, its members and its admins. */
  conversation(id: string): Promise<Conversation> {
    return this.request('GET', this.conversationPath(id));
  }
  createConversation(body: CreateConversationBody): Promise<Conversation> {
    return this.request('POST', '/v1/conversations', body);
  }
  addMembers(id: string, userIds: string[]): Promise<Conversation> {
    return this.request('POST', `${this.conversationPath(id)}/members`, { user_ids: userIds });
  }
  /** Anyone may leave (`userId` is their own id); only an admin removes others. Answers with the conversation as it is now. */
  removeMember(id: string, userId: string): Promise<Conversation> {
    return this.request('DELETE', `${this.conversationPath(id)}/members/${encodeURIComponent(userId)}`);
  }
  /** Renames a group (admins only); every member's devices get `conversation_updated`. */
  renameConversation(id: string, title: string): Promise<Conversation> {
    return this.request('PATCH', this.conversationPath(id), { title });
  }
  /** Makes a member admin (admins only). */
  addAdmin(id: string, userId: string): Promise<void> {
    return this.request('PUT', `${this.conversationPath(id)}/admins/${encodeURIComponent(userId)}`);
  }
  /** Takes the role back; refused with `last_admin` (409) when no admin would remain. */
  removeAdmin(id: string, userId: string): Promise<void> {
    return this.request('DELETE', `${this.conversationPath(id)}/admins/${encodeURIComponent(userId)}`);
  }
  /** Mutes for this user on all their devices, until `until` (ms since the epoch, in the future), or until unmuted when null. */
  mute(id: string, until: number | null): Promise<void> {
    return this.request('PUT', `${this.conversationPath(id)}/mute`, { until });
  }
  unmute(id: string): Promise<void> {
    return this.request('DELETE', `${this.conversationPath(id)}/mute`);
  }
  /** The blocked user can no longer open or send in the direct conversation with this one (`blocked`, 403). Idempotent. */
  block(userId: string): Promise<void> {
    return this.request('PUT', `/v1/users/me/blocks/${encodeURIComponent(userId)}`);
  }
  unblock(userId: string): Promise<void> {
    return this.request('DELETE', `/v1/users/me/blocks/${encodeURIComponent(userId)}`);
  }
  /** The users this user has blocked. */
  blocks(): Promise<BlocksReply> {
    return this.request('GET', '/v1/users/me/blocks');
  }
  /** Who sees this user's `last_seen` (online and offline are always shown). */
  setLastSeenPrivacy(lastSeen: LastSeenVisibility): Promise<void> {
    return this.request('PUT', '/v1/users/me/privacy', { last_seen: lastSeen });
  }
  messages(id: string, options: MessagesQuery = {}): Promise<MessagesReply> {
    return this.request('GET', `${this.conversationPath(id)}/messages${query(options)}`);
  }
  /** A REST send, for scripts; devices use NatterClient.send, which survives reconnects. */
  sendMessage(id: string, clientMsgId: string, content: string, extra: Omit<SendMessageBody, 'client_msg_id' | 'content'> = {}): Promise<SendMessageReply> {
    return this.request('POST', `${this.conversationPath(id)}/messages`, { client_msg_id: clientMsgId, content, ...extra });
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
    return this.request('GET', `${this.conversationPath(id)}/receipts`);
  }
  /**
   * The caller's messages matching `q` (words, case- and accent-insensitive, the last one a prefix;
   * "phrases in quotes"), newest first; pass `next_cursor` as `cursor` for the next page. Snippets
   * are plain text with the matches in `<mark>…</mark>`: escape before rendering as HTML.
   */
  search(q: string, options: Omit<SearchQuery, 'q'> = {}): Promise<SearchReply> {
    return this.request('GET', `/v1/search${query({ q, ...options })}`);
  }
  presence(userId: string): Promise<PresenceState> {
    return this.request('GET', `/v1/users/${encodeURIComponent(userId)}/presence`);
  }
}

export { NatterClient, NatterSendError } from './client.ts';
export type { ConnectionState, NatterClientOptions, NatterEvents, SendOptions, SocketConstructor, SocketLike } from './options.ts';
export { NatterRequestError } from './requests.ts';
export { applyReaction, applyUpdate, hasReacted } from './changes.ts';
export { NatterApi, NatterApiError, devToken } from './rest.ts';
export { memoryStorage, webStorage, type NatterStorage } from './storage.ts';
export { fullJitter, type BackoffOptions } from './backoff.ts';
export type { OutboxEntry } from './outbox.ts';
export type * from './wire.ts';

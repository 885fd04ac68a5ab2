import type { Message } from '../contracts/rest.ts';
import type { StoredMessage } from '../ports/read-models.ts';

export const toMessage = ({ position, ...message }: StoredMessage): Message => ({ ...message, cursor: String(position) });

import { Compile } from 'typebox/compile';
import { NatterError } from '../../contracts/errors.ts';
import { MediaMessageInput, type MediaMessageContent } from '../../contracts/media.ts';
import type { MediaStore } from '../../ports/media-store.ts';
import type { Commands } from '../../command-side/commands.ts';
import type { Actor } from '../../command-side/actor.ts';

const validMediaInput = Compile(MediaMessageInput);

export const mediaUrl = (mediaId: string) => `/v1/media/${mediaId}`;

/**
 * The content rule of media messages, applied before a send reaches the decider, for the socket and
 * REST alike: a media message must name media its sender uploaded, and its content is rewritten from
 * the server's record (type, size, thumbnail), so recipients can trust it.
 */
export const guardMediaContent = (commands: Commands, deps: { media: MediaStore }): Commands => {
  const mediaContent = async (actor: Actor, content: string): Promise<string> => {
    let input: unknown;
    try {
      input = JSON.parse(content);
    } catch {
      throw new NatterError('invalid_request', 'media content must be JSON: {"media_id","caption"?}');
    }
    if (!validMediaInput.Check(input)) throw new NatterError('invalid_request', 'media content must be {"media_id","caption"?} (see contracts/media.ts)');
    const record = await deps.media.get(input.media_id);
    if (!record || record.owner_id !== actor.user_id) throw new NatterError('media_not_found', `no media ${input.media_id} uploaded by you`);
    const normalized: MediaMessageContent = {
      media_id: record.media_id,
      url: mediaUrl(record.media_id),
      content_type: record.content_type,
      size: record.size,
      ...(record.thumbnail ? { thumbnail: record.thumbnail } : {}),
      ...(record.width !== null ? { width: record.width } : {}),
      ...(record.height !== null ? { height: record.height } : {}),
      ...(input.caption !== undefined ? { caption: input.caption } : {}),
    };
    return JSON.stringify(normalized);
  };

  return {
    ...commands,
    // Not an async wrapper: a text send reaches the command side in the same tick as without the guard.
    sendMessage: (actor, message) => {
      if (message.content_type === 'media') return mediaContent(actor, message.content).then((content) => commands.sendMessage(actor, { ...message, content }));
      return commands.sendMessage(actor, message);
    },
  };
};

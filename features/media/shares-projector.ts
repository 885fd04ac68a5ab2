import type { MediaStore } from '../../ports/media-store.ts';
import type { Projector } from '../../ports/projector.ts';
import { mediaIdOf } from '../../contracts/media.ts';

/** Where each media was shared: a media message makes its media readable to that conversation's members. */
export const mediaSharesProjector = (store: MediaStore): Projector => ({
  name: 'media-shares',
  handle: async (events) => {
    const rows: Array<{ media_id: string; conversation_id: string }> = [];
    for (const event of events) {
      if (event.type !== 'MessageSent' || event.data.content_type !== 'media') continue;
      const mediaId = mediaIdOf(event.data.content);
      if (mediaId) rows.push({ media_id: mediaId, conversation_id: event.data.conversation_id });
    }
    await store.share(rows);
  },
  reset: () => store.resetShares(),
});

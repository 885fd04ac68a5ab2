import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { MediaRecord, MediaStore } from '../../ports/media-store.ts';

const T = 1_800_000_000_000;

const record = (overrides: Partial<MediaRecord> = {}): MediaRecord => {
  const media_id = `media-${randomUUID()}`;
  return {
    media_id,
    owner_id: `u-${randomUUID()}`,
    content_type: 'image/png',
    size: 48_213,
    blob_key: `media/${media_id}`,
    created_at: T,
    thumbnail: 'data:image/webp;base64,UklGRg==',
    width: 640,
    height: 480,
    ...overrides,
  };
};
const sorted = (ids: string[]) => [...ids].sort();

/**
 * The media-store contract: the embedded SQLite store and the cluster's PostgreSQL store run it
 * unchanged. `open` gives a store over a backend of its own (resetShares() empties every share in
 * it); the other tests use fresh ids.
 */
export const mediaStoreContract = (name: string, open: () => Promise<{ media: MediaStore; close(): Promise<void> }>) => {
  describe(`media store contract: ${name}`, () => {
    let media: MediaStore;
    let close: () => Promise<void>;
    before(async () => {
      ({ media, close } = await open());
    });
    after(async () => {
      await close();
    });
    const conversation = () => `c-${randomUUID()}`;

    it('given an added record, then get returns it whole; an unknown id gives null', async () => {
      const image = record();
      const file = record({ content_type: 'application/pdf', size: 5 * 1024 ** 3, thumbnail: null, width: null, height: null, created_at: T + 1 });
      await media.add(image);
      await media.add(file);
      assert.deepEqual(await media.get(image.media_id), image);
      assert.deepEqual(await media.get(file.media_id), file, 'sizes past 32 bits and null dimensions come back as stored');
      assert.equal(await media.get(`media-${randomUUID()}`), null);
    });

    it('given a media shared in conversations, then sharedIn lists each of them once, and only for that media', async () => {
      const [photo, other] = [record(), record()];
      const [c1, c2, c3] = [conversation(), conversation(), conversation()];
      await media.add(photo);
      await media.add(other);
      await media.share([
        { media_id: photo.media_id, conversation_id: c1 },
        { media_id: photo.media_id, conversation_id: c2 },
        { media_id: other.media_id, conversation_id: c3 },
      ]);
      assert.deepEqual(sorted(await media.sharedIn(photo.media_id)), sorted([c1, c2]));
      assert.deepEqual(await media.sharedIn(other.media_id), [c3]);
      assert.deepEqual(await media.sharedIn(`media-${randomUUID()}`), []);
    });

    it('given a share, when it is written again (in a later batch or twice in one), then it is still one share', async () => {
      const photo = record();
      const [c1, c2] = [conversation(), conversation()];
      await media.add(photo);
      const share = { media_id: photo.media_id, conversation_id: c1 };
      await media.share([share]);
      await media.share([share, share, { media_id: photo.media_id, conversation_id: c2 }, share]);
      await media.share([]);
      assert.deepEqual(sorted(await media.sharedIn(photo.media_id)), sorted([c1, c2]));
    });

    it('given shares and records, when the shares are reset (a rebuild of that read model), then every share is gone, the records stay, and shares can be written again', async () => {
      const [photo, other] = [record(), record()];
      const c = conversation();
      await media.add(photo);
      await media.add(other);
      await media.share([
        { media_id: photo.media_id, conversation_id: c },
        { media_id: other.media_id, conversation_id: c },
      ]);
      await media.resetShares();
      assert.deepEqual(await media.sharedIn(photo.media_id), []);
      assert.deepEqual(await media.sharedIn(other.media_id), []);
      assert.deepEqual(await media.get(photo.media_id), photo, 'upload records are a source of truth, not part of the read model');
      await media.share([{ media_id: photo.media_id, conversation_id: c }]);
      assert.deepEqual(await media.sharedIn(photo.media_id), [c]);
    });
  });
};

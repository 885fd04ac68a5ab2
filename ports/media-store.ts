/** Media metadata (uploads) and where each media was shared (a projection of media messages). */
export type MediaRecord = {
  media_id: string;
  owner_id: string;
  content_type: string;
  size: number;
  blob_key: string;
  created_at: number;
  thumbnail: string | null;
  width: number | null;
  height: number | null;
};

export interface MediaStore {
  add(record: MediaRecord): Promise<void>;
  get(mediaId: string): Promise<MediaRecord | null>;
  /** Idempotent: one row per (media, conversation). */
  share(shares: ReadonlyArray<{ media_id: string; conversation_id: string }>): Promise<void>;
  sharedIn(mediaId: string): Promise<string[]>;
  resetShares(): Promise<void>;
}

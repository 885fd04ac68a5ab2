import type { KeyBundle, OneTimePreKey, SignedPreKey } from '../contracts/keys.ts';

export type PublishKeys = {
  user_id: string;
  device_id: string;
  identity_key: string;
  signed_prekey?: SignedPreKey;
  one_time_prekeys?: OneTimePreKey[];
  now: number;
};

export type PublishResult =
  | { ok: true; one_time_prekeys: number }
  /** A device's first upload must carry a signed pre-key. */
  | { ok: false; reason: 'signed_prekey_required' }
  | { ok: false; reason: 'too_many_prekeys'; stored: number };

export type ClaimedBundle = KeyBundle & { remaining: number };

/**
 * The public halves of each device's keys (never a private key). A one-time pre-key is handed out
 * at most once, even to concurrent claims.
 */
export interface KeyDirectory {
  /**
   * Stores the device's keys. A new identity key means a reinstalled device: its old pre-keys are
   * dropped with it. One-time pre-keys add to the stock; a key id already stored is ignored.
   */
  publish(keys: PublishKeys): Promise<PublishResult>;
  /** One bundle per device of `userId` (except `exceptDevice`), each taking one one-time pre-key when there is one. */
  claim(userId: string, options?: { exceptDevice?: string }): Promise<ClaimedBundle[]>;
  /** One-time pre-keys left for a device. */
  remaining(userId: string, deviceId: string): Promise<number>;
  /** Forgets every key of the user's devices (erasure). */
  removeUser(userId: string): Promise<void>;
}

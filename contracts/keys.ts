import { Type, type Static } from 'typebox';
import { DeviceId, UserId } from './primitives.ts';

const strict = { additionalProperties: false } as const;

/** Standard base64 (padding optional) of a fixed number of raw bytes. */
const Base64 = (bytes: number) => {
  const chars = Math.ceil((bytes * 4) / 3);
  return Type.String({ minLength: chars, maxLength: chars + 2, pattern: '^[A-Za-z0-9+/]+={0,2}$', description: `${bytes} bytes, base64` });
};

export const KeyId = Type.Integer({ minimum: 0, maximum: 2 ** 31 - 1 });

/** An Ed25519 public key, 32 raw bytes. */
export const IdentityKey = Base64(32);
/** An X25519 public key, 32 raw bytes. */
export const X25519Key = Base64(32);

export const SignedPreKey = Type.Object(
  {
    key_id: KeyId,
    public_key: X25519Key,
    /** Ed25519 signature (64 bytes) by the identity key over the 32 raw bytes of `public_key`. */
    signature: Base64(64),
  },
  strict,
);
export type SignedPreKey = Static<typeof SignedPreKey>;

export const OneTimePreKey = Type.Object({ key_id: KeyId, public_key: X25519Key }, strict);
export type OneTimePreKey = Static<typeof OneTimePreKey>;

export const MAX_PREKEYS_PER_UPLOAD = 200;
/** One-time pre-keys kept per device; uploads beyond it are refused. */
export const MAX_STORED_PREKEYS = 1_000;

/** `PUT /v1/keys`: the calling device publishes its keys. Every field is optional after the first upload except the identity key. */
export const PutKeysBody = Type.Object(
  {
    identity_key: IdentityKey,
    signed_prekey: Type.Optional(
      Type.Object(SignedPreKey.properties, {
        ...strict,
        description:
          'required on the first upload of a device and with every new identity_key (else 400 invalid_request); its signature must verify with identity_key (else 400 invalid_signature)',
      }),
    ),
    one_time_prekeys: Type.Optional(
      Type.Array(OneTimePreKey, {
        maxItems: MAX_PREKEYS_PER_UPLOAD,
        description: `distinct key_ids; a device keeps at most ${MAX_STORED_PREKEYS} (beyond: 400 invalid_request)`,
      }),
    ),
  },
  strict,
);
export type PutKeysBody = Static<typeof PutKeysBody>;

export const PutKeysReply = Type.Object({ device_id: DeviceId, one_time_prekeys: Type.Integer({ minimum: 0 }) });

export const KeyBundle = Type.Object({
  device_id: DeviceId,
  identity_key: IdentityKey,
  signed_prekey: SignedPreKey,
  /** Handed out once; absent when the device has none left. */
  one_time_prekey: Type.Optional(OneTimePreKey),
});
export type KeyBundle = Static<typeof KeyBundle>;

export const KeyBundlesReply = Type.Object({ user_id: UserId, devices: Type.Array(KeyBundle) });
export const KeysParams = Type.Object({ user_id: UserId });

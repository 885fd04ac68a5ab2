import type { FastifyInstance } from 'fastify';
import type {} from '../../command-side/actor.ts';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { NatterError } from '../../contracts/errors.ts';
import { KeyBundlesReply, KeysParams, MAX_STORED_PREKEYS, PutKeysBody, PutKeysReply } from '../../contracts/keys.ts';
import type { PrekeysLowFrame } from '../../contracts/frames.ts';
import type { KeyDirectory } from '../../ports/key-directory.ts';
import type { Delivery } from '../../ports/delivery.ts';
import type { RateLimit, RateLimiter } from '../../ports/rate-limiter.ts';

export type KeyRouteDeps = {
  keys: KeyDirectory;
  delivery: Delivery;
  /** A `prekeys_low` frame goes to the owner when a claim leaves a device with this many or fewer. */
  lowThreshold: number;
  limiter?: RateLimiter;
  claimLimit?: RateLimit;
  clock?: () => number;
};

const raw = (base64: string, bytes: number, what: string): Buffer => {
  const decoded = Buffer.from(base64, 'base64');
  if (decoded.length !== bytes) throw new NatterError('invalid_request', `${what} must be ${bytes} bytes, base64`);
  return decoded;
};

const okpKey = (crv: 'Ed25519' | 'X25519', bytes: Buffer, what: string): KeyObject => {
  try {
    return createPublicKey({ key: { kty: 'OKP', crv, x: bytes.toString('base64url') }, format: 'jwk' });
  } catch {
    throw new NatterError('invalid_request', `${what} is not a valid ${crv} public key`);
  }
};

/** A reminder per device at most this often while it stays low; running out is always told. */
const LOW_REMINDER_MS = 5_000;

/**
 * The key directory of the end-to-end encryption (Signal-style X3DH bundles). The server checks that
 * each signed pre-key is signed by its device's identity key, and hands out each one-time pre-key
 * once; it never sees a private key and cannot read ciphertext.
 */
export const keyRoutes = async (app: FastifyInstance, deps: KeyRouteDeps) => {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const clock = deps.clock ?? Date.now;
  const lastLow = new Map<string, { at: number; remaining: number }>();

  const tellLow = (userId: string, deviceId: string, remaining: number) => {
    if (remaining > deps.lowThreshold) {
      lastLow.delete(`${userId}\u0000${deviceId}`);
      return;
    }
    const key = `${userId}\u0000${deviceId}`;
    const last = lastLow.get(key);
    const now = clock();
    if (last && now - last.at < LOW_REMINDER_MS && !(remaining === 0 && last.remaining > 0)) return;
    lastLow.set(key, { at: now, remaining });
    if (lastLow.size > 100_000) lastLow.delete(lastLow.keys().next().value!);
    const frame: PrekeysLowFrame = { type: 'prekeys_low', device_id: deviceId, remaining };
    deps.delivery.deliver([userId], { kind: 'ephemeral', json: JSON.stringify(frame), position: 0 });
  };

  api.put(
    '/v1/keys',
    {
      schema: {
        operationId: 'publishKeys',
        summary: "Publish this device's identity key, signed pre-key and one-time pre-keys",
        body: PutKeysBody,
        response: { 200: PutKeysReply },
      },
    },
    async (request) => {
      const body = request.body;
      const identity = okpKey('Ed25519', raw(body.identity_key, 32, 'identity_key'), 'identity_key');
      if (body.signed_prekey) {
        const prekey = raw(body.signed_prekey.public_key, 32, 'signed_prekey.public_key');
        okpKey('X25519', prekey, 'signed_prekey.public_key');
        const signature = raw(body.signed_prekey.signature, 64, 'signed_prekey.signature');
        if (!verify(null, prekey, identity, signature)) {
          throw new NatterError('invalid_signature', 'signed_prekey.signature does not verify with identity_key');
        }
      }
      const ids = new Set<number>();
      for (const prekey of body.one_time_prekeys ?? []) {
        okpKey('X25519', raw(prekey.public_key, 32, 'one_time_prekeys[].public_key'), 'one_time_prekeys[].public_key');
        if (ids.has(prekey.key_id)) throw new NatterError('invalid_request', `one_time_prekeys has key_id ${prekey.key_id} twice`);
        ids.add(prekey.key_id);
      }
      const { user_id, device_id } = request.actor;
      const result = await deps.keys.publish({
        user_id,
        device_id,
        identity_key: body.identity_key,
        now: clock(),
        ...(body.signed_prekey ? { signed_prekey: body.signed_prekey } : {}),
        ...(body.one_time_prekeys ? { one_time_prekeys: body.one_time_prekeys } : {}),
      });
      if (!result.ok) {
        throw new NatterError(
          'invalid_request',
          result.reason === 'signed_prekey_required'
            ? 'a new identity key needs a signed_prekey'
            : `a device keeps at most ${MAX_STORED_PREKEYS} one-time pre-keys; it has ${result.stored}`,
        );
      }
      if (result.one_time_prekeys > deps.lowThreshold) lastLow.delete(`${user_id}\u0000${device_id}`);
      return { device_id, one_time_prekeys: result.one_time_prekeys };
    },
  );

  api.get(
    '/v1/keys/:user_id',
    {
      schema: {
        operationId: 'claimKeyBundles',
        summary: 'Claim a key bundle for each device of a user (one one-time pre-key each)',
        params: KeysParams,
        response: { 200: KeyBundlesReply },
      },
    },
    async (request) => {
      if (deps.limiter && deps.claimLimit) {
        // Each claim consumes someone else's pre-keys: a budget per caller keeps anyone from draining them.
        const decision = await deps.limiter.take(`key-claims:${request.actor.user_id}`, deps.claimLimit);
        if (!decision.ok)
          throw new NatterError('rate_limited', `too many key requests; retry in ${decision.retryAfterMs} ms`, { retry_after_ms: decision.retryAfterMs });
      }
      const userId = request.params.user_id;
      const exceptDevice = userId === request.actor.user_id ? request.actor.device_id : undefined;
      const bundles = await deps.keys.claim(userId, exceptDevice ? { exceptDevice } : {});
      for (const bundle of bundles) tellLow(userId, bundle.device_id, bundle.remaining);
      return { user_id: userId, devices: bundles.map(({ remaining: _, ...bundle }) => bundle) };
    },
  );
};

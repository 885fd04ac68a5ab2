import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { KeyDirectory, PublishKeys } from '../../ports/key-directory.ts';
import type { OneTimePreKey, SignedPreKey } from '../../contracts/keys.ts';
import { MAX_STORED_PREKEYS } from '../../contracts/keys.ts';

const T = 1_800_000_000_000;

// The directory stores public keys as given (the route checks their form and signature), so
// readable stand-ins keep failures legible.
const signed = (keyId: number, tag = 's'): SignedPreKey => ({ key_id: keyId, public_key: `${tag}-pub-${keyId}`, signature: `${tag}-sig-${keyId}` });
const oneTime = (ids: number[], tag = 'o'): OneTimePreKey[] => ids.map((key_id) => ({ key_id, public_key: `${tag}-pub-${key_id}` }));
const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);

/**
 * The key-directory contract: the embedded SQLite directory and the cluster's PostgreSQL directory
 * run it unchanged. `open` gives several handles on one backend, each with its own connections (as
 * gateways have), so that concurrent claims really run in parallel sessions where the engine allows
 * it. Each test uses fresh user ids, so the handles serve the whole suite.
 */
export const keyDirectoryContract = (name: string, open: () => Promise<{ directories: KeyDirectory[]; close(): Promise<void> }>) => {
  describe(`key directory contract: ${name}`, () => {
    let keys: KeyDirectory;
    let handles: KeyDirectory[];
    let close: () => Promise<void>;
    before(async () => {
      ({ directories: handles, close } = await open());
      keys = handles[0]!;
    });
    after(async () => {
      await close();
    });
    const user = () => `u-${randomUUID()}`;
    const publish = (userId: string, deviceId: string, keysOf: Partial<PublishKeys>) =>
      keys.publish({ user_id: userId, device_id: deviceId, identity_key: `ik-${deviceId}`, now: T, ...keysOf });

    it("given a device's first upload without a signed pre-key, then it is refused and nothing is stored", async () => {
      const u = user();
      assert.deepEqual(await publish(u, 'phone', { one_time_prekeys: oneTime([1, 2]) }), { ok: false, reason: 'signed_prekey_required' });
      assert.deepEqual(await keys.claim(u), []);
      assert.equal(await keys.remaining(u, 'phone'), 0);
    });

    it("given a first upload with a signed pre-key and one-time pre-keys, then a claim returns the device's bundle with one of them", async () => {
      const u = user();
      assert.deepEqual(await publish(u, 'phone', { signed_prekey: signed(100), one_time_prekeys: oneTime([1, 2, 3]) }), { ok: true, one_time_prekeys: 3 });
      assert.equal(await keys.remaining(u, 'phone'), 3);
      assert.deepEqual(await keys.claim(u), [
        {
          device_id: 'phone',
          identity_key: 'ik-phone',
          signed_prekey: signed(100),
          one_time_prekey: { key_id: 1, public_key: 'o-pub-1' },
          remaining: 2,
        },
      ]);
      assert.equal(await keys.remaining(u, 'phone'), 2);
    });

    it('given a device with keys, when it uploads more under the same identity, then they add to the stock and the signed pre-key stays unless replaced', async () => {
      const u = user();
      await publish(u, 'phone', { signed_prekey: signed(100), one_time_prekeys: oneTime([1, 2]) });
      assert.deepEqual(await publish(u, 'phone', { one_time_prekeys: oneTime([3, 4, 5]) }), { ok: true, one_time_prekeys: 5 });
      assert.deepEqual((await keys.claim(u))[0]?.signed_prekey, signed(100));
      assert.deepEqual(await publish(u, 'phone', { signed_prekey: signed(101) }), { ok: true, one_time_prekeys: 4 });
      const [bundle] = await keys.claim(u);
      assert.deepEqual(bundle?.signed_prekey, signed(101), 'a rotated signed pre-key replaces the old one');
      assert.deepEqual(bundle?.one_time_prekey, { key_id: 2, public_key: 'o-pub-2' }, 'the one-time pre-keys stay');
    });

    it('given a device with keys, when it comes back with a new identity key (a reinstall), then its old pre-keys are dropped, and a signed pre-key is required again', async () => {
      const u = user();
      await publish(u, 'phone', { signed_prekey: signed(100), one_time_prekeys: oneTime([1, 2, 3]) });
      assert.deepEqual(await publish(u, 'phone', { identity_key: 'ik-reinstalled', one_time_prekeys: oneTime([7]) }), {
        ok: false,
        reason: 'signed_prekey_required',
      });
      assert.equal(await keys.remaining(u, 'phone'), 3, 'a refused reinstall changes nothing');
      assert.deepEqual(
        await publish(u, 'phone', { identity_key: 'ik-reinstalled', signed_prekey: signed(9, 'new'), one_time_prekeys: oneTime([50, 51], 'new') }),
        { ok: true, one_time_prekeys: 2 },
      );
      assert.deepEqual(await keys.claim(u), [
        {
          device_id: 'phone',
          identity_key: 'ik-reinstalled',
          signed_prekey: signed(9, 'new'),
          one_time_prekey: { key_id: 50, public_key: 'new-pub-50' },
          remaining: 1,
        },
      ]);
    });

    it(`given a device near the cap, then an upload past ${MAX_STORED_PREKEYS} stored pre-keys is refused whole with the count stored, and one up to it is taken`, async () => {
      const u = user();
      await publish(u, 'phone', { signed_prekey: signed(1), one_time_prekeys: oneTime(range(1, MAX_STORED_PREKEYS - 10)) });
      assert.deepEqual(await publish(u, 'phone', { signed_prekey: signed(2), one_time_prekeys: oneTime(range(5_000, 11)) }), {
        ok: false,
        reason: 'too_many_prekeys',
        stored: MAX_STORED_PREKEYS - 10,
      });
      assert.equal(await keys.remaining(u, 'phone'), MAX_STORED_PREKEYS - 10);
      assert.deepEqual((await keys.claim(u))[0]?.signed_prekey, signed(1), 'a refused upload does not rotate the signed pre-key either');
      // The claim took one key: 11 now fit exactly.
      assert.deepEqual(await publish(u, 'phone', { one_time_prekeys: oneTime(range(5_000, 11)) }), { ok: true, one_time_prekeys: MAX_STORED_PREKEYS });
      assert.deepEqual(await publish(u, 'phone', { one_time_prekeys: oneTime([6_000]) }), {
        ok: false,
        reason: 'too_many_prekeys',
        stored: MAX_STORED_PREKEYS,
      });
      assert.deepEqual(
        await publish(u, 'phone', { identity_key: 'ik-reinstalled', signed_prekey: signed(3), one_time_prekeys: oneTime(range(1, MAX_STORED_PREKEYS)) }),
        { ok: true, one_time_prekeys: MAX_STORED_PREKEYS },
        'a reinstall starts from an empty stock',
      );
    });

    it('given stored key ids, when an upload repeats some of them, then the repeats are ignored and the first public keys kept', async () => {
      const u = user();
      await publish(u, 'phone', { signed_prekey: signed(1), one_time_prekeys: oneTime([1, 2, 3]) });
      assert.deepEqual(await publish(u, 'phone', { one_time_prekeys: [...oneTime([2, 3], 'again'), ...oneTime([4])] }), { ok: true, one_time_prekeys: 4 });
      const claimed = [];
      for (let i = 0; i < 5; i++) claimed.push((await keys.claim(u))[0]?.one_time_prekey);
      assert.deepEqual(claimed, [...oneTime([1, 2, 3, 4]), undefined]);
    });

    it('given several devices, then a claim returns one bundle per device by device id, leaves out `exceptDevice`, and a device out of one-time pre-keys still gives its signed pre-key', async () => {
      const u = user();
      await publish(u, 'tablet', { signed_prekey: signed(1), one_time_prekeys: oneTime([10, 11]) });
      await publish(u, 'laptop', { signed_prekey: signed(2), one_time_prekeys: oneTime([20]) });
      await publish(u, 'phone', { signed_prekey: signed(3) });
      await publish(user(), 'phone', { signed_prekey: signed(4), one_time_prekeys: oneTime([40]) });
      assert.deepEqual(await keys.claim(u), [
        { device_id: 'laptop', identity_key: 'ik-laptop', signed_prekey: signed(2), one_time_prekey: { key_id: 20, public_key: 'o-pub-20' }, remaining: 0 },
        { device_id: 'phone', identity_key: 'ik-phone', signed_prekey: signed(3), remaining: 0 },
        { device_id: 'tablet', identity_key: 'ik-tablet', signed_prekey: signed(1), one_time_prekey: { key_id: 10, public_key: 'o-pub-10' }, remaining: 1 },
      ]);
      assert.deepEqual(
        (await keys.claim(u, { exceptDevice: 'tablet' })).map((b) => [b.device_id, b.one_time_prekey?.key_id]),
        [
          ['laptop', undefined],
          ['phone', undefined],
        ],
      );
      assert.equal(await keys.remaining(u, 'tablet'), 1, 'the excepted device kept its key');
      assert.deepEqual(await keys.claim(user()), [], 'a user without devices has no bundles');
    });

    it('given one-time pre-keys uploaded out of order, then claims hand them out lowest key id first, each once', async () => {
      const u = user();
      await publish(u, 'phone', { signed_prekey: signed(1), one_time_prekeys: oneTime([30, 5, 17]) });
      await publish(u, 'phone', { one_time_prekeys: oneTime([2]) });
      const claimed = [];
      for (let i = 0; i < 5; i++) {
        const [bundle] = await keys.claim(u);
        claimed.push([bundle?.one_time_prekey?.key_id, bundle?.remaining]);
      }
      assert.deepEqual(claimed, [
        [2, 3],
        [5, 2],
        [17, 1],
        [30, 0],
        [undefined, 0],
      ]);
    });

    it('given a device with 60 one-time pre-keys, when 50 claims run at once over every handle, then they get 50 different keys and 10 are left', async () => {
      const u = user();
      await publish(u, 'phone', { signed_prekey: signed(1), one_time_prekeys: oneTime(range(1, 60)) });
      const bundles = (await Promise.all(range(0, 50).map((i) => handles[i % handles.length]!.claim(u)))).map(([bundle]) => bundle);
      const taken = bundles.map((b) => b?.one_time_prekey?.key_id);
      assert.ok(
        taken.every((id) => id !== undefined),
        'every claim got a key',
      );
      assert.equal(new Set(taken).size, 50, `no key handed out twice: ${JSON.stringify(taken)}`);
      assert.ok(bundles.every((b) => b!.remaining >= 10 && b!.remaining < 60));
      assert.equal(await keys.remaining(u, 'phone'), 10);
      const rest = [];
      for (let i = 0; i < 10; i++) rest.push((await keys.claim(u))[0]?.one_time_prekey?.key_id);
      assert.deepEqual(
        [...taken, ...rest].sort((x, y) => x! - y!),
        range(1, 60),
        'together, every key exactly once',
      );
    });
  });
};

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign, verify, createPublicKey, type KeyObject } from 'node:crypto';
import { startNatter, rest } from '../support/natter.ts';
import { useNatter } from '../support/fixture.ts';
import { Device } from '../support/ws-client.ts';
import { eventually } from '../support/eventually.ts';

const raw = (key: KeyObject) => Buffer.from(key.export({ format: 'jwk' }).x!, 'base64url');

/** A device's key material, as a Signal-style client would make it (only public halves are uploaded). */
const deviceKeys = () => {
  const identity = generateKeyPairSync('ed25519');
  let nextId = 1;
  const signed = () => {
    const pair = generateKeyPairSync('x25519');
    const pub = raw(pair.publicKey);
    return { key_id: nextId++, public_key: pub.toString('base64'), signature: sign(null, pub, identity.privateKey).toString('base64') };
  };
  const oneTime = (n: number) =>
    Array.from({ length: n }, () => ({ key_id: nextId++, public_key: raw(generateKeyPairSync('x25519').publicKey).toString('base64') }));
  return { identity, identityKey: raw(identity.publicKey).toString('base64'), signed, oneTime };
};

const THRESHOLD = 5;

describe('the end-to-end encryption key directory', () => {
  const { server: natter } = useNatter({ NATTER_PREKEYS_LOW_THRESHOLD: String(THRESHOLD), NATTER_KEY_CLAIMS_PER_MINUTE: '100000' });

  it('given a signed pre-key, then the server verifies its Ed25519 signature and refuses a forged or malformed one', async () => {
    const api = rest(natter.url, await natter.token('alice', 'phone'));
    const keys = deviceKeys();
    const put = (body: unknown) => api.call('PUT', '/v1/keys', body);
    const forger = deviceKeys();
    const forged = await put({ identity_key: keys.identityKey, signed_prekey: forger.signed() });
    assert.equal(forged.status, 400);
    assert.equal(forged.body.error.code, 'invalid_signature');
    const good = keys.signed();
    const flipped = Buffer.from(good.signature, 'base64');
    flipped[0] = flipped[0]! ^ 1;
    assert.equal(
      (await put({ identity_key: keys.identityKey, signed_prekey: { ...good, signature: flipped.toString('base64') } })).body.error.code,
      'invalid_signature',
    );
    assert.equal((await put({ identity_key: keys.identityKey })).status, 400, 'a first upload needs a signed pre-key');
    assert.equal((await put({ identity_key: 'AAAA', signed_prekey: good })).status, 400);
    assert.equal(
      (await put({ identity_key: keys.identityKey, signed_prekey: good, one_time_prekeys: [{ key_id: 1, public_key: 'not base64!' }] })).status,
      400,
    );
    const dup = keys.oneTime(1)[0]!;
    assert.equal((await put({ identity_key: keys.identityKey, signed_prekey: good, one_time_prekeys: [dup, dup] })).status, 400);
    const ok = await put({ identity_key: keys.identityKey, signed_prekey: good, one_time_prekeys: keys.oneTime(3) });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.deepEqual(ok.body, { device_id: 'phone', one_time_prekeys: 3 });
    // Later uploads may add one-time pre-keys alone.
    assert.deepEqual((await put({ identity_key: keys.identityKey, one_time_prekeys: keys.oneTime(2) })).body, { device_id: 'phone', one_time_prekeys: 5 });
  });

  it('given a user with two devices, then a claim returns one verifiable bundle per device, each with a one-time pre-key handed out once', async () => {
    const phone = deviceKeys();
    const laptop = deviceKeys();
    const phoneKeys = phone.oneTime(20);
    await rest(natter.url, await natter.token('bob', 'phone')).call('PUT', '/v1/keys', {
      identity_key: phone.identityKey,
      signed_prekey: phone.signed(),
      one_time_prekeys: phoneKeys,
    });
    await rest(natter.url, await natter.token('bob', 'laptop')).call('PUT', '/v1/keys', {
      identity_key: laptop.identityKey,
      signed_prekey: laptop.signed(),
      one_time_prekeys: laptop.oneTime(20),
    });
    const carol = rest(natter.url, await natter.token('carol', 'tablet'));
    const first = await carol.get('/v1/keys/bob');
    assert.equal(first.status, 200);
    assert.equal(first.body.user_id, 'bob');
    assert.deepEqual(
      first.body.devices.map((d: any) => d.device_id),
      ['laptop', 'phone'],
    );
    for (const bundle of first.body.devices) {
      const identity = createPublicKey({
        key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(bundle.identity_key, 'base64').toString('base64url') },
        format: 'jwk',
      });
      assert.ok(verify(null, Buffer.from(bundle.signed_prekey.public_key, 'base64'), identity, Buffer.from(bundle.signed_prekey.signature, 'base64')));
      assert.ok(bundle.one_time_prekey);
    }
    const phoneBundle = first.body.devices.find((d: any) => d.device_id === 'phone');
    assert.deepEqual(phoneBundle.one_time_prekey, phoneKeys[0]);
    const second = await carol.get('/v1/keys/bob');
    assert.notDeepEqual(second.body.devices[1].one_time_prekey, phoneBundle.one_time_prekey);
    // A device never gets its own bundle; the user's other devices are there.
    const own = await rest(natter.url, await natter.token('bob', 'phone')).get('/v1/keys/bob');
    assert.deepEqual(
      own.body.devices.map((d: any) => d.device_id),
      ['laptop'],
    );
    assert.deepEqual((await carol.get('/v1/keys/nobody')).body, { user_id: 'nobody', devices: [] });
  });

  it('given 50 concurrent claims, then every one-time pre-key handed out is distinct; once they run out, bundles come without one and the owner gets prekeys_low', async () => {
    const keys = deviceKeys();
    const stock = keys.oneTime(60);
    const owner = await natter.token('dan', 'phone');
    await rest(natter.url, owner).call('PUT', '/v1/keys', { identity_key: keys.identityKey, signed_prekey: keys.signed(), one_time_prekeys: stock });
    const socket = await Device.connect(natter.wsUrl, owner, 'phone');
    const claimers = await Promise.all(Array.from({ length: 10 }, (_, i) => natter.token(`claimer-${i}`)));
    const replies = await Promise.all(Array.from({ length: 50 }, (_, i) => rest(natter.url, claimers[i % 10]).get('/v1/keys/dan')));
    const handed = replies.map((r) => {
      assert.equal(r.status, 200);
      return r.body.devices[0].one_time_prekey.key_id as number;
    });
    assert.equal(new Set(handed).size, 50, 'no one-time pre-key handed out twice');
    assert.ok(handed.every((id) => stock.some((k) => k.key_id === id)));

    const more = await Promise.all(Array.from({ length: 12 }, (_, i) => rest(natter.url, claimers[i % 10]).get('/v1/keys/dan')));
    const lastKeys = more.map((r) => r.body.devices[0].one_time_prekey?.key_id).filter((id) => id !== undefined);
    assert.equal(lastKeys.length, 10, 'the last ten, then none');
    assert.equal(new Set([...handed, ...lastKeys]).size, 60);
    const empty = more.find((r) => !r.body.devices[0].one_time_prekey)!;
    assert.ok(empty.body.devices[0].signed_prekey, 'a bundle without a one-time pre-key still has the signed pre-key');

    const [low] = await socket.waitFor('prekeys_low', (f) => f.remaining === 0);
    assert.deepEqual(low, { type: 'prekeys_low', device_id: 'phone', remaining: 0 });
    assert.ok(socket.of('prekeys_low').every((f) => f.remaining <= THRESHOLD));
    const refill = await rest(natter.url, owner).call('PUT', '/v1/keys', { identity_key: keys.identityKey, one_time_prekeys: keys.oneTime(10) });
    assert.equal(refill.body.one_time_prekeys, 10);
    await socket.close();
  });

  it('given a new identity key for a device (a reinstall), then its old one-time pre-keys are dropped with it', async () => {
    const token = await natter.token('erin', 'phone');
    const before = deviceKeys();
    await rest(natter.url, token).call('PUT', '/v1/keys', {
      identity_key: before.identityKey,
      signed_prekey: before.signed(),
      one_time_prekeys: before.oneTime(5),
    });
    const after = deviceKeys();
    const reply = await rest(natter.url, token).call('PUT', '/v1/keys', { identity_key: after.identityKey, signed_prekey: after.signed() });
    assert.deepEqual(reply.body, { device_id: 'phone', one_time_prekeys: 0 });
    const bundle = (await rest(natter.url, await natter.token('frank')).get('/v1/keys/erin')).body.devices[0];
    assert.equal(bundle.identity_key, after.identityKey);
    assert.equal(bundle.one_time_prekey, undefined);
  });

  it('given ciphertext messages, then base64 is stored and delivered untouched, anything else is refused', async () => {
    const [ta, tb] = [await natter.token('gil', 'phone'), await natter.token('hal', 'phone')];
    const conv = (await rest(natter.url, ta).post('/v1/conversations', { type: 'direct', peer_id: 'hal' })).body.conversation_id;
    const hal = await Device.connect(natter.wsUrl, tb, 'phone');
    const sealed = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 7) & 0xff)).toString('base64');
    const sent = await rest(natter.url, ta).post(`/v1/conversations/${conv}/messages`, { client_msg_id: 'e-1', content: sealed, content_type: 'ciphertext' });
    assert.equal(sent.status, 201);
    const [frame] = await hal.waitFor('new_message', (f) => f.client_msg_id === 'e-1');
    assert.equal(frame!.content, sealed);
    assert.equal(frame!.content_type, 'ciphertext');
    // The frame can come ahead of the inbox's projection (the cluster's fast path).
    const inbox = await eventually(
      () => rest(natter.url, tb).get('/v1/conversations'),
      (reply) => reply.body.items[0]?.last_message !== null,
    );
    assert.equal(inbox.body.items[0].last_message.preview, '[encrypted message]');
    const bad = await rest(natter.url, ta).post(`/v1/conversations/${conv}/messages`, {
      client_msg_id: 'e-2',
      content: 'hello in clear',
      content_type: 'ciphertext',
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'invalid_request');
    await hal.close();
  });
});

describe('the key directory rate limit', () => {
  it('given a caller over NATTER_KEY_CLAIMS_PER_MINUTE, then 429 rate_limited with Retry-After', async () => {
    const natter = await startNatter({ NATTER_KEY_CLAIMS_PER_MINUTE: '3' });
    try {
      const api = rest(natter.url, await natter.token('ida'));
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await api.get('/v1/keys/jon')).status);
      assert.deepEqual(statuses, [200, 200, 200, 429]);
      const limited = await api.get('/v1/keys/jon');
      assert.equal(limited.body.error.code, 'rate_limited');
      assert.ok(Number(limited.headers.get('retry-after')) >= 1);
    } finally {
      await natter.close();
    }
  });
});

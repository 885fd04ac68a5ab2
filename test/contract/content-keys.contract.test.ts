import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { ContentKeyStore } from '../../ports/content-keys.ts';
import { createContentCipher, keyIdOf } from '../../adapters/crypto/content-cipher.ts';
import { openDatabase } from '../../adapters/sqlite/database.ts';
import { createSqliteContentKeyStore } from '../../adapters/sqlite/content-keys.ts';
import { openPostgresFeatures, type PostgresFeatures } from '../../adapters/postgres/features.ts';
import { createPostgresContentKeyStore } from '../../adapters/postgres/content-keys.ts';
import { requireEngines } from '../support/engines.ts';
import { tempDir } from '../support/natter.ts';
import { eventually } from '../support/eventually.ts';

const { NATTER_PG_URL: connectionString } = await requireEngines('postgres');
const schema = `natter_test_${randomBytes(6).toString('hex')}`;
const T = Date.UTC(2026, 11, 6);
const master = randomBytes(32);
const wrappedKey = (owner: string, id = `${owner}/c/2026-12`) => ({ key_id: id, owner_id: owner, wrapped: randomBytes(60) });

after(async () => {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
});

/** The content-key store contract: two stores over one backend, as two processes have. */
const contentKeyStoreContract = (name: string, open: () => Promise<{ stores: [ContentKeyStore, ContentKeyStore]; close(): Promise<void> }>) => {
  describe(`content key store contract: ${name}`, () => {
    let a: ContentKeyStore, b: ContentKeyStore, close: () => Promise<void>;
    before(async () => {
      ({
        stores: [a, b],
        close,
      } = await open());
    });
    after(async () => {
      await close();
    });

    it("given two processes create the same key at once, then both get the first writer's", async () => {
      const owner = `u-${randomUUID()}`;
      const [x, y] = await Promise.all([a.getOrCreate(wrappedKey(owner)), b.getOrCreate(wrappedKey(owner))]);
      assert.deepEqual(x.wrapped, y.wrapped);
      assert.deepEqual(((await b.get(x.key_id)) as { wrapped: Buffer }).wrapped, x.wrapped);
    });
    it('given an unknown key id, then null (a lost key, told apart from a destroyed one)', async () =>
      assert.equal(await a.get(`nobody/${randomUUID()}`), null));
    it("given an owner's keys destroyed, then each is `destroyed` for every process, others' keys stay, and a destroyed id is never created again", async () => {
      const owner = `u-${randomUUID()}`,
        other = `u-${randomUUID()}`;
      const keys = [wrappedKey(owner, `${owner}/c1/2026-11`), wrappedKey(owner, `${owner}/c2/2026-12`)];
      for (const k of keys) await a.getOrCreate(k);
      const kept = await a.getOrCreate(wrappedKey(other));
      assert.equal(await b.destroyOwner(owner), 2);
      for (const k of keys) assert.equal(await a.get(k.key_id), 'destroyed');
      assert.deepEqual(((await a.get(kept.key_id)) as { wrapped: Buffer }).wrapped, kept.wrapped);
      assert.equal(await a.destroyOwner(owner), 0, 'again: nothing left to destroy');
      await assert.rejects(a.getOrCreate(wrappedKey(owner, keys[0]!.key_id)), /destroyed/);
    });
  });
};

contentKeyStoreContract('sqlite', async () => {
  const path = join(tempDir('natter-content-keys-'), 'keys.db');
  const stores = [createSqliteContentKeyStore(openDatabase(path, 'FULL')), createSqliteContentKeyStore(openDatabase(path, 'FULL'))] as [
    ContentKeyStore,
    ContentKeyStore,
  ];
  return {
    stores,
    close: async () => {
      for (const s of stores) await s.close();
    },
  };
});
contentKeyStoreContract('postgres', async () => {
  const pools = await Promise.all([openPostgresFeatures({ connectionString, schema }), openPostgresFeatures({ connectionString, schema })]);
  return {
    stores: pools.map(createPostgresContentKeyStore) as [ContentKeyStore, ContentKeyStore],
    close: async () => {
      await Promise.all(pools.map((p) => p.close()));
    },
  };
});

describe('content key store: what a destroyed key leaves behind', () => {
  it("given SQLite with secure_delete, when an owner's keys are destroyed, then their bytes are gone from the file (WAL checkpointed)", async () => {
    const path = join(tempDir('natter-content-keys-'), 'keys.db');
    const store = createSqliteContentKeyStore(openDatabase(path, 'FULL'));
    try {
      const key = await store.getOrCreate(wrappedKey('eve'));
      await store.getOrCreate(wrappedKey('fox'));
      await store.destroyOwner('fox');
      const before = readFileSync(path);
      assert.ok(before.includes(key.wrapped), 'the live key is in the file');
      await store.destroyOwner('eve');
      assert.ok(!readFileSync(path).includes(key.wrapped), 'the destroyed key is not');
    } finally {
      await store.close();
    }
  });

  it("given PostgreSQL, when one process destroys an owner's keys, then every process that watches hears the owner (and not another schema's)", async () => {
    const [writer, watcher, elsewhere] = await Promise.all([
      openPostgresFeatures({ connectionString, schema }),
      openPostgresFeatures({ connectionString, schema }),
      openPostgresFeatures({ connectionString, schema: `${schema}_other` }),
    ]);
    const heard: Array<string | undefined> = [];
    const watching = await createPostgresContentKeyStore(watcher).watchDestroyed!((owner) => heard.push(owner));
    try {
      assert.deepEqual(heard, [undefined], 'on (re)connecting: forget everything, news may have been missed');
      await createPostgresContentKeyStore(elsewhere).destroyOwner('zed');
      await createPostgresContentKeyStore(writer).destroyOwner('eve');
      assert.deepEqual(
        await eventually(
          async () => [...heard],
          (h) => h.length >= 2,
        ),
        [undefined, 'eve'],
      );
      await sleep(100);
      assert.deepEqual(heard, [undefined, 'eve'], "another namespace's erasure is not ours");
    } finally {
      await watching.close();
      await Promise.all([writer, watcher, elsewhere].map((p: PostgresFeatures) => p.close()));
      const client = new pg.Client({ connectionString });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS "${schema}_other" CASCADE`).finally(() => client.end());
    }
  });
});

describe('content cipher: AES-256-GCM with data keys per sender, conversation and month', () => {
  const open = () => createSqliteContentKeyStore(openDatabase(join(tempDir('natter-cipher-'), 'keys.db'), 'FULL'));

  it('given text sealed, then the sealed form names its key, holds no plaintext, and opens to the text', async () => {
    const cipher = createContentCipher({ store: open(), masterKey: master });
    const text = 'Café ☕ — naïve 🎉 canary-1234';
    const sealed = await cipher.seal({ user_id: 'ann', conversation_id: 'c1', timestamp: T }, text);
    assert.ok(sealed.startsWith(`enc1|${keyIdOf('ann', 'c1', T)}|`));
    assert.ok(!sealed.includes('canary') && !sealed.includes('Caf'));
    assert.deepEqual(await cipher.open(sealed), { ok: true, text });
    assert.notEqual(await cipher.seal({ user_id: 'ann', conversation_id: 'c1', timestamp: T }, text), sealed, 'a fresh IV each time');
    assert.deepEqual(await cipher.open(await cipher.reseal(sealed, 'Café')), { ok: true, text: 'Café' }, "a preview sealed with the message's key");
  });
  it('given thousands of seals with one key (IVs cut from a pooled random buffer), then no IV repeats and every one opens', async () => {
    const cipher = createContentCipher({ store: open(), masterKey: master });
    const owner = { user_id: 'ann', conversation_id: 'c1', timestamp: T };
    await cipher.seal(owner, 'the key is made and cached first');
    const sealed = await Promise.all(Array.from({ length: 3_000 }, (_, i) => cipher.seal(owner, `message ${i}`)));
    // The payload after the key id is base64url of `iv (12 bytes) | ciphertext | tag`; 3,000 seals span 9 refills of the pool.
    const ivs = sealed.map((s) =>
      Buffer.from(s.slice(s.lastIndexOf('|') + 1 + 'enc1:'.length), 'base64url')
        .subarray(0, 12)
        .toString('hex'),
    );
    assert.equal(new Set(ivs).size, sealed.length, 'an IV used twice with one GCM key gives the key away');
    for (const [i, s] of sealed.entries()) assert.deepEqual(await cipher.open(s), { ok: true, text: `message ${i}` });
  });
  it('given a new month, sender or conversation, then a new key; text written before encryption opens as it is', async () => {
    const cipher = createContentCipher({ store: open(), masterKey: master });
    const ids = await Promise.all([
      cipher.seal({ user_id: 'ann', conversation_id: 'c1', timestamp: T }, 'x'),
      cipher.seal({ user_id: 'ann', conversation_id: 'c1', timestamp: T + 40 * 86_400_000 }, 'x'),
      cipher.seal({ user_id: 'bob', conversation_id: 'c1', timestamp: T }, 'x'),
      cipher.seal({ user_id: 'ann', conversation_id: 'c2', timestamp: T }, 'x'),
    ]);
    assert.equal(new Set(ids.map((s) => s.split('|')[1])).size, 4);
    assert.deepEqual(await cipher.open('plain old text'), { ok: true, text: 'plain old text' });
  });
  it("given the owner's keys destroyed, then their text is erased, for a cipher that forgets at once and for one whose cache ages out", async () => {
    const store = open();
    const here = createContentCipher({ store, masterKey: master });
    const there = createContentCipher({ store, masterKey: master, ttlMs: 200 });
    const sealed = await here.seal({ user_id: 'eve', conversation_id: 'c1', timestamp: T }, 'secret');
    const kept = await here.seal({ user_id: 'fox', conversation_id: 'c1', timestamp: T }, 'still here');
    assert.equal((await there.open(sealed)).ok, true, 'cached there');
    await store.destroyOwner('eve');
    here.forget('eve');
    assert.deepEqual(await here.open(sealed), { ok: false, reason: 'erased' });
    assert.deepEqual(await there.open(sealed), { ok: true, text: 'secret' }, 'a process that missed the news opens it until its cache ages out');
    await sleep(250);
    assert.deepEqual(await there.open(sealed), { ok: false, reason: 'erased' });
    assert.deepEqual(await there.open(kept), { ok: true, text: 'still here' });
  });
  it('given a key that is not in the store (lost, not destroyed), then missing; given another master key or tampered bytes, then an error, never wrong text', async () => {
    const sealed = await createContentCipher({ store: open(), masterKey: master }).seal({ user_id: 'ann', conversation_id: 'c1', timestamp: T }, 'hello');
    assert.deepEqual(await createContentCipher({ store: open(), masterKey: master }).open(sealed), { ok: false, reason: 'missing' });
    const store = open();
    const cipher = createContentCipher({ store, masterKey: master, ttlMs: 0 });
    const mine = await cipher.seal({ user_id: 'ann', conversation_id: 'c1', timestamp: T }, 'hello');
    await assert.rejects(createContentCipher({ store, masterKey: randomBytes(32) }).open(mine));
    const flipped = `${mine.slice(0, -3)}${mine.at(-3) === 'A' ? 'B' : 'A'}${mine.slice(-2)}`;
    await assert.rejects(cipher.open(flipped));
  });
});

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { PushRegistry, PushTarget } from '../../ports/push.ts';

const T = 1_800_000_000_000;

export const fcm = (user_id: string, device_id: string, token: string, created_at = T): PushTarget => ({
  user_id,
  device_id,
  platform: 'fcm',
  token,
  created_at,
});
export const apns = (user_id: string, device_id: string, token: string, created_at = T): PushTarget => ({
  user_id,
  device_id,
  platform: 'apns',
  token,
  created_at,
});
export const webpush = (user_id: string, device_id: string, endpoint: string, created_at = T): PushTarget => ({
  user_id,
  device_id,
  platform: 'webpush',
  created_at,
  subscription: { endpoint, expirationTime: null, keys: { p256dh: `B${'p'.repeat(86)}`, auth: 'a'.repeat(22) } },
});

/**
 * The push-registry contract: the embedded SQLite registry and the cluster's Redis registry run it
 * unchanged. Each test uses fresh user ids and tokens, so one registry serves the whole suite.
 */
export const pushRegistryContract = (name: string, open: () => Promise<{ registry: PushRegistry; close(): Promise<void> }>) => {
  describe(`push registry contract: ${name}`, () => {
    let registry: PushRegistry;
    let close: () => Promise<void>;
    before(async () => {
      ({ registry, close } = await open());
    });
    after(async () => {
      await close();
    });
    const id = (what: string) => `${what}-${randomUUID()}`;

    it('given a registration of each platform, then get and targetsOf give it back whole; an unknown device gives null', async () => {
      const u = id('u');
      const targets = [fcm(u, 'a-phone', id('fcm')), apns(u, 'b-ipad', 'ab'.repeat(32)), webpush(u, 'c-browser', `https://push.example.com/${id('ep')}`)];
      for (const t of targets) await registry.register(t);
      for (const t of targets) assert.deepEqual(await registry.get(u, t.device_id), t);
      assert.deepEqual(await registry.targetsOf([u]), targets, 'ordered by device id');
      assert.equal(await registry.get(u, 'nope'), null);
      assert.equal(await registry.get(id('nobody'), 'a-phone'), null);
      assert.deepEqual(await registry.targetsOf([]), []);
      assert.deepEqual(await registry.targetsOf([id('nobody')]), []);
    });

    it('given several users, then targetsOf gives their targets in the order of the users asked for, devices by byte order', async () => {
      const [a, b, c] = [id('a'), id('b'), id('c')];
      await registry.register(fcm(a, 'phone', id('t')));
      await registry.register(fcm(b, 'Zeta', id('t')));
      await registry.register(fcm(b, 'alpha', id('t')));
      await registry.register(fcm(b, 'Alpha', id('t')));
      const found = await registry.targetsOf([b, c, a]);
      assert.deepEqual(
        found.map((t) => `${t.user_id === a ? 'a' : 'b'}/${t.device_id}`),
        ['b/Alpha', 'b/Zeta', 'b/alpha', 'a/phone'],
      );
    });

    it('given a second registration of a device, then it replaces the first, and the old token is free for another device', async () => {
      const u = id('u');
      const [oldToken, other] = [id('old'), id('other')];
      await registry.register(fcm(u, 'phone', oldToken, T));
      const replaced = apns(u, 'phone', 'cd'.repeat(32), T + 1);
      await registry.register(replaced);
      assert.deepEqual(await registry.targetsOf([u]), [replaced]);
      // The old token, registered elsewhere, must not take the replaced device's new registration with it.
      await registry.register(fcm(other, 'tablet', oldToken));
      assert.deepEqual(await registry.get(u, 'phone'), replaced);
      assert.deepEqual(await registry.get(other, 'tablet'), fcm(other, 'tablet', oldToken));
    });

    it('given a token another account registered (an app signed in again as someone else), then it moves to the new account', async () => {
      const [wes, xia] = [id('wes'), id('xia')];
      const token = id('install');
      await registry.register(fcm(wes, 'tablet', token));
      await registry.register(fcm(wes, 'phone', id('keep')));
      await registry.register(fcm(xia, 'tablet', token));
      assert.equal(await registry.get(wes, 'tablet'), null);
      assert.deepEqual(
        (await registry.targetsOf([wes])).map((t) => t.device_id),
        ['phone'],
        'the other device keeps its own',
      );
      assert.deepEqual(await registry.get(xia, 'tablet'), fcm(xia, 'tablet', token));
      // Also between devices of one user, and for a Web Push endpoint.
      const endpoint = `https://push.example.com/${id('ep')}`;
      await registry.register(webpush(xia, 'firefox', endpoint));
      await registry.register(webpush(xia, 'firefox-2', endpoint));
      assert.equal(await registry.get(xia, 'firefox'), null);
      assert.equal((await registry.get(xia, 'firefox-2'))?.platform, 'webpush');
    });

    it('given the same token on another platform, then both registrations stand (a token names an install on one service)', async () => {
      const [u, v] = [id('u'), id('v')];
      const token = 'ef'.repeat(32);
      await registry.register(apns(u, 'phone', token));
      await registry.register(fcm(v, 'phone', token));
      assert.equal((await registry.get(u, 'phone'))?.platform, 'apns');
      assert.equal((await registry.get(v, 'phone'))?.platform, 'fcm');
    });

    it('given unregister, then it answers whether something was removed, touches no other device, and frees the token', async () => {
      const u = id('u');
      const token = id('t');
      await registry.register(fcm(u, 'phone', token));
      await registry.register(fcm(u, 'laptop', id('t')));
      assert.equal(await registry.unregister(u, 'phone'), true);
      assert.equal(await registry.unregister(u, 'phone'), false);
      assert.equal(await registry.unregister(id('nobody'), 'phone'), false);
      assert.equal(await registry.get(u, 'phone'), null);
      assert.deepEqual(
        (await registry.targetsOf([u])).map((t) => t.device_id),
        ['laptop'],
      );
      const v = id('v');
      await registry.register(fcm(v, 'phone', token));
      assert.equal((await registry.get(v, 'phone'))?.platform, 'fcm');
    });

    it('given invalidate, then only that exact registration goes; a device that registered another token meanwhile keeps it', async () => {
      const u = id('u');
      const stale = fcm(u, 'phone', id('stale'));
      await registry.register(stale);
      const freshToken = id('fresh');
      const fresh = fcm(u, 'phone', freshToken, T + 5);
      await registry.register(fresh);
      await registry.invalidate(stale);
      assert.deepEqual(await registry.get(u, 'phone'), fresh, 're-registered meanwhile: kept');
      await registry.invalidate(apns(u, 'phone', freshToken));
      assert.deepEqual(await registry.get(u, 'phone'), fresh, 'another platform is another target');
      await registry.invalidate(fresh);
      assert.equal(await registry.get(u, 'phone'), null);
      await registry.invalidate(fresh); // already gone: nothing happens
      // A token that moved to another account is not removed from it by the old account's invalidation.
      const [a, b] = [id('a'), id('b')];
      const moved = id('moved');
      await registry.register(fcm(a, 'tablet', moved));
      await registry.register(fcm(b, 'tablet', moved));
      await registry.invalidate(fcm(a, 'tablet', moved));
      assert.deepEqual(await registry.get(b, 'tablet'), fcm(b, 'tablet', moved));
      // And a removed registration's token can be registered again.
      const e = `https://push.example.com/${id('ep')}`;
      await registry.register(webpush(a, 'browser', e));
      await registry.invalidate(webpush(a, 'browser', e));
      assert.equal(await registry.get(a, 'browser'), null);
      await registry.register(webpush(b, 'browser', e));
      assert.equal((await registry.get(b, 'browser'))?.platform, 'webpush');
    });

    it('given user and device ids with ":" in them, then they never mix', async () => {
      const base = id('x');
      await registry.register(fcm(`${base}:y`, 'z', id('t1')));
      await registry.register(fcm(base, 'y:z', id('t2')));
      assert.deepEqual(
        (await registry.targetsOf([`${base}:y`])).map((t) => t.device_id),
        ['z'],
      );
      assert.deepEqual(
        (await registry.targetsOf([base])).map((t) => t.device_id),
        ['y:z'],
      );
      assert.equal(await registry.unregister(base, 'y:z'), true);
      assert.equal((await registry.get(`${base}:y`, 'z'))?.platform, 'fcm');
    });

    it('given concurrent registrations of one token by many devices, then exactly one device holds it', async () => {
      const token = id('race');
      const users = Array.from({ length: 20 }, (_, i) => id(`r${i}`));
      await Promise.all(users.map((u) => registry.register(fcm(u, 'phone', token))));
      const holders = await registry.targetsOf(users);
      assert.equal(holders.length, 1, `holders: ${holders.map((t) => t.user_id).join(', ')}`);
    });
  });
};

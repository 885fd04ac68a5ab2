import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DirectoryStore } from '../../ports/read-models.ts';
import { directoryProjector } from '../../projections/directory/projector.ts';
import { requireEngines } from '../support/engines.ts';
import { projectionSpec, type Backend } from '../support/projection-spec.ts';
import { redisReadModels, sqliteReadModels, storeOf } from '../support/read-model-backends.ts';
import { added, adminGranted, adminRevoked, created, read, removed, renamed, sent, T0, uid } from '../support/events.ts';

const env = await requireEngines('redis');

const backends: Backend<DirectoryStore>[] = [
  { name: 'sqlite', open: () => sqliteReadModels().then(storeOf('directory')) },
  { name: 'redis', open: () => redisReadModels(env).then(storeOf('directory')) },
];

const sorted = (ids: string[]) => [...ids].sort();
/** What the directory says of one conversation and its people, in a comparable shape. */
const view = async (directory: DirectoryStore, conversationId: string, users: string[]) => {
  const info = await directory.get(conversationId);
  return {
    info: info && { ...info, members: sorted(info.members) },
    members: sorted(await directory.members(conversationId)),
    of: Object.fromEntries(await Promise.all(users.map(async (u) => [u, (await directory.conversationsOf(u)).includes(conversationId)] as const))),
  };
};

for (const backend of backends) {
  describe(`directory projection specs: ${backend.name}`, () => {
    const given = projectionSpec(directoryProjector, backend.open);
    const people = () => ({ g: uid('g'), a: uid('alice'), b: uid('bob'), c: uid('carol'), d: uid('dave') });

    it('given a group created by alice with bob, then the directory holds it with both as members, and each has it among their conversations', async () => {
      const { g, a, b, c } = people();
      await given([created(g, [a, b], { title: 'Climbing', by: a, at: T0 + 7 })]).then(async (directory) => {
        assert.deepEqual(await view(directory, g, [a, b, c]), {
          info: { conversation_id: g, kind: 'group', title: 'Climbing', created_by: a, members: sorted([a, b]), admins: [a], retention_days: null },
          members: sorted([a, b]),
          of: { [a]: true, [b]: true, [c]: false },
        });
      });
    });

    it('given a direct conversation, then it is stored with its kind and no title', async () => {
      const { g, a, b } = people();
      await given([created(g, [a, b], { kind: 'direct', by: a })]).then(async (directory) => {
        assert.deepEqual(await directory.get(g), {
          conversation_id: g,
          kind: 'direct',
          title: null,
          created_by: a,
          members: [a, b].sort(),
          admins: [],
          retention_days: null,
        });
      });
    });

    it('given a group, when carol and dave are added, then they are members and have it among their conversations', async () => {
      const { g, a, b, c, d } = people();
      await given([created(g, [a, b])])
        .when([added(g, [c, d], { by: a })])
        .then(async (directory) => {
          const seen = await view(directory, g, [a, b, c, d]);
          assert.deepEqual(seen.members, sorted([a, b, c, d]));
          assert.deepEqual(seen.info?.members, sorted([a, b, c, d]));
          assert.deepEqual(seen.of, { [a]: true, [b]: true, [c]: true, [d]: true });
        });
    });

    it('given a group, when bob is removed, then he is no member and no longer has it, while the conversation itself stays', async () => {
      const { g, a, b, c } = people();
      await given([created(g, [a, b, c]), sent(g, 1, b)])
        .when([removed(g, b, { by: a })])
        .then(async (directory) => {
          const seen = await view(directory, g, [a, b, c]);
          assert.deepEqual(seen.members, sorted([a, c]));
          assert.deepEqual(seen.info?.members, sorted([a, c]));
          assert.deepEqual(seen.of, { [a]: true, [b]: false, [c]: true });
        });
    });

    it('given bob removed, when he is added back, then he is a member again, once', async () => {
      const { g, a, b } = people();
      await given([created(g, [a, b]), removed(g, b)])
        .when([added(g, [b], { by: a })])
        .then(async (directory) => {
          assert.deepEqual(await directory.members(g), sorted([a, b]));
          assert.deepEqual(await directory.conversationsOf(b), [g]);
        });
    });

    it('given a group, when bob is made admin and alice steps down, then bob is its admin; when bob leaves, he is no longer listed as one', async () => {
      const { g, a, b, c } = people();
      await given([created(g, [a, b, c], { by: a })])
        .when([adminGranted(g, b, a), adminRevoked(g, a, a)])
        .then(async (directory) => {
          assert.deepEqual((await directory.get(g))?.admins, [b]);
        });
      const { g: h, a: x, b: y } = people();
      await given([created(h, [x, y], { by: x }), adminGranted(h, y, x)])
        .when([removed(h, y)])
        .then(async (directory) => {
          assert.deepEqual((await directory.get(h))?.admins, [x], 'only active members are admins');
        });
    });

    it('given a group, when it is renamed twice, then it has the last title', async () => {
      const { g, a } = people();
      await given([created(g, [a])])
        .when([renamed(g, 'First', a), renamed(g, 'Second', a)])
        .then(async (directory) => {
          assert.equal((await directory.get(g))?.title, 'Second');
        });
    });

    it('given messages and receipts only, then nothing but the conversation and its members is written', async () => {
      const { g, a, b } = people();
      const other = uid('g');
      await given([created(g, [a, b]), sent(other, 1, a), read(other, b, 1)]).then(async (directory) => {
        assert.equal(await directory.get(other), null);
        assert.deepEqual(await directory.members(other), []);
        assert.deepEqual(await directory.conversationsOf(a), [g]);
      });
    });

    it('given additions and removals delivered twice in one batch, then the members are as after one delivery', async () => {
      const { g, a, b, c, d } = people();
      await given([created(g, [a, b])])
        .when([added(g, [c, d]), removed(g, c), removed(g, b), added(g, [b])], { times: 2 })
        .then(async (directory) => {
          assert.deepEqual((await view(directory, g, [a, b, c, d])).of, { [a]: true, [b]: true, [c]: false, [d]: true });
          assert.deepEqual(await directory.members(g), sorted([a, b, d]));
        });
    });

    it('given a story of additions and removals, then redelivering it whole, from any event or one event per batch changes nothing', async () => {
      const { g, a, b, c, d } = people();
      const dm = uid('dm');
      const story = [
        created(g, [a, b, c]),
        created(dm, [a, b], { kind: 'direct' }),
        added(g, [d]),
        adminGranted(g, d, a),
        renamed(g, 'New name', a),
        removed(g, b),
        sent(g, 1, a),
        removed(g, c),
        added(g, [b]),
        read(g, d, 1),
        renamed(g, 'Newer name', d),
        adminRevoked(g, a, a),
      ];
      await given(story).thenReplaysChangeNothing(
        async (directory) => Promise.all([view(directory, g, [a, b, c, d]), view(directory, dm, [a, b, c, d])]),
        ([group, direct]) => {
          assert.deepEqual(group.members, sorted([a, b, d]));
          assert.deepEqual([group.info?.title, group.info?.admins], ['Newer name', [d]]);
          assert.deepEqual(direct.members, sorted([a, b]));
        },
      );
    });
  });
}

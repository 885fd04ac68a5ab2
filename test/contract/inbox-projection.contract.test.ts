import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { InboxStore } from '../../ports/read-models.ts';
import { inboxProjector, PREVIEW_LENGTH } from '../../projections/inbox/projector.ts';
import { requireEngines } from '../support/engines.ts';
import { projectionSpec, type Backend } from '../support/projection-spec.ts';
import { redisReadModels, sqliteReadModels, storeOf } from '../support/read-model-backends.ts';
import { added, created, deleted, edited, muted, reacted, read, removed, renamed, sent, unmuted, unreacted, T0, uid } from '../support/events.ts';

const env = await requireEngines('redis');

// Redis keeps a small group's inbox in per-user sorted sets and a big one's at read time: the
// default and pull-only modes both run, with groups of every size.
const backends: Backend<InboxStore>[] = [
  { name: 'sqlite', open: () => sqliteReadModels().then(storeOf('inbox')) },
  { name: 'redis', open: () => redisReadModels(env).then(storeOf('inbox')) },
  { name: 'redis, pull mode', open: () => redisReadModels(env, { inboxFanoutMaxMembers: 0 }).then(storeOf('inbox')) },
];

const listOf = async (inbox: InboxStore, user: string) => (await inbox.list(user, { limit: 100 })).items;
const entryOf = async (inbox: InboxStore, user: string, conversationId: string) =>
  (await listOf(inbox, user)).find((e) => e.conversation_id === conversationId);
/** Unread count per user in one conversation; `undefined` when it is not in the user's inbox. */
const unreadIn = async (inbox: InboxStore, conversationId: string, users: string[]) =>
  Object.fromEntries(await Promise.all(users.map(async (u) => [u, (await entryOf(inbox, u, conversationId))?.unread_count] as const)));

for (const backend of backends) {
  describe(`inbox projection specs: ${backend.name}`, () => {
    const given = projectionSpec(inboxProjector, backend.open);
    const people = () => ({ g: uid('g'), a: uid('alice'), b: uid('bob'), c: uid('carol'), d: uid('dave') });

    it('given a group and three messages from alice, then each member has last_seq − read_seq unread and alice, who sent them, none', async () => {
      const { g, a, b, c } = people();
      await given([created(g, [a, b, c]), sent(g, 1, a), sent(g, 2, a), sent(g, 3, a)]).then(async (inbox, log) => {
        assert.deepEqual(await unreadIn(inbox, g, [a, b, c]), { [a]: 0, [b]: 3, [c]: 3 });
        assert.deepEqual(await entryOf(inbox, b, g), {
          conversation_id: g,
          kind: 'group',
          title: 'Team',
          members_count: 3,
          unread_count: 3,
          unread_mentions: 0,
          muted: false,
          muted_until: null,
          last_message: { message_id: `m-3-${g}`, seq: 3, sender_id: a, preview: 'message 3', timestamp: T0 + 3 },
          last_activity: T0 + 3,
          last_position: log.at(-1)!.position,
        });
      });
    });

    it('given three messages, when bob reads up to 2, then bob has 1 unread and carol still 3', async () => {
      const { g, a, b, c } = people();
      await given([created(g, [a, b, c]), sent(g, 1, a), sent(g, 2, a), sent(g, 3, a)])
        .when([read(g, b, 2)])
        .then(async (inbox) => {
          assert.deepEqual(await unreadIn(inbox, g, [a, b, c]), { [a]: 0, [b]: 1, [c]: 3 });
        });
    });

    it('given three unread messages, when bob sends one, then sending counts as reading: bob has none unread, alice one', async () => {
      const { g, a, b } = people();
      await given([created(g, [a, b]), sent(g, 1, a), sent(g, 2, a), sent(g, 3, a)])
        .when([sent(g, 4, b)])
        .then(async (inbox) => {
          assert.deepEqual(await unreadIn(inbox, g, [a, b]), { [a]: 1, [b]: 0 });
        });
    });

    it('given four messages, when dave is added, then he starts with them read, and counts only what comes after', async () => {
      const { g, a, b, d } = people();
      const story = [created(g, [a, b]), sent(g, 1, a), sent(g, 2, a), sent(g, 3, b), sent(g, 4, a)];
      await given(story)
        .when([added(g, [d], { by: a, at: T0 + 10 })])
        .then(async (inbox) => {
          assert.deepEqual(await unreadIn(inbox, g, [a, b, d]), { [a]: 0, [b]: 1, [d]: 0 });
          assert.equal((await entryOf(inbox, a, g))?.members_count, 3);
        });
      const { g: h, a: x, b: y, d: z } = people();
      await given([created(h, [x, y]), sent(h, 1, x), sent(h, 2, x)])
        .when([added(h, [z]), sent(h, 3, y)])
        .then(async (inbox) => {
          assert.deepEqual(await unreadIn(inbox, h, [x, y, z]), { [x]: 1, [y]: 0, [z]: 1 });
        });
    });

    it('given the messages and the join in one batch, then the late joiner still starts with the earlier messages read', async () => {
      const { g, a, b, d } = people();
      await given([created(g, [a, b]), sent(g, 1, a), sent(g, 2, a), sent(g, 3, a), added(g, [d]), sent(g, 4, b)]).then(async (inbox) => {
        assert.deepEqual(await unreadIn(inbox, g, [a, b, d]), { [a]: 1, [b]: 0, [d]: 1 });
      });
    });

    it("given a group with a message, when bob leaves, then it is gone from bob's inbox and his changes, and the others count one member less", async () => {
      const { g, a, b, c } = people();
      await given([created(g, [a, b, c]), sent(g, 1, a)])
        .when([removed(g, b)])
        .then(async (inbox) => {
          assert.deepEqual(await listOf(inbox, b), []);
          assert.deepEqual(await inbox.changedSince(b, 0), []);
          assert.equal((await entryOf(inbox, a, g))?.members_count, 2);
          assert.equal((await entryOf(inbox, c, g))?.unread_count, 1);
        });
    });

    it('given bob removed and added back in one batch between messages, then he counts only the messages after his return', async () => {
      const { g, a, b } = people();
      await given([created(g, [a, b]), sent(g, 1, a), removed(g, b, { by: a }), sent(g, 2, a), added(g, [b], { by: a }), sent(g, 3, a), sent(g, 4, a)]).then(
        async (inbox) => {
          assert.deepEqual(await unreadIn(inbox, g, [a, b]), { [a]: 0, [b]: 2 });
          assert.equal((await entryOf(inbox, a, g))?.members_count, 2);
        },
      );
    });

    it('given bob read up to 3, when an older read arrives (alone or in a batch with a newer one), then his watermark does not move back', async () => {
      const { g, a, b } = people();
      const story = [created(g, [a, b]), ...[1, 2, 3, 4, 5].map((seq) => sent(g, seq, a)), read(g, b, 3)];
      await given(story)
        .when([read(g, b, 1)])
        .then(async (inbox) => {
          assert.equal((await entryOf(inbox, b, g))?.unread_count, 2);
        });
      const { g: h, a: x, b: y } = people();
      await given([created(h, [x, y]), ...[1, 2, 3, 4, 5].map((seq) => sent(h, seq, x))])
        .when([read(h, y, 4), read(h, y, 2)])
        .then(async (inbox) => {
          assert.equal((await entryOf(inbox, y, h))?.unread_count, 1);
        });
    });

    it('given a message batch delivered twice, then nothing changes: unread counts, last message and position stay', async () => {
      const { g, a, b } = people();
      await given([created(g, [a, b]), sent(g, 1, a)])
        .when([sent(g, 2, a), sent(g, 3, b), read(g, a, 2), sent(g, 4, a)], { times: 2 })
        .then(async (inbox, log) => {
          assert.deepEqual(await unreadIn(inbox, g, [a, b]), { [a]: 0, [b]: 1 });
          const entry = await entryOf(inbox, b, g);
          assert.equal(entry?.last_message?.seq, 4);
          assert.equal(entry?.last_position, log.at(-1)!.position);
        });
    });

    it('given alice mentions bob, carol and herself, then bob and carol have an unread mention until they read past it, and alice none', async () => {
      const { g, a, b, c } = people();
      await given([created(g, [a, b, c]), sent(g, 1, a, { mentions: [b, c, a] }), sent(g, 2, a)])
        .when([read(g, b, 1)])
        .then(async (inbox) => {
          const mentions = await Promise.all([a, b, c].map(async (u) => (await entryOf(inbox, u, g))?.unread_mentions));
          assert.deepEqual(mentions, [0, 0, 1]);
          assert.deepEqual(await unreadIn(inbox, g, [a, b, c]), { [a]: 0, [b]: 1, [c]: 2 });
        });
    });

    it('given two messages mentioning bob, when the first is deleted, then its mention is gone and the other stays', async () => {
      const { g, a, b } = people();
      await given([created(g, [a, b]), sent(g, 1, a, { mentions: [b] }), sent(g, 2, a, { mentions: [b] })])
        .when([deleted(g, 1, a)])
        .then(async (inbox) => {
          const entry = await entryOf(inbox, b, g);
          assert.equal(entry?.unread_mentions, 1);
          assert.equal(entry?.unread_count, 2, 'a delete does not change the unread count');
        });
    });

    it('given two messages, when both are edited, then the last message shows its edit, the older edit changes nothing listed, and neither moves the conversation up', async () => {
      const { g, a, b } = people();
      await given([created(g, [a, b]), sent(g, 1, a), sent(g, 2, a)])
        .when([edited(g, 2, a, 'two, fixed'), edited(g, 1, a, 'one, fixed')])
        .then(async (inbox, log) => {
          const entry = await entryOf(inbox, b, g);
          assert.deepEqual(entry?.last_message, {
            message_id: `m-2-${g}`,
            seq: 2,
            sender_id: a,
            preview: 'two, fixed',
            timestamp: T0 + 2,
            edited: true,
            deleted: false,
          });
          assert.equal(entry?.last_activity, T0 + 2);
          assert.equal(entry?.last_position, log[2]!.position);
          assert.equal(entry?.unread_count, 2);
          assert.deepEqual(await inbox.changedSince(b, log[2]!.position), [g], 'sync must look at an edited conversation');
          assert.deepEqual(await inbox.changedSince(b, log.at(-1)!.position), []);
        });
    });

    it('given the last message deleted, then its preview is blank and marked deleted, and a later edit of it changes nothing', async () => {
      const { g, a, b } = people();
      await given([created(g, [a, b]), sent(g, 1, a), sent(g, 2, a, { content: 'oops' })])
        .when([deleted(g, 2, a), edited(g, 2, a, 'too late')])
        .then(async (inbox) => {
          assert.deepEqual((await entryOf(inbox, b, g))?.last_message, {
            message_id: `m-2-${g}`,
            seq: 2,
            sender_id: a,
            preview: '',
            timestamp: T0 + 2,
            edited: false,
            deleted: true,
          });
        });
    });

    it('given a message edited in the same batch that sent it, then the preview shows the edit', async () => {
      const { g, a, b } = people();
      await given([created(g, [a, b]), sent(g, 1, a, { content: 'tpyo' }), edited(g, 1, a, 'typo'), read(g, b, 1)]).then(async (inbox) => {
        const entry = await entryOf(inbox, b, g);
        assert.equal(entry?.last_message?.preview, 'typo');
        assert.equal(entry?.unread_count, 0);
      });
    });

    it('given messages, when a reaction comes, then the conversation changed for sync, and neither unread counts nor its place move', async () => {
      const { g, a, b } = people();
      await given([created(g, [a, b]), sent(g, 1, a), sent(g, 2, b)])
        .when([reacted(g, 1, b, '👍')])
        .then(async (inbox, log) => {
          assert.deepEqual(await inbox.changedSince(a, log[2]!.position), [g]);
          assert.deepEqual(await unreadIn(inbox, g, [a, b]), { [a]: 1, [b]: 0 });
          const entry = await entryOf(inbox, a, g);
          assert.equal(entry?.last_activity, T0 + 2);
          assert.equal(entry?.last_message?.seq, 2);
        });
    });

    it("given a group, when it is renamed, then every member's inbox shows the new title", async () => {
      const { g, a, b } = people();
      await given([created(g, [a, b]), sent(g, 1, a)])
        .when([renamed(g, 'Climbing', a), renamed(g, 'Climbing club', b)])
        .then(async (inbox) => {
          assert.deepEqual(await Promise.all([a, b].map(async (u) => (await entryOf(inbox, u, g))?.title)), ['Climbing club', 'Climbing club']);
        });
    });

    it("given bob mutes the group, then his entry says so (until when, if he said) and the others' do not; when he unmutes, it does not", async () => {
      const { g, a, b, c } = people();
      // The list says whether a mute holds now: an end in the future.
      const until = Date.now() + 3_600_000;
      await given([created(g, [a, b, c])])
        .when([muted(b, g), muted(c, g, until)])
        .then(async (inbox) => {
          const mutes = await Promise.all(
            [a, b, c].map(async (u) => {
              const e = await entryOf(inbox, u, g);
              return [e?.muted, e?.muted_until];
            }),
          );
          assert.deepEqual(mutes, [
            [false, null],
            [true, null],
            [true, until],
          ]);
          assert.deepEqual([...(await inbox.mutedAmong(g, [a, b, c], until - 1))].sort(), [b, c].sort());
          assert.deepEqual([...(await inbox.mutedAmong(g, [a, b, c], until + 1))], [b], 'a mute with an end is over after it');
        });
      const { g: h, b: y } = people();
      await given([created(h, [y]), muted(y, h)])
        .when([unmuted(y, h)])
        .then(async (inbox) => {
          assert.equal((await entryOf(inbox, y, h))?.muted, false);
          assert.deepEqual([...(await inbox.mutedAmong(h, [y], T0))], []);
        });
    });

    it('given a story of joins, leaves, messages, mentions, edits, deletes, reactions and reads, then redelivering it whole, from any event or one event per batch changes nothing', async () => {
      const { g, a, b, c, d } = people();
      const dm = uid('dm');
      const story = [
        created(g, [a, b, c]),
        created(dm, [a, b], { kind: 'direct' }),
        sent(g, 1, a),
        sent(g, 2, b, { mentions: [c] }),
        read(g, c, 1),
        sent(dm, 1, b),
        added(g, [d], { by: a }),
        sent(g, 3, c, { mentions: [a, d] }),
        removed(g, b),
        sent(g, 4, a),
        edited(g, 4, a, 'four, edited'),
        read(dm, a, 1),
        read(g, d, 4),
        reacted(g, 4, c, '👍'),
        added(g, [b], { by: a }),
        sent(g, 5, a, { mentions: [b] }),
        deleted(g, 3, c),
        unreacted(g, 4, c, '👍'),
        edited(dm, 1, b, 'one, edited'),
        renamed(g, 'Renamed', a),
        muted(c, g),
        renamed(g, 'Renamed again', c),
        unmuted(c, g),
        muted(d, g, Date.now() + 86_400_000),
      ];
      await given(story).thenReplaysChangeNothing(
        async (inbox) => Promise.all([a, b, c, d].map((u) => listOf(inbox, u))),
        (lists) => {
          const of = (user: number, id: string) => lists[user]!.find((e) => e.conversation_id === id);
          assert.deepEqual(
            [0, 1, 2, 3].map((u) => of(u, g)?.unread_count),
            [0, 1, 2, 1],
            'a sent last, b came back after 4, c sent 3, d read 4',
          );
          assert.deepEqual(
            [0, 1, 2, 3].map((u) => of(u, g)?.unread_mentions),
            [0, 1, 0, 0],
            'c read past 2, seq 3 was deleted, b is mentioned in 5',
          );
          assert.deepEqual([of(0, dm)?.unread_count, of(1, dm)?.unread_count], [0, 0]);
          assert.equal(of(0, dm)?.last_message?.preview, 'one, edited');
          assert.deepEqual(
            [0, 1, 2, 3].map((u) => [of(u, g)?.title, of(u, g)?.muted]),
            [
              ['Renamed again', false],
              ['Renamed again', false],
              ['Renamed again', false],
              ['Renamed again', true],
            ],
          );
          assert.equal(lists[0]!.length, 2);
        },
      );
    });

    it('given text, media and ciphertext messages, then the preview is the text cut to its length, [media] or [encrypted message]', async () => {
      const { a, b } = people();
      const [text, media, secret] = [uid('c'), uid('c'), uid('c')];
      const long = 'é'.repeat(PREVIEW_LENGTH + 20);
      await given([
        created(text, [a, b]),
        sent(text, 1, a, { content: long }),
        created(media, [a, b]),
        sent(media, 1, a, { contentType: 'media', content: '{"media_id":"x"}' }),
        created(secret, [a, b]),
        sent(secret, 1, a, { contentType: 'ciphertext', content: 'c2VjcmV0' }),
      ]).then(async (inbox) => {
        const preview = async (id: string) => (await entryOf(inbox, b, id))?.last_message?.preview;
        assert.equal(await preview(text), 'é'.repeat(PREVIEW_LENGTH));
        assert.equal(await preview(media), '[media]');
        assert.equal(await preview(secret), '[encrypted message]');
      });
    });

    it('given conversations with messages at different times, then the inbox lists them by last activity and reports those changed after a position', async () => {
      const { a, b } = people();
      const [first, second, third] = [uid('c'), uid('c'), uid('c')];
      await given([
        created(first, [a, b], { at: T0 }),
        created(second, [a, b], { at: T0 + 1 }),
        created(third, [a], { at: T0 + 2 }),
        sent(second, 1, b, { at: T0 + 50 }),
        sent(first, 1, b, { at: T0 + 60 }),
      ]).then(async (inbox, log) => {
        assert.deepEqual(
          (await listOf(inbox, a)).map((e) => e.conversation_id),
          [first, second, third],
        );
        assert.deepEqual((await inbox.changedSince(a, log[3]!.position)).sort(), [first]);
        assert.deepEqual((await inbox.changedSince(a, 0)).sort(), [first, second].sort());
      });
    });
  });
}

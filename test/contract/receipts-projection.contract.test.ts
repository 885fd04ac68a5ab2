import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ReceiptStore } from '../../ports/read-models.ts';
import { receiptsProjector } from '../../projections/receipts/projector.ts';
import { requireEngines } from '../support/engines.ts';
import { projectionSpec, type Backend } from '../support/projection-spec.ts';
import { redisReadModels, sqliteReadModels, storeOf } from '../support/read-model-backends.ts';
import { added, created, delivered, read, sent, uid } from '../support/events.ts';

const env = await requireEngines('redis');

const backends: Backend<ReceiptStore>[] = [
  { name: 'sqlite', open: () => sqliteReadModels().then(storeOf('receipts')) },
  { name: 'redis', open: () => redisReadModels(env).then(storeOf('receipts')) },
];

/** The conversation's watermarks as `user → [delivered_seq, read_seq]`. */
const watermarks = async (receipts: ReceiptStore, conversationId: string) =>
  Object.fromEntries((await receipts.list(conversationId)).map((r) => [r.user_id, [r.delivered_seq, r.read_seq]]));

for (const backend of backends) {
  describe(`receipts projection specs: ${backend.name}`, () => {
    const given = projectionSpec(receiptsProjector, backend.open);
    const people = () => ({ g: uid('g'), a: uid('alice'), b: uid('bob'), c: uid('carol') });

    it('given a conversation with messages and no receipts, then it has no watermarks', async () => {
      const { g, a, b } = people();
      await given([created(g, [a, b]), sent(g, 1, a), sent(g, 2, a), added(g, [uid('x')])]).then(async (receipts) => {
        assert.deepEqual(await receipts.list(g), []);
      });
    });

    it("given bob's delivery up to 3 and read up to 2, then his watermarks are delivered 3, read 2, per member and per conversation", async () => {
      const { g, a, b, c } = people();
      const other = uid('g');
      await given([sent(g, 1, a), sent(g, 2, a), sent(g, 3, a), delivered(g, b, 3), read(g, b, 2), delivered(g, c, 1), read(other, b, 9)]).then(
        async (receipts) => {
          assert.deepEqual(await watermarks(receipts, g), { [b]: [3, 2], [c]: [1, 0] });
          assert.deepEqual(await watermarks(receipts, other), { [b]: [9, 9] });
        },
      );
    });

    it('given a read up to 4 with no delivery receipt, then reading counts as delivery: delivered 4, read 4', async () => {
      const { g, b } = people();
      await given([read(g, b, 4)]).then(async (receipts) => {
        assert.deepEqual(await watermarks(receipts, g), { [b]: [4, 4] });
      });
    });

    it('given bob read up to 5, when older receipts arrive, then neither watermark moves back', async () => {
      const { g, b } = people();
      await given([delivered(g, b, 6), read(g, b, 5)])
        .when([read(g, b, 3), delivered(g, b, 2)])
        .then(async (receipts) => {
          assert.deepEqual(await watermarks(receipts, g), { [b]: [6, 5] });
        });
    });

    it('given receipts out of order within one batch, then the highest of each wins', async () => {
      const { g, b } = people();
      await given([read(g, b, 5), delivered(g, b, 2), read(g, b, 3), delivered(g, b, 7)]).then(async (receipts) => {
        assert.deepEqual(await watermarks(receipts, g), { [b]: [7, 5] });
      });
    });

    it('given a batch of receipts delivered twice, then the watermarks are as after one delivery', async () => {
      const { g, a, b } = people();
      await given([delivered(g, a, 1)])
        .when([delivered(g, b, 2), read(g, b, 1), read(g, a, 2)], { times: 2 })
        .then(async (receipts) => {
          assert.deepEqual(await watermarks(receipts, g), { [a]: [2, 2], [b]: [2, 1] });
        });
    });

    it('given a story of receipts, then redelivering it whole, from any event or one event per batch changes nothing', async () => {
      const { g, a, b, c } = people();
      const story = [
        created(g, [a, b, c]),
        sent(g, 1, a),
        delivered(g, b, 1),
        sent(g, 2, a),
        delivered(g, c, 2),
        read(g, b, 1),
        sent(g, 3, c),
        read(g, c, 3),
        delivered(g, b, 3),
        read(g, a, 3),
      ];
      await given(story).thenReplaysChangeNothing(
        (receipts) => watermarks(receipts, g),
        (once) => assert.deepEqual(once, { [a]: [3, 3], [b]: [3, 1], [c]: [3, 3] }),
      );
    });
  });
}

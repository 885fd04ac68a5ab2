import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ownerOf } from '../../command-side/ownership.ts';

const conversations = Array.from({ length: 3000 }, (_, i) => `g_${i.toString(36)}`);

describe('conversation ownership by rendezvous hashing', () => {
  it('picks the same owner whatever the order the processes are listed in', () => {
    for (const id of conversations.slice(0, 200)) assert.equal(ownerOf(id, ['a', 'b', 'c']), ownerOf(id, ['c', 'a', 'b']));
  });

  it('spreads conversations evenly over the processes', () => {
    const counts = new Map<string, number>();
    for (const id of conversations) counts.set(ownerOf(id, ['gw0', 'gw1', 'gw2'])!, (counts.get(ownerOf(id, ['gw0', 'gw1', 'gw2'])!) ?? 0) + 1);
    for (const count of counts.values()) assert.ok(count > 850 && count < 1150, `each owns about a third (${[...counts.values()]})`);
  });

  it('moves only the conversations of a process that leaves, and moves none when one joins that it does not win', () => {
    for (const id of conversations) {
      const before = ownerOf(id, ['gw0', 'gw1', 'gw2'])!;
      const after = ownerOf(id, ['gw0', 'gw2'])!;
      if (before !== 'gw1') assert.equal(after, before);
      const joined = ownerOf(id, ['gw0', 'gw1', 'gw2', 'gw3'])!;
      if (joined !== 'gw3') assert.equal(joined, before);
    }
  });

  it('has no owner when no process is live', () => {
    assert.equal(ownerOf('g_1', []), undefined);
  });
});

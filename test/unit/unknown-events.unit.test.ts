import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Recorded } from '../../ports/projector.ts';
import type { DirectoryStore } from '../../ports/read-models.ts';
import { directoryOps } from '../../projections/directory/projector.ts';
import { historyOps } from '../../projections/history/projector.ts';
import { inboxOps } from '../../projections/inbox/projector.ts';
import { receiptOps } from '../../projections/receipts/projector.ts';
import { fanoutReactor } from '../../projections/fanout/reactor.ts';

// During a rolling deploy an old process reads events a newer one wrote. It must skip what it does
// not know, never stop on it: the newer processes project it.
const future = (position: number): Recorded =>
  ({
    type: 'MessagePinned',
    data: { conversation_id: 'c-1', seq: 1, pinned_by: 'alice' },
    stream: 'conversation-c-1',
    revision: position,
    position,
    recordedAt: 0,
  }) as unknown as Recorded;

describe('projectors and reactors given event types from a newer version', () => {
  it("given only unknown events, then every read model's ops are empty", () => {
    const events = [future(1), future(2)];
    for (const ops of [directoryOps, historyOps, inboxOps, receiptOps]) assert.deepEqual(ops(events), []);
  });

  it('given an unknown event, then the fan-out delivers nothing and reads no membership', async () => {
    const delivered: unknown[] = [];
    const directory = {
      members: async () => {
        throw new Error('read');
      },
      get: async () => {
        throw new Error('read');
      },
    } as unknown as DirectoryStore;
    await fanoutReactor(directory, {
      deliver: (users, frame) => {
        delivered.push({ users, frame });
      },
    }).react([future(1)]);
    assert.deepEqual(delivered, []);
  });
});

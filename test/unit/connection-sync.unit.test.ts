import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Connection } from '../../gateway/connection.ts';
import { closeCodes } from '../../contracts/close-codes.ts';
import type { Outbound } from '../../ports/delivery.ts';
import { useSocketPairs } from '../support/socket-pairs.ts';

// While a device's sync is read, its live messages are held (gateway/connection.ts) and released
// after the sync; over `maxHeldFrames` they are dropped, and the device must learn it (a real socket
// pair: the server end wrapped in a Connection, the client end a plain ws client).

const frame = (seq: number): Outbound => ({
  kind: 'message',
  json: JSON.stringify({ type: 'new_message', seq }),
  position: 100 + seq,
  conversation: 'g_1',
  seq,
  isNew: true,
});

describe('a connection holding live frames during a sync', () => {
  const sockets = useSocketPairs();

  const pair = async (maxHeldFrames: number, connectHoldMs = 0) => {
    const { client, socket, closed } = await sockets.open();
    const received: number[] = [];
    client.on('message', (data) => received.push(JSON.parse(String(data)).seq));
    const connection = new Connection(socket, 'u', 'd', { maxBufferBytes: 1 << 20, slowConsumerGraceMs: 5_000, maxHeldFrames, connectHoldMs });
    return { client, connection, received, closed };
  };
  const settle = () => new Promise((resolve) => setTimeout(resolve, 100));
  /** Holds 3 messages, lets go of them, sends a 4th: all 4 must arrive, in order. */
  const heldThenReleased = async (connectHoldMs: number, hold: (c: Connection) => void, release: (c: Connection) => void) => {
    const { client, connection, received } = await pair(10, connectHoldMs);
    hold(connection);
    for (let seq = 1; seq <= 3; seq++) connection.push(frame(seq));
    release(connection);
    connection.push(frame(4));
    await settle();
    assert.deepEqual(received, [1, 2, 3, 4]);
    client.close();
  };

  it('given frames within the limit, when the sync finishes, then those past its cursor are delivered in order', async () => {
    const { client, connection, received } = await pair(10);
    connection.startSync();
    for (let seq = 1; seq <= 5; seq++) connection.push(frame(seq));
    assert.deepEqual(received, []);
    connection.finishSync(102);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(received, [3, 4, 5]);
    client.close();
  });

  it('given more frames than it holds, when the sync finishes, then the socket is closed with resync, for the client to sync again', async () => {
    const { connection, received, closed } = await pair(3);
    connection.startSync();
    for (let seq = 1; seq <= 5; seq++) connection.push(frame(seq));
    connection.finishSync(100);
    assert.equal(await closed, closeCodes.resync);
    assert.deepEqual(received, [], 'no frame is delivered past a dropped one');
    assert.equal(connection.closeReason, 'resync');
  });

  // A reconnecting device's first frame is its sync; in the cluster, the projectors may fan out, after
  // the socket registered, messages appended before it: they must not reach the device before the sync.
  it('given a new socket that holds for its first frame, when that frame is a sync, then held messages the sync covered are not sent again and newer ones follow it', async () => {
    const { client, connection, received } = await pair(10, 60_000);
    for (let seq = 1; seq <= 5; seq++) connection.push(frame(seq));
    await settle();
    assert.deepEqual(received, [], 'nothing goes out before the first frame');
    connection.startSync();
    connection.finishSync(103);
    await settle();
    assert.deepEqual(received, [4, 5]);
    client.close();
  });

  it('given a new socket that holds for its first frame, when that frame is not a sync, then the held messages go out at once, in order', () =>
    heldThenReleased(
      60_000,
      () => {},
      (c) => c.firstFrame(),
    ));

  it('given a new socket that holds for its first frame, when none comes, then the held messages go out when the hold ends', async () => {
    const { client, connection, received } = await pair(10, 300);
    connection.push(frame(1));
    await settle();
    assert.deepEqual(received, []);
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.deepEqual(received, [1]);
    connection.push(frame(2));
    await settle();
    assert.deepEqual(received, [1, 2], 'after the hold, messages go out as they come');
    client.close();
  });

  it('given a sync that failed (refused, or its reads did), when it is abandoned, then what it held goes out live, in order', () =>
    heldThenReleased(
      0,
      (c) => c.startSync(),
      (c) => c.abandonSync(),
    ));

  it('given no hold (the embedded default), then a new socket gets live messages before its first frame', async () => {
    const { client, connection, received } = await pair(10);
    connection.push(frame(1));
    await settle();
    assert.deepEqual(received, [1]);
    client.close();
  });
});

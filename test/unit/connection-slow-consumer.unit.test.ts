import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { Connection, HARD_BUFFER_FACTOR } from '../../gateway/connection.ts';
import { closeCodes } from '../../contracts/close-codes.ts';
import { useSocketPairs } from '../support/socket-pairs.ts';

// A device behind a burst is not a device that does not read (gateway/connection.ts): over the soft
// limit, a socket has a grace period; over the hard limit, or past the grace, it is cut with 4008.
// A real socket pair whose client end stops reading, so that frames queue in the server's buffer.

const SOFT = 64 * 1024;
const GRACE_MS = 60_000;
const chunk = 'x'.repeat(16 * 1024);

describe('a connection whose device falls behind', () => {
  const sockets = useSocketPairs();

  /** A connection whose device has stopped reading. */
  const stalled = async () => {
    const { client, socket, closed } = await sockets.open();
    (client as unknown as { _socket: Socket })._socket.pause();
    const connection = new Connection(socket, 'u', 'd', { maxBufferBytes: SOFT, slowConsumerGraceMs: GRACE_MS, maxHeldFrames: 10 });
    /** Sends until the server has more than `bytes` queued (the kernel's buffers fill first), or the socket is cut. */
    const fillPast = async (bytes: number) => {
      for (let i = 0; i < 100_000 && connection.open && socket.bufferedAmount <= bytes; i++) {
        connection.send(chunk);
        if (i % 64 === 63) await new Promise((resolve) => setImmediate(resolve));
      }
    };
    const resume = () => (client as unknown as { _socket: Socket })._socket.resume();
    return { client, socket, connection, closed, fillPast, resume };
  };

  it('given a backlog over the soft limit within the grace, then sends go on and the socket stays open', async () => {
    const { client, socket, connection, fillPast, resume } = await stalled();
    await fillPast(SOFT * 2);
    assert.ok(socket.bufferedAmount > SOFT, `queued ${socket.bufferedAmount}`);
    assert.equal(connection.open, true);
    assert.equal(connection.cutIfSlow(), false);
    assert.equal(connection.closeReason, undefined);
    resume();
    client.close();
  });

  it('given a backlog over the soft limit past the grace, then the socket is cut as a slow consumer', async () => {
    const { socket, connection, closed, fillPast, resume } = await stalled();
    await fillPast(SOFT * 2);
    assert.equal(connection.cutIfSlow(), false, 'within the grace');
    assert.equal(connection.cutIfSlow(Date.now() + GRACE_MS), true, 'past the grace');
    assert.equal(connection.closeReason, 'slow_consumer');
    assert.ok(socket.bufferedAmount > SOFT);
    resume();
    const code = await closed;
    assert.ok(code === closeCodes.slow_consumer || code === 1006, `close code ${code}`);
  });

  it('given a backlog over the hard limit, then the socket is cut at once, whatever the grace', async () => {
    const { connection, closed, fillPast, resume } = await stalled();
    await fillPast(SOFT * HARD_BUFFER_FACTOR);
    assert.equal(connection.open, true, 'up to the hard limit');
    connection.send(chunk);
    assert.equal(connection.open, false, 'the send past the hard limit closed it');
    assert.equal(connection.closeReason, 'slow_consumer');
    resume();
    const code = await closed;
    assert.ok(code === closeCodes.slow_consumer || code === 1006, `close code ${code}`);
  });

  it('given the backlog drains below the soft limit, then its grace starts again at the next backlog', async () => {
    const { socket, connection, fillPast, resume, client } = await stalled();
    await fillPast(SOFT * 2);
    const firstOver = Date.now();
    assert.equal(connection.cutIfSlow(firstOver), false);
    resume();
    for (let i = 0; i < 200 && socket.bufferedAmount > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(connection.cutIfSlow(firstOver + GRACE_MS / 2), false, 'drained');
    // Over again, later: the grace counts from now, not from the first backlog.
    (client as unknown as { _socket: Socket })._socket.pause();
    await fillPast(SOFT * 2);
    assert.equal(connection.cutIfSlow(firstOver + GRACE_MS - 1), false);
    assert.equal(connection.open, true);
    resume();
    client.close();
  });
});

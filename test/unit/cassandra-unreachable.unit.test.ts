import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import cassandra from 'cassandra-driver';
import { isUnreachable, reportedAs } from '../../adapters/cassandra/unreachable.ts';
import { isNatterError } from '../../contracts/errors.ts';

const { errors, types } = cassandra;

/** Which of cassandra-driver's failures a reader sees as `unavailable` (503, retry) rather than an internal error (500). */
describe('Cassandra failures a reader is told to retry', () => {
  it('reports the pool that is still empty after a restart (a plain Error from the driver) as unavailable, with when to retry', () => {
    // The error the driver threw in CI a few seconds after Cassandra came back (host-connection-pool.js).
    const emptyPool = new Error('No connection available');
    assert.equal(isUnreachable(emptyPool), true);
    const reported = reportedAs('history')(emptyPool);
    assert.ok(isNatterError(reported) && reported.code === 'unavailable' && reported.details?.retry_after_ms === 1_000, String(reported));
  });

  it('reports no host, timeouts, busy connections and an overloaded or bootstrapping coordinator as unavailable', () => {
    assert.equal(isUnreachable(new errors.NoHostAvailableError({})), true);
    assert.equal(isUnreachable(new errors.OperationTimedOutError('timed out', '127.0.0.1:9042')), true);
    assert.equal(isUnreachable(new errors.BusyConnectionError('127.0.0.1:9042', 2048, 1)), true);
    assert.equal(isUnreachable(new errors.ResponseError(types.responseErrorCodes.overloaded, 'overloaded')), true);
    assert.equal(isUnreachable(new errors.ResponseError(types.responseErrorCodes.isBootstrapping, 'bootstrapping')), true);
  });

  it('keeps a refused statement and any other error as they are (a bug shows as one)', () => {
    const syntax = new errors.ResponseError(types.responseErrorCodes.syntaxError, 'line 1:0 no viable alternative');
    assert.equal(isUnreachable(syntax), false);
    assert.equal(reportedAs('history')(syntax), syntax);
    assert.equal(isUnreachable(new Error('Cannot read properties of undefined')), false);
    assert.equal(isUnreachable(new TypeError('No connection available')), false);
  });
});

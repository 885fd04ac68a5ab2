import cassandra from 'cassandra-driver';
import { unreachable } from '../../contracts/errors.ts';

const { errors, types } = cassandra;
const codes = types.responseErrorCodes;
/** The coordinator answered, but could not do it now: too few replicas, overloaded, starting, timed out. */
const transientCodes = new Set<number>([
  codes.unavailableException,
  codes.overloaded,
  codes.isBootstrapping,
  codes.writeTimeout,
  codes.readTimeout,
  codes.readFailure,
  codes.writeFailure,
]);

/**
 * Right after a node comes back, the driver may take it for up while its connection pool is still
 * empty, and a statement prepared then fails with a plain Error of this message (cassandra-driver's
 * host-connection-pool.js; it has no class of its own). Seen in CI as a 500 on a history read a few
 * seconds after Cassandra restarted.
 */
const EMPTY_POOL = 'No connection available';

/** Cassandra is out of reach or cannot serve right now (a node down, restarting, overloaded), as opposed to refusing a statement. */
export const isUnreachable = (error: unknown): boolean =>
  error instanceof errors.NoHostAvailableError ||
  error instanceof errors.OperationTimedOutError ||
  error instanceof errors.BusyConnectionError ||
  (error instanceof errors.ResponseError && transientCodes.has(error.code)) ||
  (error instanceof Error && error.constructor === Error && error.message === EMPTY_POOL);

/** What a reader sees of it: `unavailable` (503) with a retry hint, not an internal error. Anything else as it is. */
export const reportedAs =
  (what: string) =>
  (error: unknown): unknown =>
    isUnreachable(error) ? unreachable(what) : error;

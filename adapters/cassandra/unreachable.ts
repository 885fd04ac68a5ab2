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

/** Cassandra is out of reach or cannot serve right now (a node down, restarting, overloaded), as opposed to refusing a statement. */
export const isUnreachable = (error: unknown): boolean =>
  error instanceof errors.NoHostAvailableError ||
  error instanceof errors.OperationTimedOutError ||
  error instanceof errors.BusyConnectionError ||
  (error instanceof errors.ResponseError && transientCodes.has(error.code));

/** What a reader sees of it: `unavailable` (503) with a retry hint, not an internal error. Anything else as it is. */
export const reportedAs =
  (what: string) =>
  (error: unknown): unknown =>
    isUnreachable(error) ? unreachable(what) : error;

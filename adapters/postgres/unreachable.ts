import { unreachable } from '../../contracts/errors.ts';

const socketErrors = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/** The server is out of reach (down, restarting, shutting down), as opposed to refusing a statement. */
export const isUnreachable = (error: unknown): boolean => {
  const { code, message } = (error ?? {}) as { code?: string; message?: string };
  return (
    (code !== undefined && (socketErrors.has(code) || code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03')) ||
    /Connection terminated|connection timeout|Client has encountered a connection error/i.test(message ?? '')
  );
};

/**
 * What callers see of a lost server: `unavailable` with a retry hint (a send is retried with the same
 * client_msg_id, which the command side makes idempotent, since a commit whose reply was lost may
 * have happened); any other error as it is.
 */
export const reportedAs =
  (what: string) =>
  (error: unknown): unknown =>
    isUnreachable(error) ? unreachable(what) : error;

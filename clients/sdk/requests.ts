import type { AnyClientFrame, ErrorFrame, RequestFrame } from './wire.ts';

export type SentRequest = RequestFrame & { request_id: string };

/** The server refused an edit, delete or reaction for good (not the author, window closed, deleted…). */
export class NatterRequestError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly frame: SentRequest,
  ) {
    super(`${code}: ${message}`);
    this.name = 'NatterRequestError';
  }
}

type Timer = ReturnType<typeof setTimeout>;
type Pending = { frame: SentRequest; resolve(): void; reject(error: Error): void; attempt: number; timer?: Timer };

/**
 * Edits, deletes and reactions waiting for their `ok`. They are kept in memory only (their promises
 * belong to this page or process), in the order they were made. Whatever was on a socket that
 * dropped may or may not have been applied; resending is safe because deletes and reactions are
 * idempotent on the server and an edit is last-write-wins, so each goes again after the reconnect
 * and its promise settles on the first answer.
 */
export class Requests {
  private readonly pending = new Map<string, Pending>();

  constructor(
    private readonly transmit: (frame: AnyClientFrame) => boolean,
    private readonly retryable: (code: string) => boolean,
    private readonly retryDelay: (attempt: number, error: ErrorFrame) => number,
  ) {}

  /** Sends now when connected, else after the next connect; resolves on `ok`, rejects with a NatterRequestError. */
  add(frame: SentRequest): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.set(frame.request_id, { frame, resolve, reject, attempt: 0 });
      this.transmit(frame);
    });
  }

  /** After a (re)connect, everything not answered and not waiting out a retry delay goes (again), oldest first. */
  resend(): void {
    for (const request of this.pending.values()) if (!request.timer) this.transmit(request.frame);
  }

  /** Settles the request an `ok` answers; false when it is not ours (or a resend's second answer). */
  ok(requestId: string | undefined): boolean {
    const request = requestId === undefined ? undefined : this.pending.get(requestId);
    if (!request) return false;
    this.settle(request);
    request.resolve();
    return true;
  }

  /** Retries or rejects the request an `error` frame answers; false when the error is not about one of ours. */
  refused(error: ErrorFrame): boolean {
    const request = error.request_id === undefined ? undefined : this.pending.get(error.request_id);
    if (!request) return false;
    if (this.retryable(error.code)) {
      const delay = this.retryDelay(request.attempt++, error);
      // If the socket is down when the delay ends, the next connect's `resend` sends it.
      request.timer = setTimeout(() => {
        request.timer = undefined;
        this.transmit(request.frame);
      }, delay);
      return true;
    }
    this.settle(request);
    request.reject(new NatterRequestError(error.code, error.message, request.frame));
    return true;
  }

  rejectAll(reason: string): void {
    for (const request of this.pending.values()) {
      this.settle(request);
      request.reject(new Error(reason));
    }
  }

  get size(): number {
    return this.pending.size;
  }

  private settle(request: Pending): void {
    clearTimeout(request.timer);
    this.pending.delete(request.frame.request_id);
  }
}

/**
 * The one registry of error codes. HTTP answers with `status` and `{"error":{"code","message"}}`;
 * the socket answers with `{"type":"error","code","message","client_msg_id"?}`. The README's error
 * table is checked against this object by a test.
 */
export const errorStatus = {
  invalid_request: 400,
  invalid_frame: 400,
  invalid_json: 400,
  invalid_signature: 400,
  unauthorized: 401,
  not_a_member: 403,
  forbidden: 403,
  edit_window_closed: 403,
  blocked: 403,
  dev_tokens_disabled: 403,
  not_found: 404,
  conversation_not_found: 404,
  message_not_found: 404,
  media_not_found: 404,
  push_target_not_found: 404,
  method_not_allowed: 405,
  version_conflict: 409,
  last_admin: 409,
  erasure_unavailable: 409,
  message_deleted: 410,
  payload_too_large: 413,
  message_too_large: 413,
  unsupported_media_type: 415,
  range_not_satisfiable: 416,
  group_too_large: 422,
  too_many_reactions: 422,
  rate_limited: 429,
  too_many_connections: 429,
  internal: 500,
  unavailable: 503,
} as const;

export type ErrorCode = keyof typeof errorStatus;

export class NatterError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;
  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'NatterError';
    this.code = code;
    this.details = details;
  }
  get status(): number {
    return errorStatus[this.code];
  }
}

export const isNatterError = (error: unknown): error is NatterError => error instanceof NatterError;

/** An engine out of reach (down, restarting, overloaded), as callers see it: `unavailable` with a retry hint. */
export const unreachable = (what: string) => new NatterError('unavailable', `${what} is unreachable; retry`, { retry_after_ms: 1_000 });

/**
 * One error type with a code taxonomy; mapped to HTTP in one place (`httpStatusFor`).
 * Unknown errors are logged and masked by the HTTP edges.
 */
export type ErrorCode =
  | 'invalid_argument'
  | 'malformed_body'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'unauthenticated'
  | 'permission_denied'
  | 'not_found'
  | 'conflict'
  /** Well-formed but invalid fields (the management API's 422 with per-field messages). */
  | 'unprocessable'
  | 'rate_limited'
  | 'quota_exceeded'
  | 'unavailable'
  | 'deadline_exceeded'
  | 'unimplemented'
  | 'internal';

export class TallyError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TallyError';
  }
}

const STATUS: Record<ErrorCode, number> = {
  invalid_argument: 400,
  malformed_body: 400,
  payload_too_large: 413,
  unsupported_media_type: 415,
  unauthenticated: 401,
  permission_denied: 403,
  not_found: 404,
  conflict: 409,
  unprocessable: 422,
  rate_limited: 429,
  quota_exceeded: 429,
  unavailable: 503,
  deadline_exceeded: 504,
  unimplemented: 501,
  internal: 500,
};

export function httpStatusFor(code: ErrorCode): number {
  return STATUS[code];
}

export function isTallyError(e: unknown): e is TallyError {
  return e instanceof TallyError;
}

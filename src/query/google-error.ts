import type { Response } from 'express';
import { httpStatusFor, isTallyError, type ErrorCode } from '../infra/errors.js';

/** Google's canonical status names (google.rpc.Code) for our error codes. */
const STATUS: Record<ErrorCode, string> = {
  invalid_argument: 'INVALID_ARGUMENT',
  malformed_body: 'INVALID_ARGUMENT',
  payload_too_large: 'INVALID_ARGUMENT',
  unsupported_media_type: 'INVALID_ARGUMENT',
  unauthenticated: 'UNAUTHENTICATED',
  permission_denied: 'PERMISSION_DENIED',
  not_found: 'NOT_FOUND',
  conflict: 'ALREADY_EXISTS',
  unprocessable: 'INVALID_ARGUMENT',
  rate_limited: 'RESOURCE_EXHAUSTED',
  quota_exceeded: 'RESOURCE_EXHAUSTED',
  unavailable: 'UNAVAILABLE',
  deadline_exceeded: 'DEADLINE_EXCEEDED',
  unimplemented: 'UNIMPLEMENTED',
  internal: 'INTERNAL',
};

export interface GoogleErrorBody {
  error: { code: number; message: string; status: string };
}

const MASKED = 'Internal error encountered.';

/** Any error -> Google's `{ error: { code, message, status } }`; anything not a TallyError is masked. */
export function toGoogleError(err: unknown): { httpStatus: number; body: GoogleErrorBody; retryAfterSeconds?: number } {
  if (isTallyError(err) && err.code !== 'internal') {
    const httpStatus = httpStatusFor(err.code);
    const retryMs = Number(err.details.retryAfterMs);
    return {
      httpStatus,
      body: { error: { code: httpStatus, message: err.message, status: STATUS[err.code] } },
      retryAfterSeconds: Number.isFinite(retryMs) && retryMs > 0 ? Math.ceil(retryMs / 1000) : undefined,
    };
  }
  // body-parser errors carry their own 4xx status
  const status = (err as { status?: unknown } | null)?.status;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const message = status === 413 ? 'Request payload is too large.' : 'Invalid JSON payload received.';
    return { httpStatus: 400, body: { error: { code: 400, message, status: 'INVALID_ARGUMENT' } } };
  }
  return { httpStatus: 500, body: { error: { code: 500, message: MASKED, status: 'INTERNAL' } } };
}

export function sendGoogleError(res: Response, err: unknown, log?: (err: unknown) => void): void {
  const { httpStatus, body, retryAfterSeconds } = toGoogleError(err);
  if (httpStatus >= 500 && log) log(err);
  if (retryAfterSeconds !== undefined) res.set('Retry-After', String(retryAfterSeconds));
  res.status(httpStatus).json(body);
}

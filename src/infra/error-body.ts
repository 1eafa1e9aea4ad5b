import type { ServerResponse } from 'node:http';
import { httpStatusFor, isTallyError, TallyError, type ErrorCode } from './errors.js';

/** Tally's error body on every route but the GA4 Data API's (which answers in Google's shape). */
export interface ErrorBody {
  error: { code: ErrorCode; reason: string; message: string };
}

/**
 * What an HTTP edge may say about `err`: a TallyError as it is; a body parser's 4xx (Express'
 * `express.json`) as `malformed_body` / `payload_too_large`; anything else masked as `internal`,
 * with `unexpected` set so the caller logs it with its stack.
 */
export function publicError(err: unknown): { error: TallyError; unexpected: boolean } {
  if (isTallyError(err)) return { error: err, unexpected: err.code === 'internal' };
  const status = (err as { status?: unknown } | null)?.status;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return status === 413
      ? { error: new TallyError('payload_too_large', 'the body is too large', { reason: 'payload_too_large' }), unexpected: false }
      : { error: new TallyError('malformed_body', 'the body is not valid JSON', { reason: 'malformed_body' }), unexpected: false };
  }
  return { error: new TallyError('internal', 'internal error'), unexpected: true };
}

export function errorBody(err: TallyError): ErrorBody {
  // an internal error's message may name internals: never sent
  const message = err.code === 'internal' ? 'internal error' : err.message;
  return { error: { code: err.code, reason: err.details.reason ?? err.code, message } };
}

/**
 * The one writer of Tally error bodies: `{ error: { code, reason, message } }` with the code's
 * status (or `status`), and Retry-After on 429 and 503 when the error says when. Returns whether
 * the error was unexpected (masked): the caller logs those with their stack.
 */
export function sendErrorBody(res: ServerResponse, err: unknown, status?: number): { unexpected: boolean } {
  const { error, unexpected } = publicError(err);
  if (res.headersSent) {
    res.destroy();
    return { unexpected };
  }
  const code = status ?? httpStatusFor(error.code);
  const retryAfterMs = Number(error.details.retryAfterMs);
  if ((code === 429 || code === 503) && Number.isFinite(retryAfterMs)) {
    res.setHeader('retry-after', String(Math.max(1, Math.ceil(retryAfterMs / 1000))));
  }
  const data = JSON.stringify(errorBody(error));
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) }).end(data);
  return { unexpected };
}

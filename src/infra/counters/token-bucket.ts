import type { BucketLimit } from './counters.port.js';

/** Tokens after `elapsedMs` of refill at the limit's rate, never above the burst. */
export function refill(tokens: number, elapsedMs: number, limit: BucketLimit): number {
  if (elapsedMs <= 0) return tokens;
  return Math.min(limit.burst, tokens + (elapsedMs * limit.ratePerSecond) / 1000);
}

/** How long until a bucket holding `tokens` has `need`, in whole ms (at least 1). */
export function bucketRetryAfterMs(tokens: number, need: number, limit: BucketLimit): number {
  return Math.max(1, Math.ceil(((need - tokens) * 1000) / limit.ratePerSecond));
}

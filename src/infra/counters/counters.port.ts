/**
 * Quota counters (fixed windows) and rate limits (token buckets). Embedded: in memory. At scale: Redis, shared by every collector.
 */
export interface TakeResult {
  allowed: boolean;
  /** When refused: how long until the request would be allowed, in ms. */
  retryAfterMs: number;
  /** Fixed windows (`take`): the window's count after the take (when refused: as it stands); absent when unknown (Redis failed open). */
  count?: number;
}

/**
 * A fixed window: a length in ms (windows of that length aligned to the epoch), or one window
 * `[start, end)` the caller chose (the quota's calendar month, whose length varies and whose
 * bounds an epoch-aligned length would never match).
 */
export type CounterWindow = number | { start: number; end: number };

/** A token bucket's shape: refilled at `ratePerSecond`, holding at most `burst` tokens. */
export interface BucketLimit {
  ratePerSecond: number;
  burst: number;
}

export interface Counters {
  /**
   * Token bucket (rate limits): a bucket not seen before is full (`burst` tokens) and refills
   * continuously at `ratePerSecond`. Takes `n` when the bucket holds at least `min(n, burst)`
   * tokens, so a request larger than the burst is admitted when the bucket is full (the bucket
   * then owes the difference and refills from below zero); otherwise refuses without taking and
   * says in `retryAfterMs` when enough will be there.
   */
  takeTokens(key: string, n: number, limit: BucketLimit): Promise<TakeResult>;
  /** Tokens in the bucket now (may be below zero after an oversized take), without taking any. */
  peekTokens(key: string, limit: BucketLimit): Promise<number>;
  /**
   * Fixed-window counter: takes `n` from `limit` for the window containing now (a length) or the
   * given window. Refuses (without taking) when the window would exceed the limit.
   */
  take(key: string, n: number, limit: number, window: CounterWindow): Promise<TakeResult>;
  /** Current count of the window containing now (a length), or of the given window. */
  peek(key: string, window: CounterWindow): Promise<number>;
  close(): Promise<void>;
}

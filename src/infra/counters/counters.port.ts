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
   * Fixed-window counter: takes `n` from `limit` for the window containing now.
   * Refuses (without taking) when the window would exceed the limit.
   */
  take(key: string, n: number, limit: number, windowMs: number): Promise<TakeResult>;
  /** Current count of the window containing now. */
  peek(key: string, windowMs: number): Promise<number>;
  close(): Promise<void>;
}

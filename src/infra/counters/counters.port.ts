/**
 * Quota and rate counters. Embedded: in memory. At scale: Redis, shared by every collector.
 */
export interface TakeResult {
  allowed: boolean;
  /** When refused: how long until the request would be allowed, in ms. */
  retryAfterMs: number;
}

export interface Counters {
  /**
   * Fixed-window counter: takes `n` from `limit` for the window containing now.
   * Refuses (without taking) when the window would exceed the limit.
   */
  take(key: string, n: number, limit: number, windowMs: number): Promise<TakeResult>;
  /** Current count of the window containing now. */
  peek(key: string, windowMs: number): Promise<number>;
  close(): Promise<void>;
}

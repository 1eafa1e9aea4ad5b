import type { BucketLimit, CounterWindow, Counters, TakeResult } from './counters.port.js';
import { bucketRetryAfterMs, refill } from './token-bucket.js';
import { windowBounds } from './window.js';

/** Counters and token buckets in this process: right for one collector; Redis shares them across many. */
export class MemoryCounters implements Counters {
  private windows = new Map<string, { start: number; end: number; count: number }>();
  private sweeps = 0;
  private buckets = new Map<string, { tokens: number; at: number; full: number }>();
  private bucketSweeps = 0;

  constructor(private readonly now: () => number = Date.now) {}

  async take(key: string, n: number, limit: number, window: CounterWindow): Promise<TakeResult> {
    return this.takeSync(key, n, limit, window);
  }

  takeSync(key: string, n: number, limit: number, window: CounterWindow): TakeResult {
    const now = this.now();
    const { start, end } = windowBounds(window, now);
    const id = `${key}|${end - start}`;
    let w = this.windows.get(id);
    if (!w || w.start !== start) {
      w = { start, end, count: 0 };
      this.windows.set(id, w);
      if (++this.sweeps % 10_000 === 0) this.sweep(now);
    }
    if (w.count + n > limit) return { allowed: false, retryAfterMs: end - now, count: w.count };
    w.count += n;
    return { allowed: true, retryAfterMs: 0, count: w.count };
  }

  async takeTokens(key: string, n: number, limit: BucketLimit): Promise<TakeResult> {
    return this.takeTokensSync(key, n, limit);
  }

  takeTokensSync(key: string, n: number, limit: BucketLimit): TakeResult {
    const now = this.now();
    let b = this.buckets.get(key);
    if (!b) {
      b = { tokens: limit.burst, at: now, full: now };
      this.buckets.set(key, b);
      if (++this.bucketSweeps % 10_000 === 0) this.sweepBuckets(now);
    } else {
      b.tokens = refill(b.tokens, now - b.at, limit);
      b.at = now;
    }
    const need = Math.min(n, limit.burst);
    if (b.tokens < need) return { allowed: false, retryAfterMs: bucketRetryAfterMs(b.tokens, need, limit) };
    b.tokens -= n;
    // when it will be full again: a bucket past that is the same as no bucket, so it may be swept
    b.full = now + ((limit.burst - b.tokens) * 1000) / limit.ratePerSecond;
    return { allowed: true, retryAfterMs: 0 };
  }

  async peekTokens(key: string, limit: BucketLimit): Promise<number> {
    const b = this.buckets.get(key);
    return b ? refill(b.tokens, this.now() - b.at, limit) : limit.burst;
  }

  private sweepBuckets(now: number): void {
    for (const [key, b] of this.buckets) if (b.full <= now) this.buckets.delete(key);
  }

  async peek(key: string, window: CounterWindow): Promise<number> {
    const { start, end } = windowBounds(window, this.now());
    const w = this.windows.get(`${key}|${end - start}`);
    return w && w.start === start ? w.count : 0;
  }

  private sweep(now: number): void {
    for (const [id, w] of this.windows) if (w.end < now) this.windows.delete(id);
  }

  async close(): Promise<void> {
    this.windows.clear();
    this.buckets.clear();
  }
}

import type { Counters, TakeResult } from './counters.port.js';

/** Fixed-window counters in this process: right for one collector; Redis shares them across many. */
export class MemoryCounters implements Counters {
  private windows = new Map<string, { start: number; count: number }>();
  private sweeps = 0;

  constructor(private readonly now: () => number = Date.now) {}

  async take(key: string, n: number, limit: number, windowMs: number): Promise<TakeResult> {
    return this.takeSync(key, n, limit, windowMs);
  }

  takeSync(key: string, n: number, limit: number, windowMs: number): TakeResult {
    const now = this.now();
    const start = now - (now % windowMs);
    const id = `${key}|${windowMs}`;
    let w = this.windows.get(id);
    if (!w || w.start !== start) {
      w = { start, count: 0 };
      this.windows.set(id, w);
      if (++this.sweeps % 10_000 === 0) this.sweep(now);
    }
    if (w.count + n > limit) return { allowed: false, retryAfterMs: start + windowMs - now };
    w.count += n;
    return { allowed: true, retryAfterMs: 0 };
  }

  async peek(key: string, windowMs: number): Promise<number> {
    const now = this.now();
    const w = this.windows.get(`${key}|${windowMs}`);
    return w && w.start === now - (now % windowMs) ? w.count : 0;
  }

  private sweep(now: number): void {
    for (const [id, w] of this.windows) {
      const windowMs = Number(id.slice(id.lastIndexOf('|') + 1));
      if (w.start + windowMs < now) this.windows.delete(id);
    }
  }

  async close(): Promise<void> {
    this.windows.clear();
  }
}

export interface LatencySummary {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

/**
 * Durations in ms kept as a uniform random sample of at most `capacity` values (reservoir
 * sampling), so percentiles over a long run cost bounded memory; count and max are exact.
 */
export class LatencySample {
  private readonly values: number[] = [];
  private count = 0;
  private max = 0;

  constructor(private readonly capacity = 4096) {}

  record(ms: number): void {
    this.count++;
    if (ms > this.max) this.max = ms;
    if (this.values.length < this.capacity) {
      this.values.push(ms);
      return;
    }
    const slot = Math.floor(Math.random() * this.count);
    if (slot < this.capacity) this.values[slot] = ms;
  }

  summary(): LatencySummary {
    const sorted = [...this.values].sort((a, b) => a - b);
    const q = (p: number) => (sorted.length ? round(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]) : 0);
    return { count: this.count, p50: q(0.5), p99: q(0.99), max: round(this.max) };
  }
}

function round(ms: number): number {
  return Number(ms.toFixed(2));
}

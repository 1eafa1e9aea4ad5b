import { describe, expect, it } from 'vitest';
import { LatencySample } from './latency-sample.js';

describe('LatencySample', () => {
  it('reports zeros before anything is recorded', () => {
    expect(new LatencySample().summary()).toEqual({ count: 0, p50: 0, p99: 0, max: 0 });
  });

  it('gives exact percentiles while under capacity', () => {
    const s = new LatencySample(1000);
    for (let i = 1; i <= 100; i++) s.record(i);
    expect(s.summary()).toEqual({ count: 100, p50: 51, p99: 100, max: 100 });
  });

  it('keeps a bounded uniform sample past capacity, with exact count and max', () => {
    const s = new LatencySample(500);
    for (let i = 0; i < 100_000; i++) s.record(i % 1000);
    s.record(5000);
    const { count, p50, p99, max } = s.summary();
    expect(count).toBe(100_001);
    expect(max).toBe(5000);
    // a uniform sample of 500 from 0..999: the median is near 500, the 99th percentile near 990
    expect(p50).toBeGreaterThan(400);
    expect(p50).toBeLessThan(600);
    expect(p99).toBeGreaterThan(940);
  });
});

import { describe, expect, it } from 'vitest';
import { MemoryCounters } from './memory.counters.js';

describe('MemoryCounters', () => {
  it('allows up to the limit per window and says when to retry', async () => {
    let now = 10_500;
    const c = new MemoryCounters(() => now);
    expect((await c.take('k', 6, 10, 1000)).allowed).toBe(true);
    expect((await c.take('k', 4, 10, 1000)).allowed).toBe(true);
    const refused = await c.take('k', 1, 10, 1000);
    expect(refused).toEqual({ allowed: false, retryAfterMs: 500, count: 10 });
    expect(await c.peek('k', 1000)).toBe(10);
    now = 11_000;
    expect((await c.take('k', 10, 10, 1000)).allowed).toBe(true);
  });

  it('refuses a request larger than the remaining budget without taking part of it', async () => {
    const c = new MemoryCounters(() => 0);
    await c.take('k', 8, 10, 1000);
    expect((await c.take('k', 3, 10, 1000)).allowed).toBe(false);
    expect(await c.peek('k', 1000)).toBe(8);
  });

  it('keeps keys apart', async () => {
    const c = new MemoryCounters(() => 0);
    await c.take('a', 10, 10, 1000);
    expect((await c.take('b', 10, 10, 1000)).allowed).toBe(true);
  });
});

import { describe, expect, it } from 'vitest';
import { perTestBackend } from '../contract.testkit.js';
import type { Counters } from './counters.port.js';

export interface CountersBackend {
  /** A new instance on this test's backend (its own Redis key prefix, say). */
  open(): Counters;
  /** Whether two instances count together (Redis); in-memory ones never do. */
  shared: boolean;
  /** Removes what the test left; every instance is already closed. */
  cleanup(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits for the start of the next window. */
async function windowStart(windowMs: number): Promise<void> {
  await sleep(windowMs - (Date.now() % windowMs) + 2);
}

/**
 * Runs `body` from the start of a window; should a slow machine let the window roll over before
 * `body` is done, runs it again in the next one (each attempt works on keys of its own).
 */
async function inOneWindow(windowMs: number, body: (attempt: number) => Promise<void>): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    await windowStart(windowMs);
    const window = Math.floor(Date.now() / windowMs);
    try {
      await body(attempt);
      return;
    } catch (e) {
      if (Math.floor(Date.now() / windowMs) === window || attempt >= 4) throw e;
    }
  }
}

/**
 * The behaviour every Counters implementation must have (memory, Redis), on the real clock with
 * short windows.
 */
export function countersContract(name: string, factory: () => Promise<CountersBackend>): void {
  describe(`Counters contract: ${name}`, () => {
    const { backend, open } = perTestBackend(
      factory,
      (b) => b.open(),
      (c) => c.close(),
    );

    it('allows up to the limit in a window, then refuses without taking', async () => {
      const c = open();
      await inOneWindow(1_000, async (i) => {
        expect(await c.take(`k${i}`, 6, 10, 1_000)).toEqual({ allowed: true, retryAfterMs: 0, count: 6 });
        expect(await c.take(`k${i}`, 4, 10, 1_000)).toEqual({ allowed: true, retryAfterMs: 0, count: 10 });
        expect((await c.take(`k${i}`, 1, 10, 1_000)).allowed).toBe(false);
        expect(await c.peek(`k${i}`, 1_000)).toBe(10);
      });
    });

    it('refuses a take larger than what is left without taking part of it', async () => {
      const c = open();
      await inOneWindow(1_000, async (i) => {
        expect((await c.take(`k${i}`, 8, 10, 1_000)).allowed).toBe(true);
        expect((await c.take(`k${i}`, 3, 10, 1_000)).allowed).toBe(false);
        expect(await c.peek(`k${i}`, 1_000)).toBe(8);
        expect((await c.take(`k${i}`, 2, 10, 1_000)).allowed).toBe(true);
        expect(await c.peek(`k${i}`, 1_000)).toBe(10);
      });
    });

    it('says how long until the window rolls over, and allows again after that', async () => {
      const c = open();
      let retryAfterMs = 0;
      let key = '';
      await inOneWindow(400, async (i) => {
        key = `k${i}`;
        const before = Date.now();
        await c.take(key, 5, 5, 400);
        const refused = await c.take(key, 1, 5, 400);
        expect(refused.allowed).toBe(false);
        expect(refused.retryAfterMs).toBeGreaterThan(0);
        expect(refused.retryAfterMs).toBeLessThanOrEqual(400);
        // windows are aligned to the epoch: the refusal names the time left in this one
        const end = (Math.floor(before / 400) + 1) * 400;
        expect(refused.retryAfterMs).toBeGreaterThanOrEqual(end - Date.now());
        expect(refused.retryAfterMs).toBeLessThanOrEqual(end - before);
        retryAfterMs = refused.retryAfterMs;
      });
      await sleep(retryAfterMs + 5);
      expect((await c.take(key, 1, 5, 400)).allowed).toBe(true);
    });

    it('keeps keys and window lengths apart', async () => {
      const c = open();
      await inOneWindow(1_000, async (i) => {
        await c.take(`a${i}`, 10, 10, 1_000);
        expect((await c.take(`b${i}`, 10, 10, 1_000)).allowed).toBe(true);
        expect((await c.take(`a${i}`, 3, 3, 60_000)).allowed).toBe(true);
        expect((await c.take(`a${i}`, 1, 10, 1_000)).allowed).toBe(false);
        expect(await c.peek(`a${i}`, 1_000)).toBe(10);
        expect(await c.peek(`a${i}`, 60_000)).toBe(3);
        expect(await c.peek('never', 1_000)).toBe(0);
      });
    });

    it('starts every window from zero', async () => {
      const c = open();
      for (let w = 0; w < 3; w++) {
        await inOneWindow(200, async () => {
          expect(await c.peek('roll', 200), `window ${w}`).toBe(0);
          expect((await c.take('roll', 4, 4, 200)).allowed, `window ${w}`).toBe(true);
          expect((await c.take('roll', 1, 4, 200)).allowed, `window ${w}`).toBe(false);
          expect(await c.peek('roll', 200)).toBe(4);
        });
      }
    });

    it('counts a given window (a calendar month) as one, across where a window of its length aligned to the epoch would roll', async () => {
      const c = open();
      const length = 1_000;
      // an epoch-aligned boundary of windows of this length 300 ms from now; the given window spans it
      const boundary = (Math.floor((Date.now() + 300) / length) + 1) * length;
      const month = { start: boundary - 600, end: boundary + 400 };
      const next = { start: month.end, end: month.end + 2_000 };
      await sleep(Math.max(0, month.start - Date.now()));
      expect(await c.take('month', 3, 5, month)).toEqual({ allowed: true, retryAfterMs: 0, count: 3 });
      await sleep(Math.max(0, boundary - Date.now()) + 20);
      expect(await c.peek('month', month)).toBe(3);
      expect(await c.take('month', 2, 5, month)).toEqual({ allowed: true, retryAfterMs: 0, count: 5 });
      const refused = await c.take('month', 1, 5, month);
      expect(refused.allowed).toBe(false);
      expect(refused.count).toBe(5);
      expect(refused.retryAfterMs).toBeGreaterThan(0);
      expect(refused.retryAfterMs).toBeLessThanOrEqual(month.end - boundary);
      // the next given window starts from zero, and the first keeps its count while it is asked for
      expect(await c.peek('month', next)).toBe(0);
      expect(await c.take('month', 4, 5, next)).toEqual({ allowed: true, retryAfterMs: 0, count: 4 });
      expect(await c.peek('month', month)).toBe(5);
    });

    it('never goes past the limit under concurrent takes (from two instances when shared)', async () => {
      const a = open();
      const b = backend().shared ? open() : a;
      await inOneWindow(2_000, async (i) => {
        const takes = Array.from({ length: 300 }, (_, j) => (j % 2 ? a : b).take(`busy${i}`, 1 + (j % 3), 100, 2_000));
        const results = await Promise.all(takes);
        const taken = results.reduce((sum, r, j) => sum + (r.allowed ? 1 + (j % 3) : 0), 0);
        expect(taken).toBeLessThanOrEqual(100);
        // once at most 97 are taken every take fits, so refusals mean more than 97 were taken
        expect(taken).toBeGreaterThan(97);
        expect(await a.peek(`busy${i}`, 2_000)).toBe(taken);
        expect(await b.peek(`busy${i}`, 2_000)).toBe(taken);
        expect(results.filter((r) => !r.allowed).every((r) => r.retryAfterMs > 0)).toBe(true);
      });
    });

    describe('token buckets', () => {
      // every test works on keys of its own: a bucket lives on in Redis until it is full again
      const id = () => Math.random().toString(36).slice(2);

      it('starts full: admits up to the burst at once, then refuses without taking and says when', async () => {
        const c = open();
        const k = id();
        const limit = { ratePerSecond: 10, burst: 100 };
        expect(await c.takeTokens(k, 60, limit)).toEqual({ allowed: true, retryAfterMs: 0 });
        expect(await c.takeTokens(k, 40, limit)).toEqual({ allowed: true, retryAfterMs: 0 });
        const refused = await c.takeTokens(k, 5, limit);
        expect(refused.allowed).toBe(false);
        // 5 tokens at 10/s: about 500 ms, less whatever refilled since the takes
        expect(refused.retryAfterMs).toBeGreaterThan(300);
        expect(refused.retryAfterMs).toBeLessThanOrEqual(500);
        expect(await c.peekTokens(k, limit)).toBeLessThan(2);
      });

      it('refills at the rate, never above the burst', async () => {
        const c = open();
        const k = id();
        const limit = { ratePerSecond: 50, burst: 20 };
        expect((await c.takeTokens(k, 20, limit)).allowed).toBe(true);
        await sleep(250); // ~12.5 tokens back
        const peek = await c.peekTokens(k, limit);
        expect(peek).toBeGreaterThan(9);
        expect(peek).toBeLessThanOrEqual(20);
        expect((await c.takeTokens(k, 9, limit)).allowed).toBe(true);
        await sleep(600);
        expect(await c.peekTokens(k, limit)).toBe(20);
        expect((await c.takeTokens(k, 20, limit)).allowed).toBe(true);
      });

      it('admits a request larger than the burst when the bucket is full, then owes it', async () => {
        const c = open();
        const k = id();
        const limit = { ratePerSecond: 100, burst: 50 };
        expect(await c.takeTokens(k, 500, limit)).toEqual({ allowed: true, retryAfterMs: 0 });
        // 450 owed, less what refilled since (100/s; a loaded machine may take a while between calls)
        expect(await c.peekTokens(k, limit)).toBeLessThan(-300);
        const refused = await c.takeTokens(k, 1, limit);
        expect(refused.allowed).toBe(false);
        expect(refused.retryAfterMs).toBeGreaterThan(2_500);
        // a second oversized request is not admitted until the bucket is full again
        expect((await c.takeTokens(k, 500, limit)).allowed).toBe(false);
      });

      it('keeps buckets apart, and peeking takes nothing', async () => {
        const c = open();
        const [a, b] = [id(), id()];
        const limit = { ratePerSecond: 1, burst: 10 };
        expect(await c.peekTokens(a, limit)).toBe(10);
        expect(await c.peekTokens(a, limit)).toBe(10);
        expect((await c.takeTokens(a, 10, limit)).allowed).toBe(true);
        expect((await c.takeTokens(b, 10, limit)).allowed).toBe(true);
        expect((await c.takeTokens(a, 1, limit)).allowed).toBe(false);
      });

      it('never admits past the burst under concurrent takes (from two instances when shared)', async () => {
        const a = open();
        const b = backend().shared ? open() : a;
        const k = id();
        const limit = { ratePerSecond: 1, burst: 100 };
        const results = await Promise.all(Array.from({ length: 300 }, (_, j) => (j % 2 ? a : b).takeTokens(k, 1 + (j % 3), limit)));
        const taken = results.reduce((sum, r, j) => sum + (r.allowed ? 1 + (j % 3) : 0), 0);
        // at 1 token/s, at most a token or two can refill while the takes run
        expect(taken).toBeLessThanOrEqual(102);
        expect(taken).toBeGreaterThan(97);
        expect(results.filter((r) => !r.allowed).every((r) => r.retryAfterMs > 0)).toBe(true);
      });
    });
  });
}

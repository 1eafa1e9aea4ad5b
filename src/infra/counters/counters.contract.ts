import { afterEach, beforeEach, describe, expect, it } from 'vitest';
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
    let backend: CountersBackend;
    let opened: Counters[];
    const open = () => {
      const c = backend.open();
      opened.push(c);
      return c;
    };
    beforeEach(async () => {
      backend = await factory();
      opened = [];
    });
    afterEach(async () => {
      await Promise.all(opened.map((c) => c.close()));
      await backend.cleanup();
    });

    it('allows up to the limit in a window, then refuses without taking', async () => {
      const c = open();
      await inOneWindow(1_000, async (i) => {
        expect(await c.take(`k${i}`, 6, 10, 1_000)).toEqual({ allowed: true, retryAfterMs: 0 });
        expect(await c.take(`k${i}`, 4, 10, 1_000)).toEqual({ allowed: true, retryAfterMs: 0 });
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

    it('never goes past the limit under concurrent takes (from two instances when shared)', async () => {
      const a = open();
      const b = backend.shared ? open() : a;
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
  });
}

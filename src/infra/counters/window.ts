import type { CounterWindow } from './counters.port.js';

/**
 * The window `[start, end)` a take at `now` counts in: for a length, the one of that length
 * aligned to the epoch that contains `now`; a given window (a calendar month, say) is itself.
 */
export function windowBounds(window: CounterWindow, now: number): { start: number; end: number } {
  if (typeof window !== 'number') return window;
  const start = now - (now % window);
  return { start, end: start + window };
}

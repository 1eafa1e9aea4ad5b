import { describe, expect, it } from 'vitest';
import { newCut } from './duckdb.transform-cycle.js';

const MIN = 60_000;
const ALLOW = 10 * MIN;
const s = { sessionTimeoutMinutes: 30 };

describe('the incremental cut (newCut)', () => {
  const lastEvent = Date.UTC(2026, 11, 1, 12);
  it('without a clock, follows the newest receipt minus the late allowance', () => {
    expect(newCut(ALLOW, s, lastEvent, lastEvent + MIN)).toBe(lastEvent + MIN - ALLOW);
  });
  it('with the clock past the last event + timeout + allowance, closes every session read, and no further', () => {
    const cut = newCut(ALLOW, s, lastEvent, lastEvent, lastEvent + 5 * 24 * 60 * MIN);
    expect(cut).toBe(lastEvent + 30 * MIN + 1);
    // a session whose last event is the newest one is closed: open means last >= cut - timeout
    expect(lastEvent >= cut - 30 * MIN).toBe(false);
  });
  it('with the clock just now, never closes what a record received from now on could still extend', () => {
    const now = lastEvent + 20 * MIN;
    const cut = newCut(ALLOW, s, lastEvent, lastEvent, now);
    expect(cut).toBe(now - ALLOW);
    // a record received from now on with an event time down to now - allowance (not late) reaches
    // back one timeout: every session it could extend is still open
    expect(now - ALLOW - 30 * MIN >= cut - 30 * MIN).toBe(true);
  });
  it('never lower than what the received times give (a clock behind the records changes nothing)', () => {
    expect(newCut(ALLOW, s, lastEvent, lastEvent + 60 * MIN, lastEvent)).toBe(lastEvent + 60 * MIN - ALLOW);
  });
});

import { describe, expect, it } from 'vitest';
import { ApiError } from './api';
import type { Replay } from './rules-api';
import { diffCell, DIFF_COLUMNS, isoDaysAgo, isPlanGate, replayRunning, sessionSummary, topMovers, verdictLabel, verdictWhy } from './support-api';

const mover = (name: string, before: number, after: number) => ({ name, before, after, change: after - before });

describe('the Support page helpers', () => {
  it('writes a diff cell as the value when it stays, before → after when it moves (bounce rate in percent)', () => {
    expect(diffCell(12, 12)).toEqual({ text: '12', changed: false });
    expect(diffCell(12, 9)).toEqual({ text: '12 → 9', changed: true });
    const bounce = DIFF_COLUMNS.find((c) => c.key === 'bounceRate')!.format;
    expect(diffCell(0.5, 0.25, bounce)).toEqual({ text: '50.0% → 25.0%', changed: true });
    // a change below the shown precision is no change
    expect(diffCell(0.50001, 0.50002, bounce)).toEqual({ text: '50.0%', changed: false });
  });

  it('lists pages, sources and channels that move, biggest change first, without the still ones', () => {
    const diff: NonNullable<Replay['diff']> = {
      days: [],
      pages: [mover('/a', 10, 4), mover('/still', 3, 3)],
      sources: [mover('google', 5, 7)],
      channels: [mover('Email', 4, 0), mover('Organic Search', 1, 11)],
    };
    expect(topMovers(diff).map((m) => `${m.kind} ${m.name} ${m.change}`)).toEqual([
      'Channel Organic Search 10',
      'Page /a -6',
      'Channel Email -4',
      'Source google 2',
    ]);
    expect(topMovers(diff, 2)).toHaveLength(2);
    expect(topMovers({ days: [], pages: [], sources: [] })).toEqual([]);
  });

  it('tells the plan refusal from other errors', () => {
    expect(isPlanGate(new ApiError(403, 'PERMISSION_DENIED', 'plan_feature_unavailable', 'Free does not include replay'))).toBe(true);
    expect(isPlanGate(new ApiError(403, 'PERMISSION_DENIED', 'forbidden', 'no'))).toBe(false);
    expect(isPlanGate(new Error('plan_feature_unavailable'))).toBe(false);
  });

  it('polls a replay while it is queued or running only', () => {
    expect(replayRunning({ state: 'queued' })).toBe(true);
    expect(replayRunning({ state: 'running' })).toBe(true);
    expect(replayRunning({ state: 'succeeded' })).toBe(false);
    expect(replayRunning({ state: 'failed' })).toBe(false);
    expect(replayRunning(null)).toBe(false);
  });

  it('names verdicts, and an unknown one readably', () => {
    expect(verdictLabel('dead_letter')).toBe('Dead letter');
    expect(verdictLabel('internal_traffic')).toBe('Internal traffic');
    expect(verdictLabel('some_new_reason')).toBe('some new reason');
    // the reason beside it, unless it only repeats the verdict
    expect(verdictWhy({ verdict: 'counted', why: 'counted' })).toBe('');
    expect(verdictWhy({ verdict: 'counted', why: 'counted, as a key event' })).toBe('counted, as a key event');
    expect(verdictWhy({ verdict: 'dead_letter', why: 'hostname_not_allowed: x is not allowed' })).toBe('hostname_not_allowed: x is not allowed');
  });

  it('summarises a transformed session row as the inspector reads it', () => {
    const s = sessionSummary({
      session_key: 'c1:1764900000',
      session_start_ms: '1764979200000',
      landing_page: '/pricing',
      source: 'google',
      medium: 'organic',
      channel_group: 'Organic Search',
      page_views: 3,
      events: 5,
      key_events: 1,
      engaged: true,
      is_bot: false,
    });
    expect(s).toEqual({
      key: 'c1:1764900000',
      start: '2025-12-06 00:00:00',
      landing: '/pricing',
      source: 'google / organic · Organic Search',
      counts: '3 views, 5 events, 1 key event, engaged',
    });
    expect(sessionSummary({ session_key: 'k', local_date: '2026-12-01', is_bot: true })).toMatchObject({
      start: '2026-12-01',
      landing: '(not set)',
      source: '(direct) / (none)',
      counts: '0 views, 0 events, 0 key events, bot',
    });
  });

  it('counts date defaults back in UTC days', () => {
    const now = new Date('2026-12-06T00:30:00Z');
    expect(isoDaysAgo(0, now)).toBe('2026-12-06');
    expect(isoDaysAgo(1, now)).toBe('2026-12-05');
    expect(isoDaysAgo(30, now)).toBe('2026-11-06');
  });
});

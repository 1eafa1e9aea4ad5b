import { describe, expect, it } from 'vitest';
import { addDays, datesBetween, localDate, startOfLocalDate } from './time-zone.js';

describe('time zones', () => {
  it('finds local dates', () => {
    const t = Date.UTC(2026, 0, 1, 3, 0); // 22:00 on Dec 31 in New York
    expect(localDate(t, 'America/New_York')).toBe('2025-12-31');
    expect(localDate(t, 'UTC')).toBe('2026-01-01');
    expect(localDate(t, 'Asia/Tokyo')).toBe('2026-01-01');
  });

  it('finds the start of a local date across DST changes', () => {
    expect(startOfLocalDate('2026-03-08', 'America/New_York')).toBe(Date.UTC(2026, 2, 8, 5)); // EST, the day DST starts
    expect(startOfLocalDate('2026-03-09', 'America/New_York')).toBe(Date.UTC(2026, 2, 9, 4)); // EDT
    expect(startOfLocalDate('2026-11-01', 'America/New_York')).toBe(Date.UTC(2026, 10, 1, 4));
    expect(startOfLocalDate('2026-11-02', 'America/New_York')).toBe(Date.UTC(2026, 10, 2, 5));
    expect(startOfLocalDate('2026-06-01', 'UTC')).toBe(Date.UTC(2026, 5, 1));
  });

  it('walks dates', () => {
    expect(addDays('2026-02-28', 1)).toBe('2026-03-01');
    expect(datesBetween('2026-12-30', '2027-01-02')).toEqual(['2026-12-30', '2026-12-31', '2027-01-01', '2027-01-02']);
  });
});

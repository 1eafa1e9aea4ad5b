import { describe, expect, it } from 'vitest';
import {
  breakdown,
  change,
  dimensionFilter,
  formatChange,
  formatValue,
  kpiRequest,
  periods,
  readKpis,
  readSeries,
  readState,
  readTable,
  tableRequest,
  writeState,
} from './reports';

describe('dashboard reports', () => {
  it('computes the period and the same-length period before it', () => {
    expect(periods('today', '2026-12-05')).toMatchObject({
      current: { startDate: '2026-12-05', endDate: '2026-12-05' },
      previous: { startDate: '2026-12-04', endDate: '2026-12-04' },
      days: 1,
    });
    expect(periods('7d', '2026-12-05')).toMatchObject({
      current: { startDate: '2026-11-29', endDate: '2026-12-05' },
      previous: { startDate: '2026-11-22', endDate: '2026-11-28' },
      days: 7,
    });
    expect(periods('yesterday', '2026-03-01').current).toEqual({ startDate: '2026-02-28', endDate: '2026-02-28' });
    // a custom range given backwards is turned around
    expect(periods('custom', '2026-12-05', { startDate: '2026-12-03', endDate: '2026-12-01' })).toMatchObject({
      current: { startDate: '2026-12-01', endDate: '2026-12-03' },
      previous: { startDate: '2026-11-28', endDate: '2026-11-30' },
    });
  });

  it('reads KPIs of both ranges, zeros for a range without rows, and derives average engagement time', () => {
    const r = {
      dimensionHeaders: [{ name: 'dateRange' }],
      metricHeaders: ['activeUsers', 'newUsers', 'sessions', 'screenPageViews', 'bounceRate', 'userEngagementDuration', 'keyEvents'].map((name) => ({ name })),
      rows: [{ dimensionValues: [{ value: 'current' }], metricValues: ['4', '3', '5', '12', '0.4', '100', '2'].map((value) => ({ value })) }],
    };
    const k = readKpis(r);
    expect(k.current).toMatchObject({ activeUsers: 4, screenPageViews: 12, bounceRate: 0.4, averageEngagementTime: 25 });
    expect(k.previous).toMatchObject({ activeUsers: 0, sessions: 0, averageEngagementTime: 0 });
    expect(change(12, k.previous!.screenPageViews)).toBeNull();
    expect(change(12, 8)).toBe(0.5);
    expect(formatChange(0.5)).toBe('+50%');
    expect(formatChange(-0.042)).toBe('−4.2%');
    expect((kpiRequest({ startDate: 'a', endDate: 'b' }, null, []) as { dateRanges: unknown[] }).dateRanges).toHaveLength(1);
  });

  it('fills every day (or hour of one day) of the series, zeros where no row is', () => {
    const r = {
      metricHeaders: [{ name: 'activeUsers' }, { name: 'sessions' }, { name: 'screenPageViews' }, { name: 'keyEvents' }],
      rows: [{ dimensionValues: [{ value: '20261202' }], metricValues: [{ value: '3' }, { value: '4' }, { value: '9' }, { value: '0' }] }],
    };
    const s = readSeries(r, { startDate: '2026-12-01', endDate: '2026-12-03' }, false);
    expect(s.keys).toEqual(['20261201', '20261202', '20261203']);
    expect(s.values.screenPageViews).toEqual([0, 9, 0]);
    expect(readSeries({ rows: [] }, { startDate: '2026-12-01', endDate: '2026-12-01' }, true).keys).toHaveLength(24);
  });

  it('filters by exact values, countries by their code, and keeps filters in the URL', () => {
    expect(dimensionFilter([])).toBeUndefined();
    expect(dimensionFilter([{ dimension: 'pagePath', value: '/a' }])).toEqual({
      filter: { fieldName: 'pagePath', stringFilter: { matchType: 'EXACT', value: '/a' } },
    });
    expect(
      dimensionFilter([
        { dimension: 'pagePath', value: '/a' },
        { dimension: 'countryId', value: 'FR' },
      ]),
    ).toMatchObject({ andGroup: { expressions: [{}, {}] } });
    const countries = breakdown('countries');
    expect((tableRequest(countries, { startDate: 'a', endDate: 'b' }, []) as { dimensions: unknown[] }).dimensions).toEqual([
      { name: 'country' },
      { name: 'countryId' },
    ]);
    const t = readTable({ rows: [{ dimensionValues: [{ value: 'France' }, { value: 'FR' }], metricValues: [{ value: '7' }] }] }, countries);
    expect(t.rows).toEqual([{ label: 'France', value: 'FR', metric: 7 }]);

    const state = readState('?range=7d&f.pagePath=%2Fpricing&f.countryId=FR&f.notADimension=x&metric=sessions');
    expect(state).toMatchObject({
      range: '7d',
      compare: true,
      metric: 'sessions',
      filters: [
        { dimension: 'pagePath', value: '/pricing' },
        { dimension: 'countryId', value: 'FR' },
      ],
    });
    expect(readState(writeState(state))).toEqual(state);
    expect(writeState(readState(''))).toBe('');
  });

  it('formats numbers, rates and durations', () => {
    expect(formatValue(1234, 'int')).toBe('1,234');
    expect(formatValue(123456, 'int', true)).toBe('123.5K');
    expect(formatValue(0.4567, 'percent')).toBe('46%');
    expect(formatValue(0.05, 'percent')).toBe('5.0%');
    expect(formatValue(75, 'duration')).toBe('1m 15s');
    expect(formatValue(42, 'duration')).toBe('42s');
  });
});

import { describe, expect, it } from 'vitest';
import { DIMENSIONS, findDimension, findMetric, METRICS, type DimensionDef, type MetricDef } from './catalog.js';
import { checkCompatibility, compatible, isItemScoped } from './compatibility.js';

const errorOf = (body: unknown) => {
  try {
    checkCompatibility(body, false);
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a refusal');
};

describe('checkCompatibility from rules', () => {
  it('lists every catalog field with its verdict, and filters by compatibilityFilter', () => {
    const all = checkCompatibility({ dimensions: [{ name: 'pagePath' }], metrics: [{ name: 'sessions' }] }, true) as any;
    expect(all.dimensionCompatibilities).toHaveLength(DIMENSIONS.length);
    expect(all.metricCompatibilities).toHaveLength(METRICS.length);
    expect(all.metricCompatibilities[0].compatibility).toBe(1);
    // nothing in today's catalog breaks a rule with pagePath × sessions
    expect(checkCompatibility({ dimensions: [{ name: 'pagePath' }], compatibilityFilter: 'INCOMPATIBLE' }, false)).toEqual({});
  });

  it('sends realtime-only, cohort and comparison fields where they belong, and checks filter fields too', () => {
    expect(errorOf({ dimensions: [{ name: 'minutesAgo' }] }).message).toContain('use runRealtimeReport');
    expect(errorOf({ metrics: [{ name: 'cohortActiveUsers' }] }).message).toContain('cohortSpec');
    expect(errorOf({ dimensions: [{ name: 'comparison' }] }).message).toContain('comparisons');
    expect(errorOf({ dimensionFilter: { filter: { fieldName: 'nope', stringFilter: { value: 'x' } } } }).message).toContain(
      'Field nope is not a valid dimension',
    );
  });

  it('keeps item-scoped dimensions to item-scoped metrics', () => {
    const itemName: DimensionDef = { ...findDimension('eventName')!, apiName: 'itemName', scope: 'item' as never };
    const itemRevenue: MetricDef = { ...findMetric('eventCount')!, apiName: 'itemRevenue', scope: 'item' as never };
    expect(isItemScoped(itemName)).toBe(true);
    expect(compatible(itemName, findMetric('eventCount')!)).toBe(false);
    expect(compatible(itemName, itemRevenue)).toBe(true);
    expect(compatible(findDimension('country')!, itemRevenue)).toBe(true);
    expect(compatible(findDimension('country')!, findMetric('sessions')!)).toBe(true);
  });
});

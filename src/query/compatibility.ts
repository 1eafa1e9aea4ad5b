import { atom, DIMENSIONS, findDimension, findMetric, METRICS, type DimensionDef, type MetricDef } from './catalog.js';
import { COMPATIBILITY, encodeEnum, enumName } from './ga4-enums.js';
import { dimensionMetadata, metricMetadata } from './metadata.js';
import { invalid, list, object } from './proto-json.js';
import { parseFilterExpr, type FilterExpr } from './report-filter.js';
import { unknownDimensionError, unknownMetricError } from './report-request.limits.js';
import { REALTIME_DIMENSIONS } from './realtime-report.js';
import { readsOtherTime } from './report-rolling.js';
import { duckdbDialect } from './sql-dialect.js';

/**
 * checkCompatibility from rules, not "all compatible" (GA4-DEFINITIONS §C.12):
 * - fields that exist only elsewhere are refused with where they belong: realtime-only dimensions
 *   (runRealtimeReport), cohort fields (a cohortSpec), `comparison` (comparisons);
 * - dauPerMau, dauPerWau and wauPerMau go with `date` but no other time dimension;
 * - item-scoped dimensions (itemName, itemCategory…) answer only item-scoped metrics (itemRevenue,
 *   itemsPurchased…), as GA4's e-commerce reports do; item-scoped metrics go with any
 *   dimension an item's event carries;
 * - a request whose own fields break a rule fails with GA4's 400 text; otherwise each catalog field
 *   is COMPATIBLE when it breaks no rule with the request's fields.
 */
const COHORT_FIELDS = ['cohort', 'cohortNthDay', 'cohortNthWeek', 'cohortNthMonth', 'cohortActiveUsers', 'cohortTotalUsers'];

/** Item scope: the catalog's `item` scope, or GA4's item field names (itemX, itemsX). */
export function isItemScoped(def: { apiName: string; scope: string }): boolean {
  return def.scope === 'item' || /^items?[A-Z]/.test(def.apiName);
}

export function compatible(d: DimensionDef, m: MetricDef): boolean {
  // the rolling ratios have one anchor day per row: by date or by no time at all (report-rolling.ts)
  if (m.atoms.some((a) => atom(a).group === 'rolling') && readsOtherTime(d.onEvent(duckdbDialect), duckdbDialect)) return false;
  return !isItemScoped(d) || isItemScoped(m);
}

function elsewhere(name: string, kind: 'dimension' | 'metric'): Error | null {
  if (kind === 'dimension' && Object.hasOwn(REALTIME_DIMENSIONS, name) && !findDimension(name)) {
    return invalid(`Field ${name} is a realtime dimension: use runRealtimeReport.`, name);
  }
  if (COHORT_FIELDS.includes(name)) return invalid(`Field ${name} is only valid in a report with a cohortSpec.`, name);
  if (name === 'comparison') return invalid('Field comparison is only valid in a report with comparisons.', name);
  return null;
}

function filterNames(e: FilterExpr | undefined): string[] {
  if (!e) return [];
  if (e.kind === 'and' || e.kind === 'or') return e.expressions.flatMap(filterNames);
  if (e.kind === 'not') return filterNames(e.expression);
  return [e.filter.fieldName];
}

export function checkCompatibility(json: unknown, asInt: boolean): unknown {
  const o = object(json, '', ['property', 'dimensions', 'metrics', 'dimensionFilter', 'metricFilter', 'compatibilityFilter'] as const);
  const dimNames = (list(o.dimensions, 'dimensions') as ({ name?: string } | null)[]).map((d) => String(d?.name));
  const metricNames = (list(o.metrics, 'metrics') as ({ name?: string } | null)[]).map((m) => String(m?.name));
  dimNames.push(...filterNames(o.dimensionFilter == null ? undefined : parseFilterExpr(o.dimensionFilter, 'dimension_filter', 1)));
  metricNames.push(...filterNames(o.metricFilter == null ? undefined : parseFilterExpr(o.metricFilter, 'metric_filter', 1)));
  const dims = dimNames.map((n) => {
    const def = findDimension(n);
    if (!def) throw elsewhere(n, 'dimension') ?? unknownDimensionError(n);
    return def;
  });
  const metrics = metricNames.map((n) => {
    const def = findMetric(n);
    if (!def) throw elsewhere(n, 'metric') ?? unknownMetricError(n);
    return def;
  });
  for (const d of dims) {
    const m = metrics.find((x) => !compatible(d, x));
    if (m) {
      throw invalid(
        `Please remove ${m.apiName} to make the request compatible with ${d.apiName}. The request's dimensions & metrics are incompatible. ` +
          'To learn more, see https://ga-dev-tools.web.app/ga4/dimensions-metrics-explorer/',
        m.apiName,
      );
    }
  }
  const filter = o.compatibilityFilter === undefined ? 'COMPATIBILITY_UNSPECIFIED' : enumName(COMPATIBILITY, o.compatibilityFilter);
  if (!filter) throw invalid(`Invalid value at 'compatibility_filter', ${JSON.stringify(o.compatibilityFilter)}`, 'compatibilityFilter');
  const verdict = (ok: boolean): 'COMPATIBLE' | 'INCOMPATIBLE' => (ok ? 'COMPATIBLE' : 'INCOMPATIBLE');
  const keep = (v: string) => filter === 'COMPATIBILITY_UNSPECIFIED' || filter === v;
  const dimensionCompatibilities = DIMENSIONS.map((d) => ({ d, v: verdict(metrics.every((m) => compatible(d, m))) }))
    .filter((x) => keep(x.v))
    .map((x) => ({ dimensionMetadata: dimensionMetadata(x.d), compatibility: encodeEnum(COMPATIBILITY, x.v, asInt) }));
  const metricCompatibilities = METRICS.map((m) => ({ m, v: verdict(dims.every((d) => compatible(d, m))) }))
    .filter((x) => keep(x.v))
    .map((x) => ({ metricMetadata: metricMetadata(x.m, asInt), compatibility: encodeEnum(COMPATIBILITY, x.v, asInt) }));
  return {
    ...(dimensionCompatibilities.length ? { dimensionCompatibilities } : {}),
    ...(metricCompatibilities.length ? { metricCompatibilities } : {}),
  };
}

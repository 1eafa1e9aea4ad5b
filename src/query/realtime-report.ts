import type { PropertySettings } from '../domain/property-settings.js';
import { findMetric, type MetricType } from './catalog.js';
import { enumName, METRIC_AGGREGATION } from './ga4-enums.js';
import { int64, invalid, list, object, optionalString, requiredString, bool } from './proto-json.js';
import { checkFilterSize, parseFilterExpr, type Filter, type FilterExpr } from './report-filter.js';
import { badEnum, DEFAULT_LIMIT, MAX_LIMIT } from './report-request.limits.js';
import { parseOrderBy, type OrderBy } from './report-request.js';
import { compact, formatMetric, metricTypeOut, RESERVED, type ReportRow, type RunReportResponse } from './report-response.js';
import { REALTIME_MINUTES, type RealtimeEvent } from './realtime-window.js';

/** The realtime schema (GA4-DEFINITIONS §C.13): what Tally's log tail can answer of it. */
export const REALTIME_DIMENSIONS: Readonly<Record<string, (e: RealtimeEvent, now: number) => string>> = {
  minutesAgo: (e, now) => String(minutesAgo(e.ms, now)).padStart(2, '0'),
  country: (e) => e.country,
  countryId: (e) => e.countryId,
  city: (e) => e.city,
  deviceCategory: (e) => e.deviceCategory,
  eventName: (e) => e.eventName,
  unifiedScreenName: (e) => e.unifiedScreenName,
  platform: (e) => e.platform,
};
export const REALTIME_METRICS = ['activeUsers', 'eventCount', 'keyEvents', 'screenPageViews'] as const;
type RealtimeMetric = (typeof REALTIME_METRICS)[number];

const RT_SCHEMA_URL = 'https://developers.google.com/analytics/devguides/reporting/data/v1/realtime-api-schema';
const unknownRealtime = (kind: 'dimension' | 'metric', name: string) =>
  invalid(`Field ${name} is not a valid ${kind}. For a list of valid dimensions and metrics, see ${RT_SCHEMA_URL} `, name);

export interface RealtimeRequest {
  dimensions: string[];
  metrics: RealtimeMetric[];
  minuteRanges: { name: string; start: number; end: number }[];
  dimensionFilter?: FilterExpr;
  metricFilter?: FilterExpr;
  limit: number;
  metricAggregations: ('TOTAL' | 'MAXIMUM' | 'MINIMUM' | 'COUNT')[];
  orderBys: OrderBy[];
  returnPropertyQuota: boolean;
}

const KEYS = [
  'property',
  'dimensions',
  'metrics',
  'dimensionFilter',
  'metricFilter',
  'limit',
  'metricAggregations',
  'orderBys',
  'returnPropertyQuota',
  'minuteRanges',
] as const;

/** Validates a RunRealtimeReportRequest: realtime fields only, at most 2 minute ranges within minutes 29..0. */
export function parseRealtimeRequest(body: unknown): RealtimeRequest {
  const r = object(body, '', KEYS);
  const dimensions = list(r.dimensions, 'dimensions').map((v, i) => {
    const d = object(v, `dimensions[${i}]`, ['name', 'dimensionExpression']);
    const name = requiredString(d.name, `dimensions[${i}].name`);
    if (d.dimensionExpression != null) throw invalid(`dimensions[${i}].dimensionExpression is not supported in realtime reports.`, name);
    if (!Object.hasOwn(REALTIME_DIMENSIONS, name)) throw unknownRealtime('dimension', name);
    return name;
  });
  if (dimensions.length > 9) throw invalid('Requests are limited to 9 dimensions.', 'dimensions');
  if (new Set(dimensions).size !== dimensions.length) throw invalid('Duplicate dimension names in the request.', 'dimensions');
  const metrics = list(r.metrics, 'metrics').map((v, i) => {
    const m = object(v, `metrics[${i}]`, ['name', 'expression', 'invisible']);
    const name = requiredString(m.name, `metrics[${i}].name`);
    if (m.expression != null && m.expression !== '') throw invalid(`metrics[${i}].expression is not supported in realtime reports.`, name);
    if (!(REALTIME_METRICS as readonly string[]).includes(name)) throw unknownRealtime('metric', name);
    return name as RealtimeMetric;
  });
  if (metrics.length > 10) throw invalid('Requests are limited to 10 metrics.', 'metrics');
  if (new Set(metrics).size !== metrics.length) throw invalid('Duplicate metric names in the request.', 'metrics');

  const rawRanges = list(r.minuteRanges, 'minute_ranges');
  if (rawRanges.length > 2) throw invalid('Requests are limited to 2 minuteRanges.', 'minuteRanges');
  const minuteRanges = (rawRanges.length ? rawRanges : [{}]).map((v, i) => {
    const p = `minute_ranges[${i}]`;
    const m = object(v, p, ['name', 'startMinutesAgo', 'endMinutesAgo']);
    const start = int64(m.startMinutesAgo, `${p}.start_minutes_ago`) ?? REALTIME_MINUTES - 1;
    const end = int64(m.endMinutesAgo, `${p}.end_minutes_ago`) ?? 0;
    if (start < 0 || end < 0 || start > REALTIME_MINUTES - 1 || end > REALTIME_MINUTES - 1) {
      throw invalid(`${p}: minutes ago must be between 0 and ${REALTIME_MINUTES - 1}.`, p);
    }
    if (end > start) throw invalid(`${p}: endMinutesAgo ${end} is before startMinutesAgo ${start}.`, p);
    const name = optionalString(m.name, `${p}.name`);
    if (name && /^(date_range_|RESERVED_)/.test(name)) throw invalid(`${p}.name "${name}" must not start with "date_range_" or "RESERVED_".`, p);
    return { name: name || `date_range_${i}`, start, end };
  });

  const dimensionFilter = r.dimensionFilter == null ? undefined : parseFilterExpr(r.dimensionFilter, 'dimension_filter', 1);
  const metricFilter = r.metricFilter == null ? undefined : parseFilterExpr(r.metricFilter, 'metric_filter', 1);
  checkFilterSize([dimensionFilter, metricFilter]);
  walkFilter(dimensionFilter, (f) => {
    if (!Object.hasOwn(REALTIME_DIMENSIONS, f.fieldName)) throw unknownRealtime('dimension', f.fieldName);
  });
  walkFilter(metricFilter, (f) => {
    if (!(REALTIME_METRICS as readonly string[]).includes(f.fieldName)) throw unknownRealtime('metric', f.fieldName);
    if (f.kind !== 'numeric' && f.kind !== 'between') throw invalid(`Metric filter on ${f.fieldName} must be a numericFilter or betweenFilter.`, f.fieldName);
  });

  const limit = int64(r.limit, 'limit') ?? DEFAULT_LIMIT;
  if (limit < 0) throw invalid(`limit must be positive; received ${limit}.`, 'limit');
  const metricAggregations = list(r.metricAggregations, 'metric_aggregations').map((v, i) => {
    const name = enumName(METRIC_AGGREGATION, v);
    if (!name || name === 'METRIC_AGGREGATION_UNSPECIFIED') throw badEnum(`metric_aggregations[${i}]`, 'MetricAggregation', v);
    return name;
  });
  const orderBys = list(r.orderBys, 'order_bys').map((v, i) => parseOrderBy(v, `order_bys[${i}]`));
  for (const o of orderBys) {
    const known = o.kind === 'metric' ? (metrics as string[]).includes(o.metricName) : dimensions.includes(o.dimensionName);
    if (!known) throw invalid(`Field ${o.kind === 'metric' ? o.metricName : o.dimensionName} in orderBys must be one of the request's fields.`, 'orderBys');
  }
  return {
    dimensions,
    metrics,
    minuteRanges,
    dimensionFilter,
    metricFilter,
    limit: limit === 0 ? DEFAULT_LIMIT : Math.min(limit, MAX_LIMIT),
    metricAggregations,
    orderBys,
    returnPropertyQuota: bool(r.returnPropertyQuota, 'returnPropertyQuota'),
  };
}

/** RunRealtimeReportResponse: runReport's fields without `metadata` (GA4-DEFINITIONS §C.13). */
export type RunRealtimeReportResponse = Omit<RunReportResponse, 'metadata' | 'kind'> & { kind: 'analyticsData#runRealtimeReport' };

interface Acc {
  dims: string[];
  range: number;
  events: number;
  views: number;
  keyEvents: number;
  users: Set<string>;
}

/**
 * Answers a realtime request over the property's live events. Returns the response and the
 * number of events it read (the unit its quota cost is measured in).
 */
export function runRealtimeReport(
  events: readonly RealtimeEvent[],
  settings: PropertySettings,
  req: RealtimeRequest,
  opts: { now: number; enumAsInt: boolean },
): { response: RunRealtimeReportResponse; scanned: number } {
  const { now } = opts;
  const keyEvents = new Set(settings.keyEvents);
  const multi = req.minuteRanges.length > 1;
  const groups = new Map<string, Acc>();
  const totals = req.minuteRanges.map((_, i) => newAcc([], i));
  const dimValue = (e: RealtimeEvent, name: string) => REALTIME_DIMENSIONS[name](e, now);

  for (const e of events) {
    const ago = minutesAgo(e.ms, now);
    if (ago > REALTIME_MINUTES - 1) continue;
    if (req.dimensionFilter && !matches(req.dimensionFilter, (n) => dimValue(e, n))) continue;
    const dims = req.dimensions.map((n) => dimValue(e, n));
    req.minuteRanges.forEach((range, i) => {
      if (ago > range.start || ago < range.end) return;
      const key = `${i}\u0000${dims.join('\u0000')}`;
      let acc = groups.get(key);
      if (!acc) groups.set(key, (acc = newAcc(dims, i)));
      for (const a of [acc, totals[i]]) {
        a.events++;
        if (e.eventName === 'page_view' || e.eventName === 'screen_view') a.views++;
        if (keyEvents.has(e.eventName)) a.keyEvents++;
        a.users.add(e.user);
      }
    });
  }

  const metricsOf = (a: Acc): number[] => req.metrics.map((m) => metricValue(a, m));
  let rows = [...groups.values()].map((a) => ({ acc: a, values: metricsOf(a) }));
  if (req.metricFilter) rows = rows.filter((r) => matches(req.metricFilter!, (n) => r.values[req.metrics.indexOf(n as RealtimeMetric)] ?? 0));
  if (req.metrics.length > 0) rows = rows.filter((r) => r.values.some((v) => v !== 0));
  rows.sort((x, y) => compareRows(req, x, y));

  const types = req.metrics.map((m) => findMetric(m)!.type);
  const shape = (dims: string[], range: number, values: number[]): ReportRow => ({
    dimensionValues: [...dims, ...(multi ? [req.minuteRanges[range].name] : [])].map((value) => ({ value })),
    metricValues: values.map((v, i) => ({ value: formatMetric(v, types[i] as MetricType) })),
  });
  const reserved = (label: string) => req.dimensions.map(() => label);
  const response: RunRealtimeReportResponse = {
    dimensionHeaders: [...req.dimensions, ...(multi ? ['dateRange'] : [])].map((name) => ({ name })),
    metricHeaders: req.metrics.map((name, i) => ({ name, type: metricTypeOut(types[i], opts.enumAsInt) })),
    rows: rows.slice(0, req.limit).map((r) => shape(r.acc.dims, r.acc.range, r.values)),
    rowCount: rows.length,
    kind: 'analyticsData#runRealtimeReport',
  };
  if (req.metricAggregations.includes('TOTAL')) response.totals = totals.map((t, i) => shape(reserved(RESERVED.TOTAL), i, metricsOf(t)));
  for (const [agg, field, label, pick] of [
    ['MAXIMUM', 'maximums', RESERVED.MAXIMUM, Math.max],
    ['MINIMUM', 'minimums', RESERVED.MINIMUM, Math.min],
  ] as const) {
    if (!req.metricAggregations.includes(agg)) continue;
    response[field] = req.minuteRanges.map((_, i) => {
      const inRange = rows.filter((r) => r.acc.range === i);
      return shape(
        reserved(label),
        i,
        req.metrics.map((_, m) => (inRange.length ? pick(...inRange.map((r) => r.values[m])) : 0)),
      );
    });
  }
  return { response: compact(response), scanned: events.length };
}

function minutesAgo(ms: number, now: number): number {
  return Math.max(0, Math.floor((now - ms) / 60_000));
}

function newAcc(dims: string[], range: number): Acc {
  return { dims, range, events: 0, views: 0, keyEvents: 0, users: new Set() };
}

function metricValue(a: Acc, m: RealtimeMetric): number {
  if (m === 'activeUsers') return a.users.size;
  if (m === 'eventCount') return a.events;
  if (m === 'keyEvents') return a.keyEvents;
  return a.views;
}

function compareRows(req: RealtimeRequest, x: { acc: Acc; values: number[] }, y: { acc: Acc; values: number[] }): number {
  const byCode = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  for (const o of req.orderBys) {
    let c: number;
    if (o.kind === 'metric') {
      const i = req.metrics.indexOf(o.metricName as RealtimeMetric);
      c = x.values[i] - y.values[i];
    } else {
      const i = req.dimensions.indexOf(o.dimensionName);
      const a = x.acc.dims[i];
      const b = y.acc.dims[i];
      if (o.orderType === 'NUMERIC') c = (Number(a) || 0) - (Number(b) || 0);
      else if (o.orderType === 'CASE_INSENSITIVE_ALPHANUMERIC') c = byCode(a.toLowerCase(), b.toLowerCase());
      else c = byCode(a, b);
    }
    if (c !== 0) return o.desc ? -c : c;
  }
  if (req.orderBys.length === 0 && req.metrics.length > 0 && x.values[0] !== y.values[0]) return y.values[0] - x.values[0];
  for (let i = 0; i < x.acc.dims.length; i++) {
    const c = byCode(x.acc.dims[i], y.acc.dims[i]);
    if (c !== 0) return c;
  }
  return x.acc.range - y.acc.range;
}

function walkFilter(e: FilterExpr | undefined, visit: (f: Filter) => void): void {
  if (!e) return;
  if (e.kind === 'and' || e.kind === 'or') return e.expressions.forEach((x) => walkFilter(x, visit));
  if (e.kind === 'not') return walkFilter(e.expression, visit);
  visit(e.filter);
}

const regexCache = new Map<string, RegExp>();

/** A filter expression evaluated in memory, with the warehouse compiler's meaning of each leaf. */
export function matches(e: FilterExpr, value: (field: string) => string | number): boolean {
  if (e.kind === 'and') return e.expressions.every((x) => matches(x, value));
  if (e.kind === 'or') return e.expressions.some((x) => matches(x, value));
  if (e.kind === 'not') return !matches(e.expression, value);
  const f = e.filter;
  const raw = value(f.fieldName);
  const text = String(raw);
  switch (f.kind) {
    case 'string': {
      const cs = f.caseSensitive;
      if (f.matchType === 'FULL_REGEXP' || f.matchType === 'PARTIAL_REGEXP') return regex(f.value, f.matchType === 'FULL_REGEXP', cs).test(text);
      const x = cs ? text : text.toLowerCase();
      const v = cs ? f.value : f.value.toLowerCase();
      if (f.matchType === 'EXACT') return x === v;
      if (f.matchType === 'BEGINS_WITH') return x.startsWith(v);
      if (f.matchType === 'ENDS_WITH') return x.endsWith(v);
      return x.includes(v);
    }
    case 'inList':
      return f.caseSensitive ? f.values.includes(text) : f.values.some((v) => v.toLowerCase() === text.toLowerCase());
    case 'numeric': {
      const n = typeof raw === 'number' ? raw : Number(text);
      if (!Number.isFinite(n)) return false;
      const ops = {
        EQUAL: n === f.value,
        LESS_THAN: n < f.value,
        LESS_THAN_OR_EQUAL: n <= f.value,
        GREATER_THAN: n > f.value,
        GREATER_THAN_OR_EQUAL: n >= f.value,
      };
      return ops[f.operation];
    }
    case 'between': {
      const n = typeof raw === 'number' ? raw : Number(text);
      return Number.isFinite(n) && n >= f.from && n <= f.to;
    }
    default:
      return text === '' || text === '(not set)';
  }
}

/** RE2 patterns (already syntax-checked) in JavaScript: a leading `(?i)` becomes the `i` flag. */
function regex(pattern: string, full: boolean, caseSensitive: boolean): RegExp {
  const key = `${full ? 'f' : 'p'}${caseSensitive ? 'c' : 'i'}${pattern}`;
  let re = regexCache.get(key);
  if (!re) {
    const inlineI = pattern.startsWith('(?i)');
    const body = inlineI ? pattern.slice(4) : pattern;
    re = new RegExp(full ? `^(?:${body})$` : body, caseSensitive && !inlineI ? 'u' : 'iu');
    if (regexCache.size > 1000) regexCache.clear();
    regexCache.set(key, re);
  }
  return re;
}

import { findDimension, findMetric, type DimensionDef, type MetricDef } from './catalog.js';
import { enumName, METRIC_AGGREGATION, ORDER_TYPE } from './ga4-enums.js';
import { MAX_REPORT_DATE, MIN_REPORT_DATE, resolveDateRange } from './date-ranges.js';
import { bool, int64, invalid, list, object, optionalString, requiredString } from './proto-json.js';
import { checkFilterFields, checkFilterSize, parseFilterExpr, type FilterExpr } from './report-filter.js';
import { badEnum, DEFAULT_LIMIT, MAX_LIMIT, REQUEST_LIMITS, unknownDimensionError, unknownMetricError } from './report-request.limits.js';

export { invalid };

/** A validated RunReportRequest (GA4-DEFINITIONS §C.2), dates resolved in the property's zone. */
export interface ReportRequest {
  dimensions: RequestedDimension[];
  metrics: RequestedMetric[];
  dateRanges: ResolvedDateRange[];
  dimensionFilter?: FilterExpr;
  metricFilter?: FilterExpr;
  offset: number;
  limit: number;
  metricAggregations: Aggregation[];
  orderBys: OrderBy[];
  currencyCode?: string;
  keepEmptyRows: boolean;
  returnPropertyQuota: boolean;
  /** Named comparisons: each produces its own rows, labelled in the `comparison` column. */
  comparisons: Comparison[];
  /** Where the `comparison` column sits among the response's dimensions (requested, or after them). */
  comparisonPosition: number;
}

export interface Comparison {
  name: string;
  filter: FilterExpr;
}

/** Comparisons per request (GA4 documents no number; its UI offers up to 4). */
export const MAX_COMPARISONS = 4;

export type Aggregation = 'TOTAL' | 'MAXIMUM' | 'MINIMUM' | 'COUNT';

export interface ResolvedDateRange {
  startDate: string;
  endDate: string;
  name: string;
}

export type DimensionExpression =
  { kind: 'lowerCase' | 'upperCase'; dimensionName: string } | { kind: 'concatenate'; dimensionNames: string[]; delimiter: string };

export interface RequestedDimension {
  /** The name the response uses (as requested, deprecated names included). */
  name: string;
  def?: DimensionDef;
  expression?: DimensionExpression;
}

export type MetricExpression =
  | { kind: 'metric'; name: string; def: MetricDef }
  | { kind: 'number'; value: number }
  | { kind: 'op'; op: '+' | '-' | '*' | '/'; left: MetricExpression; right: MetricExpression }
  | { kind: 'neg'; of: MetricExpression };

export interface RequestedMetric {
  name: string;
  def?: MetricDef;
  expression?: MetricExpression;
  invisible: boolean;
}

export type OrderBy =
  | { kind: 'metric'; metricName: string; desc: boolean }
  | { kind: 'dimension'; dimensionName: string; orderType: 'ALPHANUMERIC' | 'CASE_INSENSITIVE_ALPHANUMERIC' | 'NUMERIC'; desc: boolean };

export interface ParseContext {
  /** The property's IANA time zone: relative dates resolve in it. */
  timeZone: string;
  now?: Date;
}

/** Every field of a RunReportRequest the parser reads (report.api.ts's schema has the same). */
export const REQUEST_KEYS = [
  'property',
  'dimensions',
  'metrics',
  'dateRanges',
  'dimensionFilter',
  'metricFilter',
  'offset',
  'limit',
  'metricAggregations',
  'orderBys',
  'currencyCode',
  'cohortSpec',
  'keepEmptyRows',
  'returnPropertyQuota',
  'comparisons',
] as const;

/** Validates a RunReportRequest body. Throws TallyError('invalid_argument') naming the field. */
export function parseRunReportRequest(body: unknown, ctx: ParseContext): ReportRequest {
  const r = object(body, '', REQUEST_KEYS);
  if (r.cohortSpec !== undefined && r.cohortSpec !== null) throw invalid('cohortSpec is answered by runReport only.', 'cohortSpec');
  const comparisons = list(r.comparisons, 'comparisons').map((v, i) => parseComparison(v, `comparisons[${i}]`));
  if (comparisons.length > MAX_COMPARISONS) throw invalid(`Requests are limited to ${MAX_COMPARISONS} comparisons.`, 'comparisons');
  if (new Set(comparisons.map((c) => c.name)).size !== comparisons.length) throw invalid('Comparison names must be unique.', 'comparisons');
  // `comparison` is a dimension only in the response: its place, when requested, is kept
  const rawDims = list(r.dimensions, 'dimensions');
  const comparisonAt = rawDims.findIndex((d) => (d as { name?: unknown } | null)?.name === 'comparison');
  if (comparisonAt >= 0 && comparisons.length === 0) throw invalid('The comparison dimension requires comparisons in the request.', 'comparison');
  const dimensions = parseDimensions(comparisonAt >= 0 ? rawDims.filter((_, i) => i !== comparisonAt) : r.dimensions);
  const metrics = parseMetrics(r.metrics);
  const dateRanges = list(r.dateRanges, 'date_ranges').map((v, i) => parseDateRange(v, `date_ranges[${i}]`, i, ctx));
  if (dateRanges.length === 0) throw invalid('Must specify at least one date range.', 'dateRanges');
  if (dateRanges.length > 4) throw invalid('Requests are limited to 4 dateRanges.', 'dateRanges');

  const limit = int64(r.limit, 'limit') ?? DEFAULT_LIMIT;
  if (limit < 0) throw invalid(`limit must be positive; received ${limit}.`, 'limit');
  const offset = int64(r.offset, 'offset') ?? 0;
  if (offset < 0) throw invalid(`offset must be non-negative; received ${offset}.`, 'offset');

  const metricAggregations = list(r.metricAggregations, 'metric_aggregations').map((v, i) => {
    const name = enumName(METRIC_AGGREGATION, v);
    if (!name || name === 'METRIC_AGGREGATION_UNSPECIFIED') {
      throw badEnum(`metric_aggregations[${i}]`, 'MetricAggregation', v);
    }
    return name;
  });

  const dimensionFilter = r.dimensionFilter == null ? undefined : parseFilterExpr(r.dimensionFilter, 'dimension_filter', 1);
  const metricFilter = r.metricFilter == null ? undefined : parseFilterExpr(r.metricFilter, 'metric_filter', 1);
  checkFilterSize([dimensionFilter, metricFilter, ...comparisons.map((c) => c.filter)]);
  if (dimensionFilter) checkFilterFields(dimensionFilter, 'dimension', dimensions);
  for (const c of comparisons) checkFilterFields(c.filter, 'dimension', []);
  if (metricFilter) checkFilterFields(metricFilter, 'metric', dimensions);

  const orderBys = list(r.orderBys, 'order_bys').map((v, i) => parseOrderBy(v, `order_bys[${i}]`));
  for (const o of orderBys) {
    if (o.kind === 'dimension') {
      const ok = dimensions.some((d) => d.name === o.dimensionName) || (o.dimensionName === 'dateRange' && dateRanges.length > 1);
      if (!ok) throw invalid(`Field ${o.dimensionName} in orderBys must be one of the request's dimensions.`, o.dimensionName);
    } else if (!metrics.some((m) => m.name === o.metricName) && !findMetric(o.metricName)) {
      throw unknownMetricError(o.metricName);
    }
  }

  let currencyCode: string | undefined;
  if (r.currencyCode !== undefined && r.currencyCode !== '') {
    if (typeof r.currencyCode !== 'string' || !/^[A-Z]{3}$/.test(r.currencyCode)) {
      throw invalid(`currencyCode must be an ISO 4217 code such as "USD"; received ${JSON.stringify(r.currencyCode)}.`, 'currencyCode');
    }
    currencyCode = r.currencyCode;
  }

  return {
    dimensions,
    metrics,
    dateRanges,
    dimensionFilter,
    metricFilter,
    offset,
    limit: limit === 0 ? DEFAULT_LIMIT : Math.min(limit, MAX_LIMIT),
    metricAggregations,
    orderBys,
    currencyCode,
    keepEmptyRows: bool(r.keepEmptyRows, 'keepEmptyRows'),
    returnPropertyQuota: bool(r.returnPropertyQuota, 'returnPropertyQuota'),
    comparisons,
    comparisonPosition: comparisonAt >= 0 ? comparisonAt : dimensions.length,
  };
}

function parseComparison(value: unknown, path: string): Comparison {
  const c = object(value, path, ['name', 'dimensionFilter', 'comparison']);
  if (c.comparison != null && c.comparison !== '') {
    throw invalid(`${path}.comparison: Tally has no saved comparisons (metadata lists none); send a dimensionFilter.`, `${path}.comparison`);
  }
  if (c.dimensionFilter == null) throw invalid(`${path} must set dimensionFilter.`, path);
  const name = optionalString(c.name, `${path}.name`);
  if (!name) throw invalid(`${path}.name is required for a comparison with a dimensionFilter.`, `${path}.name`);
  return { name, filter: parseFilterExpr(c.dimensionFilter, `${path}.dimension_filter`, 1) };
}

function parseDimensions(value: unknown): RequestedDimension[] {
  const raw = list(value, 'dimensions');
  if (raw.length > 9) throw invalid('Requests are limited to 9 dimensions.', 'dimensions');
  const out: RequestedDimension[] = [];
  raw.forEach((v, i) => {
    const path = `dimensions[${i}]`;
    const d = object(v, path, ['name', 'dimensionExpression']);
    const name = requiredString(d.name, `${path}.name`);
    if (out.some((o) => o.name === name)) throw invalid(`Duplicate dimension name ${name}.`, name);
    if (d.dimensionExpression != null) {
      out.push({ name, expression: parseDimensionExpression(d.dimensionExpression, `${path}.dimension_expression`) });
      return;
    }
    const def = findDimension(name);
    if (!def) throw unknownDimensionError(name);
    out.push({ name, def });
  });
  for (const d of out) {
    if (!d.expression) continue;
    const refs = d.expression.kind === 'concatenate' ? d.expression.dimensionNames : [d.expression.dimensionName];
    for (const ref of refs) {
      if (!findDimension(ref)) throw unknownDimensionError(ref);
    }
  }
  return out;
}

function parseDimensionExpression(value: unknown, path: string): DimensionExpression {
  const e = object(value, path, ['lowerCase', 'upperCase', 'concatenate']);
  const set = (['lowerCase', 'upperCase', 'concatenate'] as const).filter((k) => e[k] != null);
  if (set.length !== 1) throw invalid(`${path} must set exactly one of lowerCase, upperCase, concatenate.`, path);
  const kind = set[0];
  if (kind === 'concatenate') {
    const c = object(e.concatenate, `${path}.concatenate`, ['dimensionNames', 'delimiter']);
    const names = list(c.dimensionNames, `${path}.concatenate.dimension_names`).map((n, i) => requiredString(n, `${path}.concatenate.dimension_names[${i}]`));
    if (names.length === 0) throw invalid(`${path}.concatenate.dimensionNames must not be empty.`, path);
    return { kind, dimensionNames: names, delimiter: optionalString(c.delimiter, `${path}.concatenate.delimiter`) ?? '' };
  }
  const c = object(e[kind], `${path}.${kind}`, ['dimensionName']);
  return { kind, dimensionName: requiredString(c.dimensionName, `${path}.${kind}.dimension_name`) };
}

function parseMetrics(value: unknown): RequestedMetric[] {
  const raw = list(value, 'metrics');
  if (raw.length > 10) throw invalid('Requests are limited to 10 metrics.', 'metrics');
  const out: RequestedMetric[] = [];
  raw.forEach((v, i) => {
    const path = `metrics[${i}]`;
    const m = object(v, path, ['name', 'expression', 'invisible']);
    const name = requiredString(m.name, `${path}.name`);
    if (out.some((o) => o.name === name)) throw invalid(`Duplicate metric name ${name}.`, name);
    const invisible = bool(m.invisible, `${path}.invisible`);
    if (m.expression != null && m.expression !== '') {
      const text = requiredString(m.expression, `${path}.expression`);
      out.push({ name, expression: parseMetricExpression(text, `${path}.expression`), invisible });
      return;
    }
    const def = findMetric(name);
    if (!def) throw unknownMetricError(name);
    out.push({ name, def, invisible });
  });
  return out;
}

/** `eventCount/totalUsers`, `(sessions - engagedSessions) * 2`: + - * / over metric names and numbers. */
export function parseMetricExpression(text: string, path: string): MetricExpression {
  const tokens = text.match(/\s*([A-Za-z_][A-Za-z0-9_:]*|\d+(?:\.\d+)?|[-+*/()])/g);
  if (!tokens || tokens.join('').replace(/\s+/g, '') !== text.replace(/\s+/g, '')) {
    throw invalid(`Invalid metric expression "${text}" at ${path}.`, path);
  }
  if (tokens.length > REQUEST_LIMITS.expressionTokens) {
    throw invalid(`Metric expressions are limited to ${REQUEST_LIMITS.expressionTokens} terms and operators; ${path} has ${tokens.length}.`, path);
  }
  const toks = tokens.map((t) => t.trim());
  let pos = 0;
  const peek = () => toks[pos];
  const fail = (): never => {
    throw invalid(`Invalid metric expression "${text}" at ${path}.`, path);
  };
  const primary = (): MetricExpression => {
    const t = toks[pos++];
    if (t === undefined) return fail();
    if (t === '(') {
      const e = sum();
      if (toks[pos++] !== ')') fail();
      return e;
    }
    if (t === '-') return { kind: 'neg', of: primary() };
    if (/^\d/.test(t)) return { kind: 'number', value: Number(t) };
    if (/^[A-Za-z_]/.test(t)) {
      const def = findMetric(t);
      if (!def) throw unknownMetricError(t);
      return { kind: 'metric', name: t, def };
    }
    return fail();
  };
  // one precedence level: operands of the next level joined left to right by these operators
  const level = (ops: readonly string[], operand: () => MetricExpression) => (): MetricExpression => {
    let left = operand();
    while (ops.includes(peek())) {
      const op = toks[pos++] as '+' | '-' | '*' | '/';
      left = { kind: 'op', op, left, right: operand() };
    }
    return left;
  };
  const product = level(['*', '/'], primary);
  const sum = level(['+', '-'], product);
  const e = sum();
  if (pos !== toks.length) fail();
  return e;
}

const RESERVED_RANGE = /^(date_range_|RESERVED_)/;

export function parseDateRange(value: unknown, path: string, index: number, ctx: ParseContext): ResolvedDateRange {
  const d = object(value, path, ['startDate', 'endDate', 'name']);
  const start = requiredString(d.startDate, `${path}.start_date`);
  const end = requiredString(d.endDate, `${path}.end_date`);
  const name = optionalString(d.name, `${path}.name`);
  if (name && RESERVED_RANGE.test(name)) {
    throw invalid(`${path}.name "${name}" must not start with "date_range_" or "RESERVED_".`, `${path}.name`);
  }
  const startDate = resolveDateRange(start, ctx);
  const endDate = resolveDateRange(end, ctx);
  if (!startDate)
    throw invalid(
      `Invalid startDate "${start}" at ${path}; use YYYY-MM-DD, NdaysAgo, yesterday or today, from ${MIN_REPORT_DATE} to ${MAX_REPORT_DATE}.`,
      `${path}.start_date`,
    );
  if (!endDate)
    throw invalid(
      `Invalid endDate "${end}" at ${path}; use YYYY-MM-DD, NdaysAgo, yesterday or today, from ${MIN_REPORT_DATE} to ${MAX_REPORT_DATE}.`,
      `${path}.end_date`,
    );
  if (startDate > endDate) throw invalid(`${path}: startDate ${startDate} is after endDate ${endDate}.`, path);
  return { startDate, endDate, name: name || `date_range_${index}` };
}

export function parseOrderBy(value: unknown, path: string): OrderBy {
  const o = object(value, path, ['desc', 'metric', 'dimension', 'pivot']);
  const desc = bool(o.desc, `${path}.desc`);
  if (o.pivot != null) throw invalid(`${path}.pivot is only valid in runPivotReport.`, path);
  if ((o.metric != null) === (o.dimension != null)) throw invalid(`${path} must set exactly one of metric, dimension.`, path);
  if (o.metric != null) {
    const m = object(o.metric, `${path}.metric`, ['metricName']);
    return { kind: 'metric', metricName: requiredString(m.metricName, `${path}.metric.metric_name`), desc };
  }
  const d = object(o.dimension, `${path}.dimension`, ['dimensionName', 'orderType']);
  const t = d.orderType === undefined ? 'ALPHANUMERIC' : enumName(ORDER_TYPE, d.orderType);
  if (!t) throw badEnum(`${path}.dimension.order_type`, 'OrderBy.DimensionOrderBy.OrderType', d.orderType);
  return {
    kind: 'dimension',
    dimensionName: requiredString(d.dimensionName, `${path}.dimension.dimension_name`),
    orderType: t === 'ORDER_TYPE_UNSPECIFIED' ? 'ALPHANUMERIC' : t,
    desc,
  };
}

import { TallyError } from '../infra/errors.js';
import { findDimension, findMetric, type DimensionDef, type MetricDef } from './catalog.js';
import { enumName, MATCH_TYPE, METRIC_AGGREGATION, NUMERIC_OPERATION, ORDER_TYPE } from './ga4-enums.js';
import { MAX_REPORT_DATE, MIN_REPORT_DATE, resolveDateRange } from './date-ranges.js';
import { bool, int64, invalid, list, object, optionalString, requiredString } from './proto-json.js';

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
}

export type Aggregation = 'TOTAL' | 'MAXIMUM' | 'MINIMUM';

export interface ResolvedDateRange {
  startDate: string;
  endDate: string;
  name: string;
}

export type DimensionExpression =
  | { kind: 'lowerCase' | 'upperCase'; dimensionName: string }
  | { kind: 'concatenate'; dimensionNames: string[]; delimiter: string };

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

export type FilterExpr =
  | { kind: 'and'; expressions: FilterExpr[] }
  | { kind: 'or'; expressions: FilterExpr[] }
  | { kind: 'not'; expression: FilterExpr }
  | { kind: 'filter'; filter: Filter };

export type MatchType = 'EXACT' | 'BEGINS_WITH' | 'ENDS_WITH' | 'CONTAINS' | 'FULL_REGEXP' | 'PARTIAL_REGEXP';
export type NumericOperation = 'EQUAL' | 'LESS_THAN' | 'LESS_THAN_OR_EQUAL' | 'GREATER_THAN' | 'GREATER_THAN_OR_EQUAL';

export type Filter = { fieldName: string } & (
  | { kind: 'string'; matchType: MatchType; value: string; caseSensitive: boolean }
  | { kind: 'inList'; values: string[]; caseSensitive: boolean }
  | { kind: 'numeric'; operation: NumericOperation; value: number }
  | { kind: 'between'; from: number; to: number }
  | { kind: 'empty' }
);

export type OrderBy =
  | { kind: 'metric'; metricName: string; desc: boolean }
  | { kind: 'dimension'; dimensionName: string; orderType: 'ALPHANUMERIC' | 'CASE_INSENSITIVE_ALPHANUMERIC' | 'NUMERIC'; desc: boolean };

export interface ParseContext {
  /** The property's IANA time zone: relative dates resolve in it. */
  timeZone: string;
  now?: Date;
}

export const MAX_LIMIT = 250_000;
export const DEFAULT_LIMIT = 10_000;
/**
 * Bounds on what one request may ask for, so that no request can exhaust the parser's stack,
 * the compiler or the warehouse (issue 9 §4, §5). GA4 documents none of these numbers; they are
 * far above what its own UI ever sends.
 */
export const REQUEST_LIMITS = {
  /** andGroup / orGroup / notExpression nesting, per filter. */
  filterDepth: 16,
  /**
   * Leaf filters, over dimensionFilter and metricFilter together. Each is an expression the
   * warehouse plans in every CTE of up to three queries: on DuckDB, 500 of them took 8–12 s to
   * plan on a loaded 2-core machine, and planning does not see an interrupt.
   */
  filterTerms: 100,
  /** inList values over both filters (a plain IN list: far cheaper per term). */
  inListValues: 1_000,
  /** Characters of one string filter value or inList value. */
  valueLength: 2_000,
  /** Tokens of one metric expression (names, numbers, operators, parentheses). */
  expressionTokens: 100,
  /** Regular expression filters per request (each is compiled by the warehouse). */
  regexFilters: 20,
} as const;
const SCHEMA_URL = 'https://developers.google.com/analytics/devguides/reporting/data/v1/api-schema';
const TYPE_PREFIX = 'type.googleapis.com/google.analytics.data.v1beta.';

export function unknownDimensionError(name: string): TallyError {
  return invalid(`Field ${name} is not a valid dimension. For a list of valid dimensions and metrics, see ${SCHEMA_URL} `, name);
}

export function unknownMetricError(name: string): TallyError {
  return invalid(`Field ${name} is not a valid metric. For a list of valid dimensions and metrics, see ${SCHEMA_URL} `, name);
}

const REQUEST_KEYS = [
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
  if (r.cohortSpec !== undefined && r.cohortSpec !== null) throw invalid('cohortSpec is not supported.', 'cohortSpec');
  if (Array.isArray(r.comparisons) && r.comparisons.length > 0) {
    throw invalid('comparisons are not supported.', 'comparisons');
  }

  const dimensions = parseDimensions(r.dimensions);
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
    if (!name || name === 'METRIC_AGGREGATION_UNSPECIFIED' || name === 'COUNT') {
      throw badEnum(`metric_aggregations[${i}]`, 'MetricAggregation', v);
    }
    return name;
  });

  const dimensionFilter = r.dimensionFilter == null ? undefined : parseFilterExpr(r.dimensionFilter, 'dimension_filter', 1);
  const metricFilter = r.metricFilter == null ? undefined : parseFilterExpr(r.metricFilter, 'metric_filter', 1);
  checkFilterSize([dimensionFilter, metricFilter]);
  if (dimensionFilter) checkFilterFields(dimensionFilter, 'dimension', dimensions);
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
  };
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
    const names = list(c.dimensionNames, `${path}.concatenate.dimension_names`).map((n, i) =>
      requiredString(n, `${path}.concatenate.dimension_names[${i}]`),
    );
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
  const product = (): MetricExpression => {
    let left = primary();
    while (peek() === '*' || peek() === '/') {
      const op = toks[pos++] as '*' | '/';
      left = { kind: 'op', op, left, right: primary() };
    }
    return left;
  };
  const sum = (): MetricExpression => {
    let left = product();
    while (peek() === '+' || peek() === '-') {
      const op = toks[pos++] as '+' | '-';
      left = { kind: 'op', op, left, right: product() };
    }
    return left;
  };
  const e = sum();
  if (pos !== toks.length) fail();
  return e;
}

const RESERVED_RANGE = /^(date_range_|RESERVED_)/;

function parseDateRange(value: unknown, path: string, index: number, ctx: ParseContext): ResolvedDateRange {
  const d = object(value, path, ['startDate', 'endDate', 'name']);
  const start = requiredString(d.startDate, `${path}.start_date`);
  const end = requiredString(d.endDate, `${path}.end_date`);
  const name = optionalString(d.name, `${path}.name`);
  if (name && RESERVED_RANGE.test(name)) {
    throw invalid(`${path}.name "${name}" must not start with "date_range_" or "RESERVED_".`, `${path}.name`);
  }
  const startDate = resolveDateRange(start, ctx);
  const endDate = resolveDateRange(end, ctx);
  if (!startDate) throw invalid(`Invalid startDate "${start}" at ${path}; use YYYY-MM-DD, NdaysAgo, yesterday or today, from ${MIN_REPORT_DATE} to ${MAX_REPORT_DATE}.`, `${path}.start_date`);
  if (!endDate) throw invalid(`Invalid endDate "${end}" at ${path}; use YYYY-MM-DD, NdaysAgo, yesterday or today, from ${MIN_REPORT_DATE} to ${MAX_REPORT_DATE}.`, `${path}.end_date`);
  if (startDate > endDate) throw invalid(`${path}: startDate ${startDate} is after endDate ${endDate}.`, path);
  return { startDate, endDate, name: name || `date_range_${index}` };
}

const FILTER_EXPR_KEYS = ['andGroup', 'orGroup', 'notExpression', 'filter'] as const;

function parseFilterExpr(value: unknown, path: string, depth: number): FilterExpr {
  if (depth > REQUEST_LIMITS.filterDepth) {
    throw invalid(`Filter expressions are limited to ${REQUEST_LIMITS.filterDepth} levels of nesting (at ${path}).`, path);
  }
  const e = object(value, path, FILTER_EXPR_KEYS);
  const set = FILTER_EXPR_KEYS.filter((k) => e[k] != null);
  if (set.length !== 1) throw invalid(`${path} must set exactly one of andGroup, orGroup, notExpression, filter.`, path);
  switch (set[0]) {
    case 'andGroup':
    case 'orGroup': {
      const key = set[0];
      const snake = key === 'andGroup' ? 'and_group' : 'or_group';
      const g = object(e[key], `${path}.${snake}`, ['expressions']);
      const expressions = list(g.expressions, `${path}.${snake}.expressions`).map((x, i) =>
        parseFilterExpr(x, `${path}.${snake}.expressions[${i}]`, depth + 1),
      );
      if (expressions.length === 0) throw invalid(`${path}.${snake}.expressions must not be empty.`, path);
      return key === 'andGroup' ? { kind: 'and', expressions } : { kind: 'or', expressions };
    }
    case 'notExpression':
      return { kind: 'not', expression: parseFilterExpr(e.notExpression, `${path}.not_expression`, depth + 1) };
    default:
      return { kind: 'filter', filter: parseFilter(e.filter, `${path}.filter`) };
  }
}

const FILTER_KINDS = ['stringFilter', 'inListFilter', 'numericFilter', 'betweenFilter', 'emptyFilter'] as const;

function parseFilter(value: unknown, path: string): Filter {
  const f = object(value, path, ['fieldName', ...FILTER_KINDS]);
  const fieldName = requiredString(f.fieldName, `${path}.field_name`);
  const set = FILTER_KINDS.filter((k) => f[k] != null);
  if (set.length !== 1) {
    throw invalid(`${path} must set exactly one of stringFilter, inListFilter, numericFilter, betweenFilter, emptyFilter.`, path);
  }
  switch (set[0]) {
    case 'stringFilter': {
      const p = `${path}.string_filter`;
      const s = object(f.stringFilter, p, ['matchType', 'value', 'caseSensitive']);
      const matchType = s.matchType === undefined ? 'EXACT' : enumName(MATCH_TYPE, s.matchType);
      if (!matchType) throw badEnum(`${p}.match_type`, 'Filter.StringFilter.MatchType', s.matchType);
      const mt: MatchType = matchType === 'MATCH_TYPE_UNSPECIFIED' ? 'EXACT' : matchType;
      const v = optionalString(s.value, `${p}.value`) ?? '';
      checkValueLength(v, `${p}.value`);
      return { fieldName, kind: 'string', matchType: mt, value: v, caseSensitive: bool(s.caseSensitive, `${p}.case_sensitive`) };
    }
    case 'inListFilter': {
      const p = `${path}.in_list_filter`;
      const s = object(f.inListFilter, p, ['values', 'caseSensitive']);
      const values = list(s.values, `${p}.values`).map((x, i) => checkValueLength(requiredString(x, `${p}.values[${i}]`, true), `${p}.values[${i}]`));
      if (values.length === 0) throw invalid(`${p}.values must not be empty.`, `${p}.values`);
      return { fieldName, kind: 'inList', values, caseSensitive: bool(s.caseSensitive, `${p}.case_sensitive`) };
    }
    case 'numericFilter': {
      const p = `${path}.numeric_filter`;
      const s = object(f.numericFilter, p, ['operation', 'value']);
      const op = enumName(NUMERIC_OPERATION, s.operation);
      if (!op || op === 'OPERATION_UNSPECIFIED') throw badEnum(`${p}.operation`, 'Filter.NumericFilter.Operation', s.operation);
      return { fieldName, kind: 'numeric', operation: op, value: numericValue(s.value, `${p}.value`) };
    }
    case 'betweenFilter': {
      const p = `${path}.between_filter`;
      const s = object(f.betweenFilter, p, ['fromValue', 'toValue']);
      return { fieldName, kind: 'between', from: numericValue(s.fromValue, `${p}.from_value`), to: numericValue(s.toValue, `${p}.to_value`) };
    }
    default:
      object(f.emptyFilter, `${path}.empty_filter`, []);
      return { fieldName, kind: 'empty' };
  }
}

function numericValue(value: unknown, path: string): number {
  const v = object(value, path, ['int64Value', 'doubleValue']);
  if (v.int64Value != null) {
    const n = int64(v.int64Value, `${path}.int64_value`);
    if (n === undefined) throw invalid(`${path}.int64_value is required.`, path);
    return n;
  }
  if (v.doubleValue != null) {
    const n = typeof v.doubleValue === 'string' ? Number(v.doubleValue) : v.doubleValue;
    if (typeof n !== 'number' || !Number.isFinite(n)) throw invalid(`Invalid value at '${path}.double_value', ${JSON.stringify(v.doubleValue)}.`, path);
    return n;
  }
  throw invalid(`${path} must set int64Value or doubleValue.`, path);
}

function checkValueLength(value: string, path: string): string {
  if (value.length > REQUEST_LIMITS.valueLength) {
    throw invalid(`${path} is longer than ${REQUEST_LIMITS.valueLength} characters.`, path);
  }
  return value;
}

function checkFilterSize(filters: (FilterExpr | undefined)[]): void {
  let terms = 0;
  let values = 0;
  let regexes = 0;
  const walk = (e: FilterExpr): void => {
    if (e.kind === 'and' || e.kind === 'or') return e.expressions.forEach(walk);
    if (e.kind === 'not') return walk(e.expression);
    terms++;
    if (e.filter.kind === 'inList') values += e.filter.values.length;
    if (e.filter.kind === 'string' && (e.filter.matchType === 'FULL_REGEXP' || e.filter.matchType === 'PARTIAL_REGEXP')) regexes++;
  };
  filters.forEach((f) => f && walk(f));
  if (terms > REQUEST_LIMITS.filterTerms) {
    throw invalid(`Filters are limited to ${REQUEST_LIMITS.filterTerms} terms; received ${terms}.`, 'dimensionFilter');
  }
  if (values > REQUEST_LIMITS.inListValues) {
    throw invalid(`inList filters are limited to ${REQUEST_LIMITS.inListValues} values in all; received ${values}.`, 'dimensionFilter');
  }
  if (regexes > REQUEST_LIMITS.regexFilters) {
    throw invalid(`Requests are limited to ${REQUEST_LIMITS.regexFilters} regular expression filters; received ${regexes}.`, 'dimensionFilter');
  }
}

/** Every FULL_REGEXP / PARTIAL_REGEXP pattern of the request, with its field, for a syntax check. */
export function regexFilters(req: Pick<ReportRequest, 'dimensionFilter' | 'metricFilter'>): { fieldName: string; pattern: string }[] {
  const out: { fieldName: string; pattern: string }[] = [];
  const walk = (e: FilterExpr): void => {
    if (e.kind === 'and' || e.kind === 'or') return e.expressions.forEach(walk);
    if (e.kind === 'not') return walk(e.expression);
    const f = e.filter;
    if (f.kind === 'string' && (f.matchType === 'FULL_REGEXP' || f.matchType === 'PARTIAL_REGEXP')) {
      out.push({ fieldName: f.fieldName, pattern: f.value });
    }
  };
  if (req.dimensionFilter) walk(req.dimensionFilter);
  if (req.metricFilter) walk(req.metricFilter);
  return out;
}

function checkFilterFields(expr: FilterExpr, kind: 'dimension' | 'metric', dims: RequestedDimension[]): void {
  if (expr.kind === 'and' || expr.kind === 'or') return expr.expressions.forEach((e) => checkFilterFields(e, kind, dims));
  if (expr.kind === 'not') return checkFilterFields(expr.expression, kind, dims);
  const f = expr.filter;
  if (kind === 'dimension') {
    if (!findDimension(f.fieldName) && !dims.some((d) => d.name === f.fieldName)) {
      throw findMetric(f.fieldName)
        ? invalid(`Field ${f.fieldName} is a metric; dimensionFilter accepts dimensions only.`, f.fieldName)
        : unknownDimensionError(f.fieldName);
    }
  } else {
    if (!findMetric(f.fieldName)) {
      throw findDimension(f.fieldName)
        ? invalid(`Field ${f.fieldName} is a dimension; metricFilter accepts metrics only.`, f.fieldName)
        : unknownMetricError(f.fieldName);
    }
    if (f.kind !== 'numeric' && f.kind !== 'between') {
      throw invalid(`Metric filter on ${f.fieldName} must be a numericFilter or betweenFilter.`, f.fieldName);
    }
  }
}

function parseOrderBy(value: unknown, path: string): OrderBy {
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

function badEnum(path: string, type: string, value: unknown): TallyError {
  return invalid(`Invalid value at '${path}' (${TYPE_PREFIX}${type}), ${JSON.stringify(value)}`, path);
}

/**
 * Refuses FULL_REGEXP / PARTIAL_REGEXP patterns RE2 does not compile (GA4 and DuckDB speak RE2;
 * the PostgreSQL warehouse refuses what its own dialect cannot compile when it runs the query).
 */
export async function checkRegexSyntax(req: Pick<ReportRequest, 'dimensionFilter' | 'metricFilter'>, syntax: { check(pattern: string): Promise<string | null> }): Promise<void> {
  for (const { fieldName, pattern } of regexFilters(req)) {
    const complaint = await syntax.check(pattern);
    if (complaint !== null) {
      throw invalid(`Invalid regular expression "${pattern}" for ${fieldName} (RE2 syntax): ${complaint}.`, fieldName);
    }
  }
}

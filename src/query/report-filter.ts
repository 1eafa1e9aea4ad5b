import { findDimension, findMetric } from './catalog.js';
import { enumName, MATCH_TYPE, NUMERIC_OPERATION } from './ga4-enums.js';
import { bool, int64, invalid, list, object, optionalString, requiredString } from './proto-json.js';
import { badEnum, REQUEST_LIMITS, unknownDimensionError, unknownMetricError } from './report-request.limits.js';

/** The dimensionFilter / metricFilter of a RunReportRequest: their shape, parsing and checks. */

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

/** The two filters of a report request. */
export interface ReportFilters {
  dimensionFilter?: FilterExpr;
  metricFilter?: FilterExpr;
}

const FILTER_EXPR_KEYS = ['andGroup', 'orGroup', 'notExpression', 'filter'] as const;

export function parseFilterExpr(value: unknown, path: string, depth: number): FilterExpr {
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

export function parseFilter(value: unknown, path: string): Filter {
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

export function checkFilterSize(filters: (FilterExpr | undefined)[]): void {
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
export function regexFilters(req: ReportFilters): { fieldName: string; pattern: string }[] {
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

export function checkFilterFields(expr: FilterExpr, kind: 'dimension' | 'metric', dims: readonly { name: string }[]): void {
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

/**
 * Refuses FULL_REGEXP / PARTIAL_REGEXP patterns RE2 does not compile (GA4 and DuckDB speak RE2;
 * the PostgreSQL warehouse refuses what its own dialect cannot compile when it runs the query).
 */
export async function checkRegexSyntax(req: ReportFilters, syntax: { check(pattern: string): Promise<string | null> }): Promise<void> {
  for (const { fieldName, pattern } of regexFilters(req)) {
    const complaint = await syntax.check(pattern);
    if (complaint !== null) {
      throw invalid(`Invalid regular expression "${pattern}" for ${fieldName} (RE2 syntax): ${complaint}.`, fieldName);
    }
  }
}

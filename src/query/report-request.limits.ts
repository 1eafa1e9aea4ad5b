import type { TallyError } from '../infra/errors.js';
import { invalid } from './proto-json.js';

/** The bounds of a RunReportRequest, and the GA-worded refusals of its fields. */

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

export function badEnum(path: string, type: string, value: unknown): TallyError {
  return invalid(`Invalid value at '${path}' (${TYPE_PREFIX}${type}), ${JSON.stringify(value)}`, path);
}

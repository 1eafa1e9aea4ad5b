import { TallyError } from '../infra/errors.js';
import type { Dialect } from '../infra/warehouse/warehouse.port.js';

export type ParamType = 'text' | 'double' | 'bigint' | 'date';
export type DateFormat = 'YYYYMMDD' | 'YYYY' | 'MM' | 'DD' | 'YYYYMM';

/**
 * The few SQL spellings that differ between warehouses. Everything else the catalog and the
 * compiler write (CASE, COALESCE, ||, LOWER, left/right/strpos, COUNT(DISTINCT)) is common SQL.
 */
export interface SqlDialect {
  readonly name: Dialect;
  /** A typed placeholder for bound parameter `index` (1-based). */
  param(index: number, type: ParamType): string;
  formatDate(dateExpr: string, format: DateFormat): string;
  /** Integer 0–6, Sunday = 0. */
  dayOfWeek(dateExpr: string): string;
  /** An integer as two-digit text ('07'). */
  pad2(intExpr: string): string;
  toText(expr: string): string;
  /** Text -> double, or NULL when the text is not a number. */
  toNumber(textExpr: string): string;
  regexMatch(textExpr: string, pattern: string, full: boolean, caseSensitive: boolean): string;
  toDouble(expr: string): string;
  nullOf(type: 'bigint' | 'double'): string;
  /** Sort key in Unicode code point order. */
  codePointOrder(textExpr: string): string;
  /** Whole days from one date to another, as an integer. */
  daysBetween(fromDate: string, toDate: string): string;
  /** The text of a top-level key of a JSON text column (`keyExpr` is a bound parameter), or NULL. */
  jsonField(jsonText: string, keyExpr: string): string;
}

const DUCK_PARAM: Record<ParamType, string> = { text: 'VARCHAR', double: 'DOUBLE', bigint: 'BIGINT', date: 'DATE' };
const DUCK_DATE: Record<DateFormat, string> = { YYYYMMDD: '%Y%m%d', YYYY: '%Y', MM: '%m', DD: '%d', YYYYMM: '%Y%m' };

export const duckdbDialect: SqlDialect = {
  name: 'duckdb',
  param: (i, t) => `CAST($${i} AS ${DUCK_PARAM[t]})`,
  formatDate: (d, f) => `strftime(${d}, '${DUCK_DATE[f]}')`,
  dayOfWeek: (d) => `CAST(dayofweek(${d}) AS INTEGER)`,
  pad2: (x) => `lpad(CAST(${x} AS VARCHAR), 2, '0')`,
  toText: (x) => `CAST(${x} AS VARCHAR)`,
  toNumber: (x) => `TRY_CAST(${x} AS DOUBLE)`,
  regexMatch: (x, p, full, cs) => `${full ? 'regexp_full_match' : 'regexp_matches'}(${x}, ${p}${cs ? '' : ", 'i'"})`,
  toDouble: (x) => `CAST(${x} AS DOUBLE)`,
  nullOf: (t) => `CAST(NULL AS ${t === 'bigint' ? 'BIGINT' : 'DOUBLE'})`,
  codePointOrder: (x) => x,
  daysBetween: (a, b) => `CAST(date_diff('day', ${a}, ${b}) AS INTEGER)`,
  jsonField: (j, k) => `json_extract_string(${j}, '$.' || ${k})`,
};

const PG_PARAM: Record<ParamType, string> = { text: 'text', double: 'double precision', bigint: 'bigint', date: 'date' };

export const postgresDialect: SqlDialect = {
  name: 'postgres',
  param: (i, t) => `CAST($${i} AS ${PG_PARAM[t]})`,
  formatDate: (d, f) => `to_char(${d}, '${f}')`,
  dayOfWeek: (d) => `CAST(EXTRACT(DOW FROM ${d}) AS integer)`,
  pad2: (x) => `lpad(CAST(${x} AS text), 2, '0')`,
  toText: (x) => `CAST(${x} AS text)`,
  toNumber: (x) => `(CASE WHEN ${x} ~ '^\\s*[-+]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][-+]?[0-9]+)?\\s*$' THEN CAST(${x} AS double precision) END)`,
  regexMatch: (x, p, full, cs) => `(${x} ${cs ? '~' : '~*'} ${full ? `('^(?:' || ${p} || ')$')` : p})`,
  toDouble: (x) => `CAST(${x} AS double precision)`,
  nullOf: (t) => `CAST(NULL AS ${t === 'bigint' ? 'bigint' : 'double precision'})`,
  codePointOrder: (x) => `(${x} COLLATE "C")`,
  daysBetween: (a, b) => `(${b} - ${a})`,
  jsonField: (j, k) => `(CAST(${j} AS jsonb) ->> ${k})`,
};

const RS_TEXT = 'varchar(65535)';
const RS_PARAM: Record<ParamType, string> = { ...PG_PARAM, text: RS_TEXT };

/**
 * Redshift speaks PostgreSQL 8.0 with its own differences: `text` is VARCHAR(256) (values would
 * be truncated), there is no COLLATE "C" (VARCHAR compares bytewise, which for UTF-8 is code point
 * order already), and the POSIX `~` operators lack Perl's (?:…), so regexes go through
 * REGEXP_INSTR with the 'p' (PCRE) flag. PostgreSQL also accepts every spelling here (its 'p' flag
 * only makes `.` stop at newlines), which is how the tests run this dialect.
 */
export const redshiftDialect: SqlDialect = {
  ...postgresDialect,
  name: 'redshift',
  param: (i, t) => `CAST($${i} AS ${RS_PARAM[t]})`,
  pad2: (x) => `lpad(CAST(${x} AS ${RS_TEXT}), 2, '0')`,
  toText: (x) => `CAST(${x} AS ${RS_TEXT})`,
  regexMatch: (x, p, full, cs) => `(regexp_instr(${x}, ${full ? `'^(?:' || ${p} || ')$'` : p}, 1, 1, 0, '${cs ? 'c' : 'i'}p') > 0)`,
  codePointOrder: (x) => x,
  jsonField: (j, k) => `json_extract_path_text(${j}, ${k})`,
};

export function dialectFor(name: Dialect): SqlDialect {
  if (name === 'duckdb') return duckdbDialect;
  if (name === 'postgres') return postgresDialect;
  if (name === 'redshift') return redshiftDialect;
  throw new TallyError('unavailable', `no query dialect for warehouse ${name} yet`);
}

/** A constant from the catalog as a SQL literal. Never used for user input (that is bound). */
export function sqlLiteral(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/**
 * The few spellings in which DuckDB and Spark SQL differ, for the one transform definition
 * (`transform.sql.ts`), as `src/query/sql-dialect.ts` does for the warehouses. Everything else the
 * statements use (window functions with a WINDOW clause, FILTER, bool_or, any_value, EXISTS,
 * `||`, CAST … AS STRING/BIGINT/INTEGER/DOUBLE, TRY_CAST, greatest, floor, %) is common to both.
 */
export interface TransformDialect {
  readonly name: 'duckdb' | 'spark';
  /** A string literal: DuckDB doubles quotes; Spark also treats backslash as an escape. */
  str(value: string): string;
  /** The raw table's row identity: DuckDB's `rowid`; a column `rid` the Spark job adds on read. */
  readonly rowId: string;
  nullSafeEq(a: string, b: string): string;
  firstIgnoreNulls(x: string): string;
  lastIgnoreNulls(x: string): string;
  /** A record's JSON text (every field, nulls included, in column order): the dedup tie-break. */
  recordText(alias: string, fields: readonly string[]): string;
  /** The value at `$.key` of a JSON text as text (scalars unquoted). */
  jsonString(json: string, key: string): string;
  /** The values of `keys` in a JSON object text, as a JSON array text, one parse (attribution input). */
  jsonValues(json: string, keys: readonly string[]): string;
  /** Days since 1970-01-01 (an integer) as a DATE. */
  epochDay(days: string): string;
  /** A DOUBLE truncated toward zero to BIGINT, NULL when it does not fit (NaN, ±inf). */
  truncToBigint(x: string): string;
  /** `value` of the row with the smallest `order` among rows where `value` is not null. */
  argMinNotNull(value: string, order: string): string;
  /** A SELECT of literal rows (already spelled literals) with the given column names. */
  inlineTable(columns: readonly string[], rows: readonly (readonly string[])[]): string;
}

/** A DuckDB (and PostgreSQL) string literal. */
export function sqlString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

export const duckdbTransformDialect: TransformDialect = {
  name: 'duckdb',
  str: sqlString,
  rowId: 'rowid',
  nullSafeEq: (a, b) => `${a} IS NOT DISTINCT FROM ${b}`,
  firstIgnoreNulls: (x) => `first_value(${x} IGNORE NULLS)`,
  lastIgnoreNulls: (x) => `last_value(${x} IGNORE NULLS)`,
  recordText: (alias) => `to_json(${alias})`,
  jsonString: (json, key) => `json_extract_string(${json}, '$.${key}')`,
  jsonValues: (json, keys) => `CAST(to_json(json_extract(${json}, [${keys.map((k) => sqlString(`$."${k}"`)).join(', ')}])) AS STRING)`,
  epochDay: (days) => `(DATE '1970-01-01' + ${days})`,
  truncToBigint: (x) => `TRY_CAST(trunc(${x}) AS BIGINT)`,
  argMinNotNull: (value, order) => `arg_min(${value}, ${order}) FILTER (WHERE ${value} IS NOT NULL)`,
  inlineTable: (columns, rows) => `SELECT * FROM (VALUES ${rows.map((r) => `(${r.join(', ')})`).join(', ')}) AS t(${columns.join(', ')})`,
};

export const sparkTransformDialect: TransformDialect = {
  name: 'spark',
  str: (v) => `'${v.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`,
  rowId: 'rid',
  nullSafeEq: (a, b) => `${a} <=> ${b}`,
  firstIgnoreNulls: (x) => `first(${x}, true)`,
  lastIgnoreNulls: (x) => `last(${x}, true)`,
  recordText: (alias, fields) => `to_json(struct(${fields.map((f) => `${alias}.${f}`).join(', ')}), map('ignoreNullFields', 'false'))`,
  jsonString: (json, key) => `get_json_object(${json}, '$.${key}')`,
  jsonValues: (json, keys) =>
    `concat('[', concat_ws(',', ${keys.map((k) => `coalesce(to_json(variant_get(parse_json(${json}), '$.${k}')), 'null')`).join(', ')}), ']')`,
  epochDay: (days) => `date_from_unix_date(${days})`,
  // Spark's cast from DOUBLE truncates
  truncToBigint: (x) => `try_cast(${x} AS BIGINT)`,
  argMinNotNull: (value, order) => `min(CASE WHEN ${value} IS NOT NULL THEN struct(${order}, ${value}) END).${value}`,
  inlineTable: (columns, rows) => `SELECT * FROM VALUES ${rows.map((r) => `(${r.join(', ')})`).join(', ')} AS t(${columns.join(', ')})`,
};

/**
 * The SQL parser port: a statement's syntax tree, so the tenant SQL API can decide what a
 * statement reads and calls before any warehouse sees it. Implemented by `duckdb.sql-parser.ts`
 * (DuckDB's own parser, `json_serialize_sql`).
 */
export type SqlParse =
  /** `statements`: DuckDB's serialized parse tree of each statement; `canonical`: the tree printed back as SQL (comments gone). */
  | { ok: true; statements: unknown[]; canonical: string }
  /** Not parseable, or not a SELECT (only SELECTs serialize). */
  | { ok: false; message: string };

export interface SqlParser {
  parse(sql: string): Promise<SqlParse>;
  close(): Promise<void>;
}

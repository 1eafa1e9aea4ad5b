import type { ColumnType } from '../domain/transformed-schema.js';

/**
 * The one map from the transformed zone's column types (`src/domain/transformed-schema.ts`) to each
 * engine's SQL type: the transform writes Parquet with DuckDB's, the warehouses create their
 * tables with theirs.
 */
export const DUCKDB_TYPES: Record<ColumnType, string> = {
  string: 'VARCHAR',
  int: 'INTEGER',
  bigint: 'BIGINT',
  double: 'DOUBLE',
  boolean: 'BOOLEAN',
  date: 'DATE',
};

export const POSTGRES_TYPES: Record<ColumnType, string> = {
  string: 'text',
  int: 'integer',
  bigint: 'bigint',
  double: 'double precision',
  boolean: 'boolean',
  date: 'date',
};

// Redshift's TEXT is VARCHAR(256); VARCHAR(65535) is its widest string (bytes, not characters).
export const REDSHIFT_TYPES: Record<ColumnType, string> = {
  string: 'VARCHAR(65535)',
  int: 'INTEGER',
  bigint: 'BIGINT',
  double: 'DOUBLE PRECISION',
  boolean: 'BOOLEAN',
  date: 'DATE',
};

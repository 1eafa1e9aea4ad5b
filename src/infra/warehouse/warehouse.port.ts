import type { TransformedTable } from '../../domain/transformed-schema.js';

/**
 * The warehouse port: where reports are answered. Embedded: DuckDB. At scale: Redshift or
 * PostgreSQL. The query module compiles to `dialect` and reads only through this port.
 */
export type WarehouseTable = TransformedTable;
export type Dialect = 'duckdb' | 'postgres' | 'redshift';

export interface PartitionRef {
  tenantId: string;
  propertyId: string;
  /** Local date YYYY-MM-DD */
  date: string;
}

export interface QueryOptions {
  /**
   * The statement is cancelled after this many ms (DuckDB: the connection is interrupted;
   * PostgreSQL: statement_timeout) and the call fails with TallyError('deadline_exceeded').
   */
  timeoutMs?: number;
}

export interface Warehouse {
  readonly dialect: Dialect;
  /**
   * The warehouse keeps the per-day rollups of src/domain/rollups.ts, rebuilt inside every
   * partition load, and reports may read them (DuckDB, PostgreSQL; not Redshift).
   */
  readonly rollups?: boolean;
  /** Creates the tables when missing. */
  init(): Promise<void>;
  /**
   * Replaces one (tenant, property, date) partition of `table` with the rows of the Parquet
   * objects at `objectKeys`, atomically: queries see the old rows or the new, never a mix.
   */
  loadPartition(table: WarehouseTable, partition: PartitionRef, objectKeys: string[]): Promise<{ rows: number }>;
  /** Runs a compiled, parameterised query ($1, $2, … placeholders). */
  query<T = Record<string, unknown>>(sql: string, params: readonly unknown[], opts?: QueryOptions): Promise<T[]>;
  close(): Promise<void>;
}

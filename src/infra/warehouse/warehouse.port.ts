import type { TransformedTable } from '../../domain/transformed-schema.js';
import type { FxRate } from '../fx/ecb-rates.js';

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
  /** Creates the tables when missing; an empty `fx_rates` gets the bundled snapshot. */
  init(): Promise<void>;
  /**
   * Replaces the currency rates (`fx_rates`, see fx-rates.sql.ts) with these published rates,
   * every calendar day filled (fxRows), atomically. Returns the rows written.
   */
  replaceRates(published: readonly FxRate[]): Promise<{ rows: number }>;
  /**
   * Replaces one (tenant, property, date) partition of `table` with the rows of the Parquet
   * objects at `objectKeys`, atomically: queries see the old rows or the new, never a mix.
   */
  loadPartition(table: WarehouseTable, partition: PartitionRef, objectKeys: string[]): Promise<{ rows: number }>;
  /** Runs a compiled, parameterised query ($1, $2, … placeholders). */
  query<T = Record<string, unknown>>(sql: string, params: readonly unknown[], opts?: QueryOptions): Promise<T[]>;
  close(): Promise<void>;
}

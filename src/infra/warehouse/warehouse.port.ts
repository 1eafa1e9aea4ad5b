import { TRANSFORMED_TABLE_NAMES, type TransformedTable } from '../../domain/transformed-schema.js';

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

/** One partition of a batch load: `table`'s rows of `partition` become those of the Parquet objects at `objectKeys`. */
export interface PartitionLoad {
  table: WarehouseTable;
  partition: PartitionRef;
  objectKeys: readonly string[];
}

/** Whose rows a tenant SQL statement may see: one property of one tenant. */
export interface SandboxScope {
  tenantId: string;
  propertyId: string;
}

export interface SandboxLimits {
  /** Rows returned at most; one more is read to tell that the result was cut. */
  maxRows: number;
  /** The statement is cancelled after this many ms: TallyError('deadline_exceeded'). */
  timeoutMs: number;
}

export interface SandboxResult {
  columns: { name: string; type: string }[];
  rows: unknown[][];
  /** More rows than `maxRows` matched: the rest were not read. */
  truncated: boolean;
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
  /**
   * Replaces several partitions in one transaction (each as `loadPartition` would, rollups
   * included): queries see all of them old or all new, and the batch pays one commit, not one per
   * partition. Rows per load, in order. Absent where every load is its own transaction (Redshift).
   */
  loadPartitions?(loads: readonly PartitionLoad[]): Promise<{ rows: number }[]>;
  /** Runs a compiled, parameterised query ($1, $2, … placeholders). */
  query<T = Record<string, unknown>>(sql: string, params: readonly unknown[], opts?: QueryOptions): Promise<T[]>;
  /**
   * Runs a tenant's SELECT, already checked by the query module (`src/query/sql/`: one SELECT over
   * the views named in `SANDBOX_VIEWS`, allowed functions only), where those names are views of
   * `scope`'s rows alone. Errors of the statement itself are TallyError('invalid_argument',
   * reason `sql_error`). Absent on warehouses without a sandbox (Redshift).
   */
  sandboxQuery?(scope: SandboxScope, sql: string, limits: SandboxLimits): Promise<SandboxResult>;
  close(): Promise<void>;
}

/** The names a tenant SQL statement reads: every warehouse table, as a view of one property's rows. */
export const SANDBOX_VIEWS: readonly WarehouseTable[] = TRANSFORMED_TABLE_NAMES;

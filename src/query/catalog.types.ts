import type { SqlDialect } from './sql-dialect.js';

/**
 * The shapes of the catalog's entries (`catalog.ts` holds the catalog and its doc); a file of its
 * own so the dimension and metric tables can name them without importing the catalog that
 * imports them.
 */
export type Scope = 'event' | 'session' | 'user';

export type MetricType = 'TYPE_INTEGER' | 'TYPE_FLOAT' | 'TYPE_SECONDS';

export type RowSql = (d: SqlDialect) => string;

export interface DimensionDef {
  apiName: string;
  uiName: string;
  description: string;
  category: string;
  scope: Scope;
  deprecatedApiNames?: readonly string[];
  onEvent: RowSql;
  onSession?: RowSql;
  /** `onEvent` reads `s.` columns. */
  eventNeedsSession?: boolean;
  /** Reads `fs.` (both forms). */
  needsFirstSession?: boolean;
  /**
   * Applied after grouping, to turn the grouped value into the reported one (codes to names).
   * Must be one-to-one so groups stay distinct.
   */
  present?: (grouped: string, d: SqlDialect) => string;
}

export type AtomGroup = 'event' | 'session' | 'user' | 'rolling';

export interface AtomDef {
  name: string;
  group: AtomGroup;
  type: 'bigint' | 'double';
  /**
   * Aggregate SQL. event/user groups: over `e` (+ `s`, `fs` when flagged); session group: over
   * `s`, one row per session with at least `engaged`, `duration_s`, `key_events`.
   */
  sql: RowSql;
  /** The atom over rollup rows; absent: not answerable from a rollup. */
  rollup?: RowSql;
  needsSession?: boolean;
  needsFirstSession?: boolean;
}

export interface MetricDef {
  apiName: string;
  uiName: string;
  description: string;
  category: string;
  type: MetricType;
  scope: Scope;
  deprecatedApiNames?: readonly string[];
  /** GA4's metadata `expression` for derived metrics. */
  expression?: string;
  atoms: readonly string[];
  /** SQL over the atoms; `a(name)` is the atom's (never null) column. */
  sql: (a: (atom: string) => string, d: SqlDialect) => string;
}

import type { SqlDialect } from './sql-dialect.js';

/**
 * The types and SQL helpers of the one dimension and metric catalog (`catalog.ts` puts its
 * parts together) every warehouse dialect compiles from.
 *
 * Dimensions are row-level SQL over these aliases:
 *   e  – a row of `events`
 *   s  – a row of `sessions` (for `onEvent`: the event's session, joined when `eventNeeds.session`)
 *   fs – the property's first-session keys (joined on session_key when `needsFirstSession`)
 *   fu – the source, medium, campaign and channel group of the client's first session ever
 *   i  – a row of `items` (item-scoped dimensions and the `item` atom group; its event is `e`)
 *   fxs, fxt, tgt – the day's rate of a row's currency and of the report's currency, and that
 *        currency's code (joined when an atom has `needsFx`; see catalog.ecommerce.ts)
 * `onSession` is given when the dimension is answerable from the sessions table alone; a
 * dimension without it is event-scoped and makes session metrics count over events (see
 * report-compiler.ts).
 *
 * Metrics are expressions over "atoms": additive aggregates, each computed in one of three
 * groups (event rows, session rows, user = distinct USER_KEY over event rows).
 */
export type Scope = 'event' | 'session' | 'user' | 'item';

export type MetricType = 'TYPE_INTEGER' | 'TYPE_FLOAT' | 'TYPE_SECONDS' | 'TYPE_CURRENCY' | 'TYPE_STANDARD';

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
  /** Reads `fu.`: the user's (client's) first session ever (joined on client_id, both forms). */
  needsFirstUser?: boolean;
  /** Reads `i.`: answerable only with item-scoped metrics, over the items table. */
  item?: boolean;
  /**
   * Applied after grouping, to turn the grouped value into the reported one (codes to names).
   * Must be one-to-one so groups stay distinct.
   */
  present?: (grouped: string, d: SqlDialect) => string;
}

export type AtomGroup = 'event' | 'session' | 'user' | 'item';

export interface AtomDef {
  name: string;
  group: AtomGroup;
  type: 'bigint' | 'double';
  /**
   * Aggregate SQL. event/user groups: over `e` (+ `s`, `fs` when flagged); session group: over
   * `s`, one row per session with at least `engaged`, `duration_s`, `key_events`.
   */
  sql: RowSql;
  needsSession?: boolean;
  needsFirstSession?: boolean;
  /** Converts money: `fx` is the currency expression of the row (event or item) it converts. */
  needsFx?: { currency: (d: SqlDialect) => string };
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

export const NOT_SET = "'(not set)'";
export const orNotSet = (x: string) => `COALESCE(${x}, ${NOT_SET})`;
export const count = (cond: string) => `SUM(CASE WHEN ${cond} THEN 1 ELSE 0 END)`;
export const safeDiv = (d: SqlDialect, num: string, den: string) => `(CASE WHEN ${den} = 0 THEN 0 ELSE ${d.toDouble(num)} / ${den} END)`;

export function withQuery(path: string, query: string): string {
  return `${path} || CASE WHEN ${query} IS NULL OR ${query} = '' THEN '' WHEN left(${query}, 1) = '?' THEN ${query} ELSE '?' || ${query} END`;
}

export const DAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/** A session-level dimension stored on both tables (events carry their session's value). */
export function both(
  apiName: string,
  uiName: string,
  category: string,
  eventColumn: string,
  sessionColumn: string,
  description: string,
  extra: Partial<DimensionDef> = {},
): DimensionDef {
  return {
    apiName,
    uiName,
    description,
    category,
    scope: 'session',
    onEvent: () => orNotSet(`e.${eventColumn}`),
    onSession: () => orNotSet(`s.${sessionColumn}`),
    ...extra,
  };
}

export function eventOnly(apiName: string, uiName: string, category: string, sql: string, description: string): DimensionDef {
  return { apiName, uiName, description, category, scope: 'event', onEvent: () => orNotSet(sql) };
}

export function timeDim(apiName: string, uiName: string, description: string, sql: (d: SqlDialect, t: 'e' | 's') => string): DimensionDef {
  return {
    apiName,
    uiName,
    description,
    category: 'Time',
    scope: 'event',
    onEvent: (d) => sql(d, 'e'),
    onSession: (d) => sql(d, 's'),
  };
}

import { findDimension } from './catalog.js';
import { ROLLING_WINDOW_DAYS } from './catalog-rolling.js';
import { invalid } from './proto-json.js';
import type { SqlDialect } from './sql-dialect.js';

/**
 * The `rolling` atom group of a report (catalog-rolling.ts: dauPerMau, dauPerWau, wauPerMau) as
 * two CTEs of the report's chain (report-compiler.ts):
 * - `ra`: the anchors: one per `dr` row (its end date), or, when the report is broken down by
 *   `date`, one per day of the range that has events of the property;
 * - `g_rolling`: per anchor and dimension values, the atoms over the events of the window that
 *   ends on the anchor (ROLLING_WINDOW_DAYS days), read from up to 29 days before the range.
 * The anchor stands in for the event's date in the dimensions' and filters' SQL, so `date` is
 * the anchor's day. Other time dimensions would need their own anchors: refused (400).
 */
export interface RollingInput {
  d: SqlDialect;
  tenant: string;
  property: string;
  /** Bound parameters: the report's hull (the window reaches back from its start). */
  from: string;
  to: string;
  /** Grouped SQL of the requested dimensions (d0, d1, …) and of every dimension in use. */
  groupDims: string[];
  dimsInUse: string[];
  /** The report's row filters over `e` (dimension filter, comparisons over `dr.cmp`). */
  where: string[];
  atoms: { name: string; sql: string }[];
  keyCols: string[];
  /** A dimension in use reads `fs` (the first-session CTE of the chain). */
  joinFs: boolean;
}

const ANCHORED = /\be\.local_date\b/g;
const READS_DATE = /\be\.local_date\b/;

/** A dimension (its event SQL in dialect `d`) that reads the event's time other than as `date`: no anchor for it. */
export function readsOtherTime(eventSql: string, d: SqlDialect): boolean {
  return /\be\.local_hour\b/.test(eventSql) || (READS_DATE.test(eventSql) && !eventSql.includes(findDimension('date')!.onEvent(d)));
}

export function rollingCtes(x: RollingInput): string[] {
  const dateSql = findDimension('date')!.onEvent(x.d);
  if (x.dimsInUse.some((sql) => readsOtherTime(sql, x.d))) {
    throw invalid('dauPerMau, dauPerWau and wauPerMau can be broken down by date, not by other time dimensions.', 'dimensions');
  }
  const byDay = x.groupDims.some((sql) => sql.includes(dateSql));
  const anchored = (sql: string) => sql.replace(ANCHORED, 'dr.anchor');
  const pinned = `e.tenant_id = ${x.tenant} AND e.property_id = ${x.property} AND e.is_bot IS NOT TRUE`;
  const ra = byDay
    ? `ra AS (SELECT DISTINCT dr.idx, dr.name, dr.cmp, e.local_date AS anchor FROM events e JOIN dr ON e.local_date BETWEEN dr.start_date AND dr.end_date ` +
      `WHERE ${pinned} AND e.local_date BETWEEN ${x.from} AND ${x.to})`
    : 'ra AS (SELECT idx, name, cmp, end_date AS anchor FROM dr)';
  const select = [
    ...x.groupDims.map((sql, i) => `${anchored(sql)} AS d${i}`),
    'dr.idx AS dr_idx',
    'dr.name AS dr_name',
    ...x.atoms.map((a) => `${a.sql} AS ${a.name}`),
  ];
  const g =
    `g_rolling AS (SELECT ${select.join(', ')} FROM events e JOIN ra dr ON e.local_date BETWEEN dr.anchor - ${ROLLING_WINDOW_DAYS - 1} AND dr.anchor` +
    ` LEFT JOIN sessions s ON s.tenant_id = ${x.tenant} AND s.property_id = ${x.property} AND s.session_key = e.session_key` +
    (x.joinFs ? ' LEFT JOIN fs ON fs.session_key = e.session_key' : '') +
    ' LEFT JOIN idm ON idm.client_id = e.client_id' +
    ` WHERE ${[pinned, `e.local_date BETWEEN ${x.from} - ${ROLLING_WINDOW_DAYS - 1} AND ${x.to}`, ...x.where.map(anchored)].join(' AND ')} GROUP BY ${x.keyCols.join(', ')})`;
  return [ra, g];
}

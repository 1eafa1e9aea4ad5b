import { activeUserCondition, EVENT_MEASURES, SESSION_MEASURES } from '../domain/rollups.js';
import { DIMENSIONS } from './catalog-dimensions.js';
import { METRICS as BASE_METRICS } from './catalog-metrics.js';
import { ROLLING_ATOMS, ROLLING_METRICS } from './catalog-rolling.js';
import { USER_KEY } from './catalog-user-key.js';
import type { AtomDef, DimensionDef, MetricDef } from './catalog.types.js';

export { DIMENSIONS };
export const METRICS: readonly MetricDef[] = [...BASE_METRICS, ...ROLLING_METRICS];
export type { AtomDef, AtomGroup, DimensionDef, MetricDef, MetricType, RowSql, Scope } from './catalog.types.js';

/**
 * The one dimension and metric catalog every warehouse dialect compiles from.
 *
 * Dimensions are row-level SQL over these aliases:
 *   e  – a row of `events`
 *   s  – a row of `sessions` (for `onEvent`: the event's session, joined when `eventNeeds.session`)
 *   fs – the property's first-session keys (joined on session_key when `needsFirstSession`)
 * `onSession` is given when the dimension is answerable from the sessions table alone; a
 * dimension without it is event-scoped and makes session metrics count over events (see
 * report-compiler.ts).
 *
 * Metrics are expressions over "atoms": additive aggregates, each computed in one of four
 * groups (event rows, session rows, user = distinct USER_KEY over event rows, rolling = distinct
 * active users in windows ending on an anchor day: catalog-rolling.ts).
 */
export { USER_KEY } from './catalog-user-key.js';

const sum = (alias: 'e' | 's', atom: string) => () => `SUM(${alias}.${atom})`;

/**
 * `sql` is the detail form, `rollup` the same atom over a rollup's rows (src/domain/rollups.ts:
 * measures share one definition; users tables as `e`, sessions tables as `s`). An atom without
 * `rollup` is answered from the detail tables only.
 */
export const ATOMS: readonly AtomDef[] = [
  { name: 'ev_count', group: 'event', type: 'bigint', sql: () => EVENT_MEASURES.ev_count, rollup: sum('e', 'ev_count') },
  { name: 'ev_page_views', group: 'event', type: 'bigint', sql: () => EVENT_MEASURES.ev_page_views, rollup: sum('e', 'ev_page_views') },
  { name: 'ev_key_events', group: 'event', type: 'bigint', sql: () => EVENT_MEASURES.ev_key_events, rollup: sum('e', 'ev_key_events') },
  { name: 'ev_engagement_ms', group: 'event', type: 'bigint', sql: () => EVENT_MEASURES.ev_engagement_ms, rollup: sum('e', 'ev_engagement_ms') },
  { name: 'se_sessions', group: 'session', type: 'bigint', sql: () => SESSION_MEASURES.se_sessions, rollup: sum('s', 'se_sessions') },
  { name: 'se_engaged', group: 'session', type: 'bigint', sql: () => SESSION_MEASURES.se_engaged, rollup: sum('s', 'se_engaged') },
  { name: 'se_duration_ms', group: 'session', type: 'bigint', sql: () => SESSION_MEASURES.se_duration_ms, rollup: sum('s', 'se_duration_ms') },
  { name: 'se_key_sessions', group: 'session', type: 'bigint', sql: () => SESSION_MEASURES.se_key_sessions, rollup: sum('s', 'se_key_sessions') },
  { name: 'us_total', group: 'user', type: 'bigint', sql: () => `COUNT(DISTINCT ${USER_KEY})`, rollup: () => `COUNT(DISTINCT ${USER_KEY})` },
  {
    name: 'us_active',
    group: 'user',
    type: 'bigint',
    sql: () => `COUNT(DISTINCT CASE WHEN ${activeUserCondition('s.engaged')} THEN ${USER_KEY} END)`,
    rollup: () => `COUNT(DISTINCT CASE WHEN e.us_active = 1 THEN ${USER_KEY} END)`,
    needsSession: true,
  },
  {
    name: 'us_new',
    group: 'user',
    type: 'bigint',
    // The first event of the user's first session ever: where GA4 logs first_visit.
    sql: () => `COUNT(DISTINCT CASE WHEN fs.session_key IS NOT NULL AND e.seq_in_session = 1 THEN ${USER_KEY} END)`,
    needsFirstSession: true,
  },
  {
    name: 'us_key',
    group: 'user',
    type: 'bigint',
    sql: () => `COUNT(DISTINCT CASE WHEN e.is_key_event THEN ${USER_KEY} END)`,
    rollup: () => `COUNT(DISTINCT CASE WHEN e.us_key = 1 THEN ${USER_KEY} END)`,
  },
  ...ROLLING_ATOMS,
];

const byName = <T extends { apiName: string; deprecatedApiNames?: readonly string[] }>(defs: readonly T[]) => {
  const m = new Map<string, T>();
  for (const def of defs) {
    m.set(def.apiName, def);
    for (const old of def.deprecatedApiNames ?? []) m.set(old, def);
  }
  return m;
};

const DIMENSION_BY_NAME = byName(DIMENSIONS);
const METRIC_BY_NAME = byName(METRICS);
const ATOM_BY_NAME = new Map(ATOMS.map((a) => [a.name, a]));

/** By API name or a deprecated API name. */
export function findDimension(name: string): DimensionDef | undefined {
  return DIMENSION_BY_NAME.get(name);
}

export function findMetric(name: string): MetricDef | undefined {
  return METRIC_BY_NAME.get(name);
}

export function atom(name: string): AtomDef {
  const def = ATOM_BY_NAME.get(name);
  if (!def) throw new Error(`catalog: unknown atom ${name}`);
  return def;
}

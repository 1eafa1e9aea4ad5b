import { activeUserCondition, EVENT_MEASURES, SESSION_MEASURES } from '../domain/rollups.js';
import { customAtom, customDimension, customMetric } from './catalog-custom.js';
import { DIMENSIONS as STANDARD_DIMENSIONS } from './catalog-dimensions.js';
import { ECOMMERCE_ATOMS, ECOMMERCE_DIMENSIONS, ECOMMERCE_METRICS } from './catalog-ecommerce.js';
import { METRICS as BASE_METRICS } from './catalog-metrics.js';
import { ROLLING_ATOMS, ROLLING_METRICS } from './catalog-rolling.js';
import { USER_KEY } from './catalog-user-key.js';
import type { AtomDef, DimensionDef, MetricDef } from './catalog.types.js';

export type { AtomDef, AtomGroup, DimensionDef, MetricDef, MetricType, RowSql, Scope } from './catalog.types.js';

/** GA4's standard dimensions and metrics Tally answers: the general ones, then e-commerce (catalog-ecommerce.ts). */
export const DIMENSIONS: readonly DimensionDef[] = [...STANDARD_DIMENSIONS, ...ECOMMERCE_DIMENSIONS];
export const METRICS: readonly MetricDef[] = [...BASE_METRICS, ...ROLLING_METRICS, ...ECOMMERCE_METRICS];

/**
 * The one dimension and metric catalog every warehouse dialect compiles from, in files by part:
 * the entry types (`catalog.types.ts`), the standard dimensions (`catalog-dimensions.ts`) and
 * metrics (`catalog-metrics.ts`), e-commerce (`catalog-ecommerce.ts`), the atoms below, and the
 * per-property custom definitions, resolved by their name's form (`catalog-custom.ts`).
 *
 * Dimensions are row-level SQL over these aliases:
 *   e  – a row of `events`
 *   s  – a row of `sessions` (for `onEvent`: the event's session, joined when `eventNeeds.session`)
 *   fs – the property's first-session keys (joined on session_key when `needsFirstSession`)
 *   fu – the source, medium, campaign and channel group of the client's first session ever
 *        (joined on client_id when `needsFirstUser`)
 *   i  – a row of `items` (item-scoped dimensions and the `item` atom group; its event is `e`)
 *   fxs, fxt, tgt – the day's rate of a row's currency and of the report's currency, and that
 *        currency's code (joined when an atom has `needsFx`; see catalog-ecommerce.ts)
 * `onSession` is given when the dimension is answerable from the sessions table alone; a
 * dimension without it is event-scoped and makes session metrics count over events (see
 * report-compiler.ts). A rollup answers a dimension only when it reads nothing but columns the
 * rollup keeps (report-compiler.ts rollupFor), so `fu.`, `i.`, `fs.` and JSON params go to the
 * detail tables.
 *
 * Metrics are expressions over "atoms": additive aggregates, each computed in one of four
 * groups (event rows, session rows, user = distinct USER_KEY over event rows, item rows,
 * rolling = distinct active users in windows ending on an anchor day: catalog-rolling.ts).
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
    // the row holds the first event of its client's first session (src/domain/rollups.ts sessionOrderKey); fsn is joined by the compiler
    rollup: () => `COUNT(DISTINCT CASE WHEN e.us_first = fsn.first_session THEN ${USER_KEY} END)`,
    needsFirstSession: true,
  },
  {
    name: 'us_key',
    group: 'user',
    type: 'bigint',
    sql: () => `COUNT(DISTINCT CASE WHEN e.is_key_event THEN ${USER_KEY} END)`,
    rollup: () => `COUNT(DISTINCT CASE WHEN e.us_key = 1 THEN ${USER_KEY} END)`,
  },
  // e-commerce: detail tables only (no rollup keeps revenue, items or currencies)
  ...ECOMMERCE_ATOMS,
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
  return DIMENSION_BY_NAME.get(name) ?? customDimension(name);
}

export function findMetric(name: string): MetricDef | undefined {
  return METRIC_BY_NAME.get(name) ?? customMetric(name);
}

export function atom(name: string): AtomDef {
  const def = ATOM_BY_NAME.get(name) ?? customAtom(name);
  if (!def) throw new Error(`catalog: unknown atom ${name}`);
  return def;
}

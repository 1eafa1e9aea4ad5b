import type { Column } from './transformed-schema.js';

/**
 * Per-day rollups the warehouse keeps beside `events` and `sessions` (issue 19), rebuilt for the
 * affected days inside every partition load. Both the warehouses (which build them) and the report
 * compiler (which reads them) take their shape from here, and the measures' SQL below is the one
 * definition the catalog's detail atoms use too, so a rollup can only hold what a detail query
 * would compute.
 *
 * Two tables per dimension set, each keyed by (tenant_id, property_id, local_date, the set's
 * columns):
 * - `rollup_<set>_users`: one row per (day, set columns, client_id, user_id) of non-bot events,
 *   with the event measures summed and the user flags. User counts stay exact: the rows keep the
 *   raw ids, and a report merges them at query time with the identity map (catalog USER_KEY),
 *   so a client linked to a user later still counts once, and days add up without double counting.
 * - `rollup_<set>_sessions`: one row per (day of session start, set columns) of non-bot sessions
 *   with the session measures, for reports whose dimensions are all session-level.
 * Beside them `rollup_first_sessions` (per client, its first session ever) lets `newUsers` be
 * answered from the users tables (`us_first`, see sessionOrderKey).
 * Columns keep the detail tables' names, so the catalog's row-level SQL reads them unchanged.
 */
export interface RollupSet {
  name: string;
  /** Columns of `events` kept in `rollup_<name>_users`; null: no users table for this set. */
  eventColumns: readonly string[] | null;
  /** Columns of `sessions` kept in `rollup_<name>_sessions`; null: no sessions table. */
  sessionColumns: readonly string[] | null;
  /**
   * Columns of `events` kept in `rollup_<name>_session_keys`: one row per (day, columns,
   * session_key) of non-bot events with the session's engaged, duration_s and key_events, for
   * sessions counted under event-scoped dimensions (a session counts under each value it had an
   * event with; a report takes DISTINCT session rows over its days as the detail form does).
   * Absent: no such table.
   */
  sessionKeyColumns?: readonly string[];
}

/** Smallest first: the compiler takes the first set that answers a request. */
export const ROLLUP_SETS: readonly RollupSet[] = [
  { name: 'date', eventColumns: [], sessionColumns: [] },
  { name: 'event', eventColumns: ['event_name'], sessionColumns: null },
  { name: 'tech', eventColumns: ['device_category', 'browser', 'os', 'language'], sessionColumns: ['device_category', 'browser', 'os', 'language'] },
  { name: 'geo', eventColumns: ['country', 'region', 'city'], sessionColumns: ['country', 'region', 'city'] },
  {
    name: 'traffic',
    eventColumns: ['session_source', 'session_medium', 'session_campaign', 'session_channel_group'],
    sessionColumns: ['source', 'medium', 'campaign', 'channel_group'],
  },
  { name: 'landing', eventColumns: null, sessionColumns: ['landing_page', 'landing_page_query'] },
  {
    name: 'page',
    eventColumns: ['page_path'],
    sessionColumns: null,
    sessionKeyColumns: ['page_path', 'session_source', 'session_medium', 'session_campaign', 'session_channel_group'],
  },
];

/** Rows meeting a condition, as an additive aggregate. */
export const count = (cond: string) => `SUM(CASE WHEN ${cond} THEN 1 ELSE 0 END)`;

/** GA4 web's active user: an engaged session, a first_visit, or engagement time (over `e` and its session's `engaged`). */
export const activeUserCondition = (engaged: string) => `${engaged} OR e.event_name = 'first_visit' OR e.engagement_time_ms > 0`;

/** Event measures: aggregates over event rows `e`; summed again over a rollup's rows. */
export const EVENT_MEASURES = {
  ev_count: 'COUNT(*)',
  ev_page_views: count('e.is_page_view'),
  ev_key_events: count('e.is_key_event'),
  ev_engagement_ms: 'COALESCE(SUM(e.engagement_time_ms), 0)',
} as const;

/** Per (day, dimensions, client, user): 1 when any of the user's events there meets the condition. */
export const userFlags = (engaged: string, firstOfSession: string) => ({
  us_active: `MAX(CASE WHEN ${activeUserCondition(engaged)} THEN 1 ELSE 0 END)`,
  us_key: 'MAX(CASE WHEN e.is_key_event THEN 1 ELSE 0 END)',
  us_first: `MIN(${firstOfSession})`,
});

/**
 * A session's place in its client's order of sessions, as one string: the start (zero-padded
 * milliseconds) then the session key, so the smallest string is the first session by
 * (session_start_ms, session_key), the order `newUsers` uses. `us_first` of a users rollup row is
 * the smallest of these over the sessions whose first event (seq_in_session = 1) is in that row;
 * `rollup_first_sessions` keeps, per client, that of its first non-bot session ever. A row holds
 * the first event of its client's first session exactly when the two are equal.
 */
export const sessionOrderKey = (startMs: string, sessionKey: string) => `LPAD(CAST(${startMs} AS VARCHAR), 20, '0') || ${sessionKey}`;

/**
 * Per property and client id, its first non-bot session ever (`first_session`: sessionOrderKey;
 * `local_date`: the session's day). Rebuilt by every sessions load for the clients it can change.
 */
export const FIRST_SESSIONS_TABLE = 'rollup_first_sessions';

/** The columns of `events` the users tables' measures and flags read (besides the sets' own). */
export const USERS_SOURCE_COLUMNS: readonly Column[] = [
  { name: 'client_id', type: 'string' },
  { name: 'user_id', type: 'string' },
  { name: 'event_name', type: 'string' },
  { name: 'is_page_view', type: 'boolean' },
  { name: 'is_key_event', type: 'boolean' },
  { name: 'engagement_time_ms', type: 'bigint' },
];

/** Session measures: aggregates over session rows `s`; summed again over a rollup's rows. */
export const SESSION_MEASURES = {
  se_sessions: 'COUNT(*)',
  se_engaged: count('s.engaged'),
  // whole milliseconds summed as integers: a double sum depends on the engine's summation order
  se_duration_ms: 'COALESCE(SUM(CAST(ROUND(s.duration_s * 1000) AS BIGINT)), 0)',
  se_key_sessions: count('s.key_events > 0'),
} as const;

export type RollupSide = 'users' | 'sessions' | 'session_keys';
export type RollupTable = { name: string; set: RollupSet; side: RollupSide; columns: readonly Column[] };

/** The session columns a session_keys row carries (what the session measures read). */
export const SESSION_KEY_MEASURE_COLUMNS: readonly Column[] = [
  { name: 'engaged', type: 'boolean' },
  { name: 'duration_s', type: 'double' },
  { name: 'key_events', type: 'int' },
];

export const FIRST_SESSIONS_COLUMNS: readonly Column[] = [
  { name: 'tenant_id', type: 'string' },
  { name: 'property_id', type: 'string' },
  { name: 'client_id', type: 'string' },
  { name: 'local_date', type: 'date' },
  { name: 'first_session', type: 'string' },
];

const KEY: readonly Column[] = [
  { name: 'tenant_id', type: 'string' },
  { name: 'property_id', type: 'string' },
  { name: 'local_date', type: 'date' },
];
const strings = (names: readonly string[]): Column[] => names.map((name) => ({ name, type: 'string' }));
const bigints = (names: readonly string[]): Column[] => names.map((name) => ({ name, type: 'bigint' }));

export function usersTable(set: RollupSet): string {
  return `rollup_${set.name}_users`;
}

export function sessionsTable(set: RollupSet): string {
  return `rollup_${set.name}_sessions`;
}

export function sessionKeysTable(set: RollupSet): string {
  return `rollup_${set.name}_session_keys`;
}

/** Every rollup table with its columns. */
export const ROLLUP_TABLES: readonly RollupTable[] = ROLLUP_SETS.flatMap((set) => [
  ...(set.eventColumns
    ? [
        {
          name: usersTable(set),
          set,
          side: 'users' as const,
          columns: [
            ...KEY,
            ...strings(set.eventColumns),
            ...strings(['client_id', 'user_id']),
            ...bigints(Object.keys(EVENT_MEASURES)),
            { name: 'us_active', type: 'int' as const },
            { name: 'us_key', type: 'int' as const },
            { name: 'us_first', type: 'string' as const },
          ],
        },
      ]
    : []),
  ...(set.sessionColumns
    ? [
        {
          name: sessionsTable(set),
          set,
          side: 'sessions' as const,
          columns: [...KEY, ...strings(set.sessionColumns), ...bigints(Object.keys(SESSION_MEASURES))],
        },
      ]
    : []),
  ...(set.sessionKeyColumns
    ? [
        {
          name: sessionKeysTable(set),
          set,
          side: 'session_keys' as const,
          columns: [...KEY, ...strings(set.sessionKeyColumns), ...strings(['session_key']), ...SESSION_KEY_MEASURE_COLUMNS],
        },
      ]
    : []),
]);

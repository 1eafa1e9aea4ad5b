import { IDENTITY_LINK_EVENT } from '../../domain/identity-link.js';
import type { Column } from '../../domain/transformed-schema.js';
import { DUCKDB_TYPES } from '../column-types.js';

/**
 * The DuckDB statements of the transform, one per step, in the order the engine runs them.
 * Every value interpolated here is a number or goes through `sqlString`.
 */

export function sqlString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

export function sqlStringList(values: readonly string[]): string {
  return `[${values.map(sqlString).join(', ')}]`;
}

/**
 * RawEvent fields with explicit types, so DuckDB never guesses. consent, params and user_props
 * are read as VARCHAR, which DuckDB fills with the object's minified JSON text (cheaper than JSON).
 */
const RAW_FIELDS: ReadonlyArray<readonly [string, string]> = [
  ['event_id', 'VARCHAR'], ['tenant_id', 'VARCHAR'], ['property_id', 'VARCHAR'], ['protocol', 'VARCHAR'],
  ['received_at', 'BIGINT'], ['client_ts', 'BIGINT'], ['name', 'VARCHAR'],
  ['client_id', 'VARCHAR'], ['user_id', 'VARCHAR'], ['session_id', 'VARCHAR'],
  ['url', 'VARCHAR'], ['referrer', 'VARCHAR'], ['title', 'VARCHAR'],
  ['ua', 'VARCHAR'], ['ua_source', 'VARCHAR'], ['ip_trunc', 'VARCHAR'], ['ip_source', 'VARCHAR'],
  ['country', 'VARCHAR'], ['region', 'VARCHAR'], ['city', 'VARCHAR'], ['language', 'VARCHAR'], ['screen', 'VARCHAR'],
  ['consent', 'VARCHAR'], ['params', 'VARCHAR'], ['user_props', 'VARCHAR'],
];

export const createRaw = (paths: readonly string[]): string =>
  paths.length === 0
    ? `CREATE OR REPLACE TEMP TABLE raw (${RAW_FIELDS.map(([n, t]) => `${n} ${t}`).join(', ')})`
    : `CREATE OR REPLACE TEMP TABLE raw AS
       SELECT * FROM read_json(${sqlStringList(paths)},
         format = 'newline_delimited', compression = 'auto_detect',
         columns = {${RAW_FIELDS.map(([n, t]) => `${n}: '${t}'`).join(', ')}})`;

/**
 * The events kept, as narrow rows pointing at `raw` by rowid: dedup by event_id (the earliest
 * receipt, ties broken by the smallest record text, computed only for ids seen more than once),
 * then the event-time window. Identity links are kept for `identities_out` but are not events:
 * they join no session and count in no metric.
 */
export const createKept = (p: { tenantId: string; propertyId: string; startMs: number; endMs: number }): string => `
CREATE OR REPLACE TEMP TABLE ev AS
WITH own AS (
  SELECT rowid AS rid, event_id, received_at FROM raw
  WHERE tenant_id = ${sqlString(p.tenantId)} AND property_id = ${sqlString(p.propertyId)}
),
repeated AS (
  SELECT event_id FROM own GROUP BY event_id HAVING count(*) > 1
),
losers AS (
  SELECT r.rowid AS rid FROM raw r SEMI JOIN repeated USING (event_id)
  WHERE r.tenant_id = ${sqlString(p.tenantId)} AND r.property_id = ${sqlString(p.propertyId)}
  QUALIFY row_number() OVER (PARTITION BY r.event_id ORDER BY r.received_at, to_json(r)) > 1
)
SELECT r.rowid AS rid, r.event_id, coalesce(r.client_ts, r.received_at) AS event_ms, r.session_id,
  coalesce(r.client_id, r.user_id, r.event_id) AS client_key,
  r.name IN ('page_view', 'screen_view') AS is_page_view,
  r.name = ${sqlString(IDENTITY_LINK_EVENT)} AS is_link
FROM raw r
WHERE r.rowid IN (SELECT rid FROM own ANTI JOIN losers USING (rid))
  AND coalesce(r.client_ts, r.received_at) >= ${p.startMs} AND coalesce(r.client_ts, r.received_at) < ${p.endMs}`;

export const distinctUserAgents = `SELECT DISTINCT ua, ua_source FROM raw`;

export const createUaDim = `
CREATE OR REPLACE TEMP TABLE ua_dim (
  ua VARCHAR, ua_source VARCHAR, browser VARCHAR, browser_version VARCHAR, os VARCHAR,
  os_version VARCHAR, device_category VARCHAR, is_bot BOOLEAN, bot_reason VARCHAR)`;

export const distinctUrls = `SELECT DISTINCT url FROM raw WHERE url IS NOT NULL`;

export const createUrlDim = `
CREATE OR REPLACE TEMP TABLE url_dim (
  url VARCHAR, host_name VARCHAR, page_path VARCHAR, page_query VARCHAR,
  utm_source VARCHAR, utm_medium VARCHAR, utm_campaign VARCHAR, utm_term VARCHAR, utm_content VARCHAR)`;

/** UTC offset of the property's zone from `from_ms` on, for an ASOF join. */
export const createTzDim = `CREATE OR REPLACE TEMP TABLE tz_dim (from_ms BIGINT, offset_ms BIGINT)`;

/**
 * The session of each kept event: the client's own session id when it sends one; otherwise a
 * new session after more than `timeoutMs` without an event, counting only the client's events
 * without a session id. Then, over the session: sequence, start, first event, first and last
 * page view (one shared sort).
 */
export const createSessions = (p: { timeoutMs: number }): string => `
CREATE OR REPLACE TEMP TABLE sess AS
WITH starts AS (
  SELECT ev.*,
    CASE WHEN session_id IS NULL
          AND (lag(event_ms) OVER w IS NULL OR event_ms - lag(event_ms) OVER w > ${p.timeoutMs})
         THEN event_ms END AS new_session_ms
  FROM ev
  WHERE NOT is_link
  WINDOW w AS (PARTITION BY client_key, session_id IS NULL ORDER BY event_ms, event_id)
),
keyed AS (
  SELECT rid, event_id, event_ms, is_page_view,
    CASE WHEN session_id IS NOT NULL THEN client_key || ':' || session_id
         ELSE client_key || ':' || CAST(max(new_session_ms) OVER (
           PARTITION BY client_key, session_id IS NULL ORDER BY event_ms, event_id
           ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS VARCHAR)
    END AS session_key
  FROM starts
)
SELECT rid, event_ms, is_page_view, session_key,
  CAST(row_number() OVER s AS INTEGER) AS seq_in_session,
  first_value(event_ms) OVER whole AS session_start_ms,
  first_value(rid) OVER whole AS first_rid,
  first_value(CASE WHEN is_page_view THEN rid END IGNORE NULLS) OVER whole AS entrance_rid,
  last_value(CASE WHEN is_page_view THEN rid END IGNORE NULLS) OVER whole AS exit_rid
FROM keyed
WINDOW s AS (PARTITION BY session_key ORDER BY event_ms, event_id),
  whole AS (PARTITION BY session_key ORDER BY event_ms, event_id
    ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)`;

/**
 * The inputs of each session's attribution: its first event's URL, referrer and the values of
 * the params that can carry a campaign, as a JSON array in `attributionParams` order (one parse).
 */
export const createSessionFirst = (attributionParams: readonly string[]): string => `
CREATE OR REPLACE TEMP TABLE sess_first AS
SELECT r.rowid AS first_rid, r.url, r.referrer,
  CAST(to_json(json_extract(r.params, ${sqlStringList(attributionParams.map((k) => `$."${k}"`))})) AS VARCHAR)
    AS attr_params
FROM raw r
WHERE r.rowid IN (SELECT rid FROM sess WHERE seq_in_session = 1)`;

export const distinctAttributionKeys = `SELECT DISTINCT url, referrer, attr_params FROM sess_first`;

export const createAttrDim = `
CREATE OR REPLACE TEMP TABLE attr_dim (
  url VARCHAR, referrer VARCHAR, attr_params VARCHAR, source VARCHAR, medium VARCHAR,
  campaign VARCHAR, term VARCHAR, content VARCHAR, channel_group VARCHAR)`;

/** Each session's traffic source, from its first event (attr_dim is filled per distinct input). */
export const createSessionAttribution = `
CREATE OR REPLACE TEMP TABLE sess_attr AS
SELECT f.first_rid, a.source, a.medium, a.campaign, a.term, a.content, a.channel_group
FROM sess_first f JOIN attr_dim a
  ON a.url IS NOT DISTINCT FROM f.url AND a.referrer IS NOT DISTINCT FROM f.referrer
 AND a.attr_params IS NOT DISTINCT FROM f.attr_params`;

/**
 * The computed, narrow part of each event: session, local time, flags, engagement. Wide raw
 * columns are joined back by rowid only when a partition is written.
 */
export const createFacts = (p: { keyEvents: readonly string[] }): string => `
CREATE OR REPLACE TEMP TABLE facts AS
WITH timed AS (
  SELECT sess.*, sess.event_ms + z.offset_ms AS local_ms
  FROM sess ASOF JOIN tz_dim z ON sess.event_ms >= z.from_ms
),
joined AS (
  SELECT s.*, e.user_id, e.name, e.ua, e.ua_source,
    json_extract_string(e.params, ['$.engagement_time_msec', '$.session_engaged']) AS engagement
  FROM timed s JOIN raw e ON e.rowid = s.rid
)
SELECT s.rid, s.first_rid, s.entrance_rid, s.exit_rid, s.session_key, s.session_start_ms,
  s.seq_in_session, s.event_ms, s.user_id,
  CAST(epoch_ms(s.local_ms) AS DATE) AS local_date, CAST(hour(epoch_ms(s.local_ms)) AS INTEGER) AS local_hour,
  s.rid IS NOT DISTINCT FROM s.entrance_rid AS is_entrance,
  s.rid IS NOT DISTINCT FROM s.exit_rid AS is_exit,
  s.is_page_view,
  ${p.keyEvents.length === 0 ? 'false' : `s.name IN (${p.keyEvents.map(sqlString).join(', ')})`} AS is_key_event,
  -- params.engagement_time_msec as a number or numeric string, else 0
  coalesce(TRY_CAST(trunc(greatest(TRY_CAST(s.engagement[1] AS DOUBLE), 0)) AS BIGINT), 0) AS engagement_time_ms,
  coalesce(s.engagement[2] = '1', false) AS session_engaged,
  coalesce(u.is_bot, false) AS is_bot
FROM joined s
LEFT JOIN ua_dim u ON u.ua IS NOT DISTINCT FROM s.ua AND u.ua_source IS NOT DISTINCT FROM s.ua_source`;

/** Every transformed event with the contract's columns; a view, filtered per partition on write. */
export const createEventsOut = `
CREATE OR REPLACE TEMP VIEW events_out AS
SELECT
  e.event_id, e.tenant_id, e.property_id, e.protocol, e.name AS event_name, f.event_ms, e.received_at,
  f.local_date, f.local_hour, e.client_id, e.user_id, f.session_key, f.session_start_ms, f.seq_in_session,
  f.is_entrance, f.is_exit,
  e.url AS page_location, p.host_name, p.page_path, p.page_query, e.title AS page_title,
  e.referrer AS page_referrer,
  p.utm_source, p.utm_medium, p.utm_campaign, p.utm_term, p.utm_content,
  a.source AS session_source, a.medium AS session_medium, a.campaign AS session_campaign,
  a.channel_group AS session_channel_group,
  e.country, e.region, e.city, e.language, e.screen,
  u.browser, u.browser_version, u.os, u.os_version, u.device_category,
  f.is_bot, u.bot_reason, f.engagement_time_ms, f.is_page_view, f.is_key_event,
  e.params, e.user_props
FROM facts f
JOIN raw e ON e.rowid = f.rid
LEFT JOIN ua_dim u ON u.ua IS NOT DISTINCT FROM e.ua AND u.ua_source IS NOT DISTINCT FROM e.ua_source
LEFT JOIN url_dim p ON p.url = e.url
LEFT JOIN sess_attr a ON a.first_rid = f.first_rid`;

/** One row per session: totals over its events, the rest from its first event, entrance and exit. */
export const createSessionsOut = (p: { engagedSessionSeconds: number }): string => `
CREATE OR REPLACE TEMP TABLE sessions_out AS
WITH totals AS (
  SELECT first_rid, any_value(entrance_rid) AS entrance_rid, any_value(exit_rid) AS exit_rid,
    arg_min(user_id, seq_in_session) FILTER (WHERE user_id IS NOT NULL) AS user_id,
    max(event_ms) AS session_end_ms,
    (max(event_ms) - min(event_ms)) / 1000.0 AS duration_s,
    count(*) FILTER (WHERE is_page_view) AS page_views,
    count(*) AS events,
    count(*) FILTER (WHERE is_key_event) AS key_events,
    sum(engagement_time_ms) AS engagement_time_ms,
    bool_or(session_engaged) AS any_session_engaged,
    bool_or(is_bot) AS is_bot
  FROM facts
  GROUP BY first_rid
)
SELECT
  e.tenant_id, e.property_id, f.session_key,
  e.client_id, -- the same on every event of a session: it is the session's client key when set
  t.user_id, f.session_start_ms, t.session_end_ms, f.local_date, f.local_hour,
  coalesce(pe.page_path, '(not set)') AS landing_page, pe.page_query AS landing_page_query,
  coalesce(px.page_path, '(not set)') AS exit_page,
  a.source, a.medium, a.campaign, a.term, a.content, a.channel_group,
  e.referrer, e.country, e.region, e.city, e.language, u.device_category, u.browser, u.os,
  t.duration_s, t.page_views, t.events, t.key_events, t.engagement_time_ms,
  t.any_session_engaged OR t.duration_s > ${p.engagedSessionSeconds} OR t.page_views >= 2 OR t.key_events >= 1
    AS engaged,
  t.is_bot
FROM totals t
JOIN facts f ON f.rid = t.first_rid
JOIN raw e ON e.rowid = t.first_rid
LEFT JOIN ua_dim u ON u.ua IS NOT DISTINCT FROM e.ua AND u.ua_source IS NOT DISTINCT FROM e.ua_source
LEFT JOIN sess_attr a ON a.first_rid = t.first_rid
LEFT JOIN raw en ON en.rowid = t.entrance_rid
LEFT JOIN url_dim pe ON pe.url = en.url
LEFT JOIN raw ex ON ex.rowid = t.exit_rid
LEFT JOIN url_dim px ON px.url = ex.url`;

/**
 * The (client id, user id) pairs linked in the window, one row per pair and local date, from
 * identity-link events (ids in their params) and from events carrying both ids.
 */
export const createIdentitiesOut = `
CREATE OR REPLACE TEMP TABLE identities_out AS
WITH links AS (
  SELECT r.tenant_id, r.property_id, ev.event_id, ev.event_ms,
    CASE WHEN ev.is_link THEN coalesce(json_extract_string(r.params, '$.client_id'), r.client_id) ELSE r.client_id END AS client_id,
    CASE WHEN ev.is_link THEN coalesce(json_extract_string(r.params, '$.user_id'), r.user_id) ELSE r.user_id END AS user_id,
    CASE WHEN ev.is_link THEN coalesce(json_extract_string(r.params, '$.link_kind'), 'identify') ELSE 'event' END AS link_kind,
    CASE WHEN ev.is_link THEN coalesce(json_extract_string(r.params, '$.source_protocol'), r.protocol) ELSE r.protocol END
      AS source_protocol
  FROM ev JOIN raw r ON r.rowid = ev.rid
  WHERE ev.is_link OR (r.client_id IS NOT NULL AND r.user_id IS NOT NULL)
),
dated AS (
  SELECT links.*, CAST(epoch_ms(links.event_ms + z.offset_ms) AS DATE) AS local_date
  FROM links ASOF JOIN tz_dim z ON links.event_ms >= z.from_ms
  WHERE client_id <> '' AND user_id <> ''
)
SELECT tenant_id, property_id, client_id, user_id, event_ms AS linked_ms, local_date, link_kind, source_protocol, event_id
FROM dated
QUALIFY row_number() OVER (PARTITION BY client_id, user_id, local_date ORDER BY event_ms, event_id) = 1`;

export const partitionCounts = (table: 'facts' | 'sessions_out' | 'identities_out'): string =>
  `SELECT CAST(local_date AS VARCHAR) AS d, count(*) AS n FROM ${table} GROUP BY ALL`;

/** Writes one local date of a table with exactly the contract's columns, in order and typed. */
export const copyPartition = (p: {
  table: 'events_out' | 'sessions_out' | 'identities_out';
  columns: readonly Column[];
  date: string;
  orderBy: string;
  path: string;
}): string => `
COPY (
  SELECT ${p.columns.map((c) => `CAST("${c.name}" AS ${DUCKDB_TYPES[c.type]}) AS "${c.name}"`).join(', ')}
  FROM ${p.table}
  WHERE local_date = DATE ${sqlString(p.date)}
  ORDER BY ${p.orderBy}
) TO ${sqlString(p.path)} (FORMAT parquet, COMPRESSION zstd)`;

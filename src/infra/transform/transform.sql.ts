import { IDENTITY_LINK_EVENT } from '../../domain/identity-link.js';
import type { Column, TransformedTable } from '../../domain/transformed-schema.js';
import { DUCKDB_TYPES } from '../column-types.js';
import { sqlString, type TransformDialect } from './transform-dialect.js';

/**
 * The transform, written once: the statements both engines run, in order, spelled for either by a
 * `TransformDialect`. Input: a table `raw` with the `RAW_FIELDS` of the records read (the engine
 * reads and normalises; rows are identified by `dialect.rowId`). Output: the views `events_out`,
 * `sessions_out` and `identities_out` with a `local_date` each, which the engine writes per date.
 * Every value interpolated is a number or goes through `dialect.str`.
 */

/** A step: a table (or view) from one SELECT, or an enrichment lookup `<dim>_dim` from distinct keys. */
export type TransformStep =
  { kind: 'table'; name: string; sql: string; materialize: boolean } | { kind: 'enrich'; dim: 'ua' | 'url' | 'attr' | 'traffic'; keys: string };

export interface TransformParams {
  tenantId: string;
  propertyId: string;
  /** Event-time window [startMs, endMs). */
  startMs: number;
  endMs: number;
  timeoutMs: number;
  engagedSessionSeconds: number;
  keyEvents: readonly string[];
  /**
   * The property excludes internal traffic (rules and an active filter): a `traffic` enrich step
   * judges each distinct (ip_trunc, traffic_type) and `ev` drops the excluded events.
   */
  excludeInternal: boolean;
  attributionParams: readonly string[];
  /** The zone's UTC offsets as (from_ms, offset_ms), ascending; the first applies before the second. */
  offsetSegments: readonly (readonly [number, number])[];
}

/** Output view of each transformed table. */
export const OUT_VIEWS = { events: 'events_out', sessions: 'sessions_out', identities: 'identities_out' } as const satisfies Record<TransformedTable, string>;

/**
 * RawEvent fields with explicit types, so no engine guesses. consent, params and user_props are
 * read as text (the object's minified JSON text; cheaper than a JSON type).
 */
export const RAW_FIELDS: ReadonlyArray<readonly [string, 'STRING' | 'BIGINT']> = [
  ['event_id', 'STRING'],
  ['tenant_id', 'STRING'],
  ['property_id', 'STRING'],
  ['protocol', 'STRING'],
  ['received_at', 'BIGINT'],
  ['client_ts', 'BIGINT'],
  ['name', 'STRING'],
  ['client_id', 'STRING'],
  ['user_id', 'STRING'],
  ['session_id', 'STRING'],
  ['url', 'STRING'],
  ['referrer', 'STRING'],
  ['title', 'STRING'],
  ['ua', 'STRING'],
  ['ua_source', 'STRING'],
  ['ip_trunc', 'STRING'],
  ['ip_source', 'STRING'],
  ['country', 'STRING'],
  ['region', 'STRING'],
  ['city', 'STRING'],
  ['language', 'STRING'],
  ['screen', 'STRING'],
  ['consent', 'STRING'],
  ['params', 'STRING'],
  ['user_props', 'STRING'],
  // set by the collector on events in an internal-traffic range (full IP), else absent
  ['traffic_type', 'STRING'],
];
const RAW_NAMES = RAW_FIELDS.map(([n]) => n);

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

export function transformSteps(d: TransformDialect, p: TransformParams): TransformStep[] {
  const id = d.rowId;
  const own = `tenant_id = ${d.str(p.tenantId)} AND property_id = ${d.str(p.propertyId)}`;
  const ownR = `r.tenant_id = ${d.str(p.tenantId)} AND r.property_id = ${d.str(p.propertyId)}`;
  const eq = d.nullSafeEq;
  /** Local time of an epoch-ms expression: the zone's offset segments as one CASE (exact switch instants). */
  const localMs = (ms: string) => {
    const later = [...p.offsetSegments].slice(1).reverse();
    const base = String(p.offsetSegments[0][1]);
    if (later.length === 0) return `(${ms} + ${base})`;
    return `(${ms} + CASE ${later.map(([from, off]) => `WHEN ${ms} >= ${from} THEN ${off}`).join(' ')} ELSE ${base} END)`;
  };
  const localDate = (lms: string) => d.epochDay(`CAST(floor(${lms} / ${DAY_MS}) AS INTEGER)`);
  const localHour = (lms: string) => `CAST(floor(((${lms} % ${DAY_MS}) + ${DAY_MS}) % ${DAY_MS} / ${HOUR_MS}) AS INTEGER)`;
  const isKeyEvent = p.keyEvents.length === 0 ? 'false' : `r.name IN (${p.keyEvents.map(d.str).join(', ')})`;
  const uaJoin = (alias: string, r: string) => `${eq(`${alias}.ua`, `${r}.ua`)} AND ${eq(`${alias}.ua_source`, `${r}.ua_source`)}`;

  const internal = p.excludeInternal
    ? `
        AND NOT EXISTS (SELECT 1 FROM traffic_dim t
          WHERE t.excluded AND ${eq('t.ip_trunc', 'r.ip_trunc')} AND ${eq('t.traffic_type', 'r.traffic_type')})`
    : '';

  return [
    // internal traffic: once per distinct (truncated IP, stamped traffic type), judged by the property's rules
    ...(p.excludeInternal ? [enrich('traffic', `SELECT DISTINCT ip_trunc, traffic_type FROM raw WHERE ${own}`)] : []),

    /**
     * The events kept, as narrow rows pointing at `raw`: dedup by event_id (the earliest receipt,
     * ties broken by the smallest record text, computed only for ids seen more than once), then the
     * event-time window, without the internal traffic the property excludes. Identity links are kept for `identities_out` but are not events: they join
     * no session and count in no metric.
     */
    table(
      'ev',
      `
      WITH repeated AS (
        SELECT event_id FROM raw WHERE ${own} GROUP BY event_id HAVING count(*) > 1
      ),
      ranked AS (
        SELECT r.${id} AS rid, row_number() OVER (PARTITION BY r.event_id ORDER BY r.received_at, ${d.recordText('r', RAW_NAMES)}) AS n
        FROM raw r WHERE ${ownR} AND EXISTS (SELECT 1 FROM repeated x WHERE x.event_id = r.event_id)
      ),
      losers AS (SELECT rid FROM ranked WHERE n > 1)
      SELECT r.${id} AS rid, r.event_id, coalesce(r.client_ts, r.received_at) AS event_ms, r.session_id,
        coalesce(r.client_id, r.user_id, r.event_id) AS client_key,
        r.name IN ('page_view', 'screen_view') AS is_page_view,
        r.name = ${d.str(IDENTITY_LINK_EVENT)} AS is_link
      FROM raw r
      WHERE ${ownR}
        AND NOT EXISTS (SELECT 1 FROM losers l WHERE l.rid = r.${id})
        AND coalesce(r.client_ts, r.received_at) >= ${p.startMs} AND coalesce(r.client_ts, r.received_at) < ${p.endMs}${internal}`,
    ),

    enrich('ua', `SELECT DISTINCT ua, ua_source FROM raw WHERE ${own}`),
    enrich('url', `SELECT DISTINCT url FROM raw WHERE ${own} AND url IS NOT NULL`),

    /**
     * The session of each kept event: the client's own session id when it sends one; otherwise a
     * new session after more than `timeoutMs` without an event, counting only the client's events
     * without a session id. Then, over the session: sequence, start, first event, first and last
     * page view (one shared sort).
     */
    table(
      'sess',
      `
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
                 ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS STRING)
          END AS session_key
        FROM starts
      )
      SELECT rid, event_ms, is_page_view, session_key,
        CAST(row_number() OVER s AS INTEGER) AS seq_in_session,
        first_value(event_ms) OVER whole AS session_start_ms,
        first_value(rid) OVER whole AS first_rid,
        ${d.firstIgnoreNulls('CASE WHEN is_page_view THEN rid END')} OVER whole AS entrance_rid,
        ${d.lastIgnoreNulls('CASE WHEN is_page_view THEN rid END')} OVER whole AS exit_rid
      FROM keyed
      WINDOW s AS (PARTITION BY session_key ORDER BY event_ms, event_id),
        whole AS (PARTITION BY session_key ORDER BY event_ms, event_id
          ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)`,
    ),

    /**
     * The inputs of each session's attribution: its first event's URL, referrer and the values of
     * the params that can carry a campaign, as a JSON array in `attributionParams` order.
     */
    table(
      'sess_first',
      `
      SELECT r.${id} AS first_rid, r.url, r.referrer, ${d.jsonValues('r.params', p.attributionParams)} AS attr_params
      FROM raw r
      WHERE r.${id} IN (SELECT rid FROM sess WHERE seq_in_session = 1)`,
    ),
    // once per distinct (url, referrer, campaign params) of the sessions' first events
    enrich('attr', `SELECT DISTINCT url, referrer, attr_params FROM sess_first`),

    /** Each session's traffic source, from its first event. */
    table(
      'sess_attr',
      `
      SELECT f.first_rid, a.source, a.medium, a.campaign, a.term, a.content, a.channel_group
      FROM sess_first f JOIN attr_dim a
        ON ${eq('a.url', 'f.url')} AND ${eq('a.referrer', 'f.referrer')} AND ${eq('a.attr_params', 'f.attr_params')}`,
    ),

    /**
     * The computed, narrow part of each event: session, local time, flags, engagement. Wide raw
     * columns are joined back by row id only when a partition is written.
     */
    table(
      'facts',
      `
      WITH joined AS (
        SELECT s.*, ${localMs('s.event_ms')} AS local_ms, r.user_id, ${isKeyEvent} AS is_key_event,
          ${d.jsonString('r.params', 'engagement_time_msec')} AS eng_time,
          ${d.jsonString('r.params', 'session_engaged')} AS eng_flag,
          coalesce(u.is_bot, false) AS is_bot
        FROM sess s JOIN raw r ON r.${id} = s.rid
        LEFT JOIN ua_dim u ON ${uaJoin('u', 'r')}
      )
      SELECT rid, first_rid, entrance_rid, exit_rid, session_key, session_start_ms,
        seq_in_session, event_ms, user_id,
        ${localDate('local_ms')} AS local_date, ${localHour('local_ms')} AS local_hour,
        ${eq('rid', 'entrance_rid')} AS is_entrance,
        ${eq('rid', 'exit_rid')} AS is_exit,
        is_page_view, is_key_event,
        -- params.engagement_time_msec as a number or numeric string, else 0
        coalesce(${d.truncToBigint(`greatest(TRY_CAST(eng_time AS DOUBLE), CAST(0 AS DOUBLE))`)}, CAST(0 AS BIGINT)) AS engagement_time_ms,
        coalesce(eng_flag = '1', false) AS session_engaged,
        is_bot
      FROM joined`,
    ),

    /** Every transformed event with the contract's columns; filtered per partition on write. */
    view(
      'events_out',
      `
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
      JOIN raw e ON e.${id} = f.rid
      LEFT JOIN ua_dim u ON ${uaJoin('u', 'e')}
      LEFT JOIN url_dim p ON p.url = e.url
      LEFT JOIN sess_attr a ON a.first_rid = f.first_rid`,
    ),

    /** One row per session: totals over its events, the rest from its first event, entrance and exit. */
    table(
      'sessions_out',
      `
      WITH totals AS (
        SELECT first_rid, any_value(entrance_rid) AS entrance_rid, any_value(exit_rid) AS exit_rid,
          ${d.argMinNotNull('user_id', 'seq_in_session')} AS user_id,
          max(event_ms) AS session_end_ms,
          CAST(max(event_ms) - min(event_ms) AS DOUBLE) / 1000 AS duration_s,
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
        t.any_session_engaged OR t.duration_s > ${Number(p.engagedSessionSeconds)} OR t.page_views >= 2 OR t.key_events >= 1
          AS engaged,
        t.is_bot
      FROM totals t
      JOIN facts f ON f.rid = t.first_rid
      JOIN raw e ON e.${id} = t.first_rid
      LEFT JOIN ua_dim u ON ${uaJoin('u', 'e')}
      LEFT JOIN sess_attr a ON a.first_rid = t.first_rid
      LEFT JOIN raw en ON en.${id} = t.entrance_rid
      LEFT JOIN url_dim pe ON pe.url = en.url
      LEFT JOIN raw ex ON ex.${id} = t.exit_rid
      LEFT JOIN url_dim px ON px.url = ex.url`,
    ),

    /**
     * The (client id, user id) pairs linked in the window, one row per pair and local date, from
     * identity-link events (ids in their params) and from events carrying both ids.
     */
    table(
      'identities_out',
      `
      WITH links AS (
        SELECT r.tenant_id, r.property_id, ev.event_id, ev.event_ms,
          CASE WHEN ev.is_link THEN coalesce(${d.jsonString('r.params', 'client_id')}, r.client_id) ELSE r.client_id END AS client_id,
          CASE WHEN ev.is_link THEN coalesce(${d.jsonString('r.params', 'user_id')}, r.user_id) ELSE r.user_id END AS user_id,
          CASE WHEN ev.is_link THEN coalesce(${d.jsonString('r.params', 'link_kind')}, 'identify') ELSE 'event' END AS link_kind,
          CASE WHEN ev.is_link THEN coalesce(${d.jsonString('r.params', 'source_protocol')}, r.protocol) ELSE r.protocol END
            AS source_protocol,
          ${localDate(localMs('ev.event_ms'))} AS local_date
        FROM ev JOIN raw r ON r.${id} = ev.rid
        WHERE ev.is_link OR (r.client_id IS NOT NULL AND r.user_id IS NOT NULL)
      ),
      ranked AS (
        SELECT links.*, row_number() OVER (PARTITION BY client_id, user_id, local_date ORDER BY event_ms, event_id) AS n
        FROM links WHERE client_id <> '' AND user_id <> ''
      )
      SELECT tenant_id, property_id, client_id, user_id, event_ms AS linked_ms, local_date, link_kind, source_protocol, event_id
      FROM ranked WHERE n = 1`,
    ),
  ];
}

function table(name: string, sql: string): TransformStep {
  return { kind: 'table', name, sql, materialize: true };
}

function view(name: string, sql: string): TransformStep {
  return { kind: 'table', name, sql, materialize: false };
}

function enrich(dim: 'ua' | 'url' | 'attr' | 'traffic', keys: string): TransformStep {
  return { kind: 'enrich', dim, keys };
}

// ---- DuckDB-only statements: reading and writing (the engine's edges) ----

export { sqlString };

export function sqlStringList(values: readonly string[]): string {
  return `[${values.map(sqlString).join(', ')}]`;
}

/** DuckDB reads the raw objects into `raw`, every column typed explicitly. */
export const createRaw = (paths: readonly string[]): string =>
  paths.length === 0
    ? `CREATE OR REPLACE TEMP TABLE raw (${RAW_FIELDS.map(([n, t]) => `${n} ${t}`).join(', ')})`
    : `CREATE OR REPLACE TEMP TABLE raw AS ${readRawJson(paths)}`;

/**
 * The records of newline-delimited JSON objects (compression by extension) with exactly the
 * RAW_FIELDS columns; no columns from the key's `name=value` segments.
 */
export const readRawJson = (paths: readonly string[], where = 'true'): string => `
  SELECT ${RAW_FIELDS.map(([n]) => n).join(', ')} FROM read_json(${sqlStringList(paths)},
    format = 'newline_delimited', compression = 'auto_detect', hive_partitioning = false,
    columns = {${RAW_FIELDS.map(([n, t]) => `${n}: '${t === 'STRING' ? 'VARCHAR' : t}'`).join(', ')}})
  WHERE ${where}`;

export const partitionCounts = (table: 'facts' | 'sessions_out' | 'identities_out'): string =>
  `SELECT CAST(local_date AS VARCHAR) AS d, count(*) AS n FROM ${table} GROUP BY ALL`;

/** Writes the rows of `table` matching `where` with exactly the contract's columns, in order and typed. */
export const copyRows = (p: { table: string; columns: readonly Column[]; where: string; orderBy: string; path: string }): string => `
COPY (
  SELECT ${p.columns.map((c) => `CAST("${c.name}" AS ${DUCKDB_TYPES[c.type]}) AS "${c.name}"`).join(', ')}
  FROM ${p.table}
  WHERE ${p.where}
  ORDER BY ${p.orderBy}
) TO ${sqlString(p.path)} (FORMAT parquet, COMPRESSION zstd)`;

/** Writes one local date of a table. */
export const copyPartition = (p: {
  table: 'events_out' | 'sessions_out' | 'identities_out';
  columns: readonly Column[];
  date: string;
  orderBy: string;
  path: string;
}): string => copyRows({ ...p, where: `local_date = DATE ${sqlString(p.date)}` });

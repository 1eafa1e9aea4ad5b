import { IDENTITY_LINK_EVENT } from '../../domain/identity-link.js';
import type { Column, TransformedTable } from '../../domain/transformed-schema.js';
import type { PropertySettings } from '../../domain/property-settings.js';
import { DUCKDB_TYPES } from '../column-types.js';
import { itemSteps } from './transform-items.sql.js';
import { lastNonDirectSteps } from './transform-attribution.sql.js';
import { sqlString, type TransformDialect } from './transform-dialect.js';

/**
 * The transform, written once: the statements both engines run, in order, spelled for either by a
 * `TransformDialect`. Input: a table `raw` with the `RAW_FIELDS` of the records read (the engine
 * reads and normalises; rows are identified by `dialect.rowId`) and a table `prior_touch` (each
 * user's latest non-direct session before the run, `TOUCH_FIELDS`; possibly empty). Output: the views `events_out`,
 * `sessions_out`, `identities_out` and `items_out` with a `local_date` each, which the engine
 * writes per date.
 * Every value interpolated is a number or goes through `dialect.str`.
 */

/** A step: a table (or view) from one SELECT, or an enrichment lookup `<dim>_dim` from distinct keys. */
export type TransformStep =
  { kind: 'table'; name: string; sql: string; materialize: boolean } | { kind: 'enrich'; dim: 'ua' | 'url' | 'attr' | 'traffic'; keys: string };

/** A property's retroactive rules (absent: none, the default channel group). */
export type PropertyRuleSettings = Pick<PropertySettings, 'botPatterns' | 'channelRules' | 'internalTraffic'>;

/** One property's settings, as a row of the `props` tables the statements join in. */
export interface PropertyParams {
  tenantId: string;
  propertyId: string;
  /** Event-time window [startMs, endMs). */
  startMs: number;
  endMs: number;
  timeoutMs: number;
  engagedSessionSeconds: number;
  keyEvents: readonly string[];
  /**
   * Which enrichment rules apply: '' for the defaults, else an id of the property's own rules
   * (bot patterns, channel group, internal traffic; `enrichment-dims.ts`). The `ua`, `attr` and
   * `traffic` dims are keyed by it, so properties with their own rules share a run with the rest.
   */
  rulesId: string;
  /** The rules themselves, as data: what the JS enrichment of the `ua`, `attr` and `traffic` dims applies under `rulesId`. */
  rules: PropertyRuleSettings;
  /** The property excludes internal traffic (rules and an active filter): `ev` drops what the `traffic` dim excludes. */
  excludeInternal: boolean;
  /** The zone's UTC offsets as (from_ms, offset_ms), ascending; the first applies before the second. */
  offsetSegments: readonly (readonly [number, number])[];
}

/**
 * The parameters of one run: every property of the batch (each with its own settings, joined in as
 * data, so one run serves many properties) and the campaign params attribution reads.
 */
export interface TransformParams {
  properties: readonly PropertyParams[];
  attributionParams: readonly string[];
}

/** Output view of each transformed table. */
export const OUT_VIEWS = {
  events: 'events_out',
  sessions: 'sessions_out',
  identities: 'identities_out',
  items: 'items_out',
} as const satisfies Record<TransformedTable, string>;

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
  const eq = d.nullSafeEq;
  /** The row's property: every window, dedup and join is within one (tenant, property). */
  const same = (a: string, b: string) => `${a}.tenant_id = ${b}.tenant_id AND ${a}.property_id = ${b}.property_id`;
  /** Local time of an epoch-ms expression, with `o` the property's offset segment holding it. */
  const localDate = (lms: string) => d.epochDay(`CAST(floor(${lms} / ${DAY_MS}) AS INTEGER)`);
  const localHour = (lms: string) => `CAST(floor(((${lms} % ${DAY_MS}) + ${DAY_MS}) % ${DAY_MS} / ${HOUR_MS}) AS INTEGER)`;
  const offsetJoin = (alias: string, row: string, ms: string) =>
    `LEFT JOIN prop_offsets ${alias} ON ${same(alias, row)} AND ${ms} >= ${alias}.from_ms AND ${ms} < ${alias}.to_ms`;
  /** The `ua_dim` row of a raw row `r` under the rules `rules` (an expression giving the row's `rules_id`). */
  const uaJoin = (alias: string, r: string, rules: string) =>
    `${alias}.rules_id = ${rules} AND ${eq(`${alias}.ua`, `${r}.ua`)} AND ${eq(`${alias}.ua_source`, `${r}.ua_source`)}`;
  const excluding = p.properties.filter((x) => x.excludeInternal).map((x) => d.str(x.rulesId));
  const ids = (x: PropertyParams) => [d.str(x.tenantId), d.str(x.propertyId)];

  return [
    /**
     * The settings of the run's properties, as data: one row per property (window, session
     * timeout, engaged-session seconds), its zone's offset segments [from_ms, to_ms) and its key
     * events. Every later statement joins them by (tenant_id, property_id).
     */
    table(
      'props',
      typed(
        d,
        ['tenant_id STRING', 'property_id STRING', 'start_ms BIGINT', 'end_ms BIGINT', 'timeout_ms BIGINT', 'engaged_s DOUBLE', 'rules_id STRING'],
        p.properties.map((x) => [...ids(x), num(x.startMs), num(x.endMs), num(x.timeoutMs), num(x.engagedSessionSeconds), d.str(x.rulesId)]),
      ),
    ),
    table(
      'prop_offsets',
      typed(
        d,
        ['tenant_id STRING', 'property_id STRING', 'from_ms BIGINT', 'to_ms BIGINT', 'offset_ms BIGINT'],
        p.properties.flatMap((x) =>
          x.offsetSegments.map(([from, off], i) => [...ids(x), num(from), num(x.offsetSegments[i + 1]?.[0] ?? Number.MAX_SAFE_INTEGER), num(off)]),
        ),
      ),
    ),
    table(
      'prop_key_events',
      typed(
        d,
        ['tenant_id STRING', 'property_id STRING', 'name STRING'],
        p.properties.flatMap((x) => [...new Set(x.keyEvents)].map((k) => [...ids(x), d.str(k)])),
      ),
    ),

    // internal traffic: once per distinct (rules, truncated IP, stamped traffic type) of the properties that exclude it
    ...(excluding.length
      ? [
          enrich(
            'traffic',
            `SELECT DISTINCT p.rules_id, r.ip_trunc, r.traffic_type FROM raw r JOIN props p ON ${same('p', 'r')} WHERE p.rules_id IN (${excluding.join(', ')})`,
          ),
        ]
      : []),

    /**
     * The events kept, as narrow rows pointing at `raw`: dedup by event_id within the property
     * (the earliest receipt, ties broken by the smallest record text, computed only for ids seen
     * more than once), then the property's event-time window, without the internal traffic the
     * property excludes. Identity links are kept for
     * `identities_out` but are not events: they join no session and count in no metric.
     */
    table(
      'ev',
      `
      WITH repeated AS (
        SELECT r.tenant_id, r.property_id, r.event_id FROM raw r JOIN props p ON ${same('p', 'r')}
        GROUP BY r.tenant_id, r.property_id, r.event_id HAVING count(*) > 1
      ),
      ranked AS (
        SELECT r.${id} AS rid,
          row_number() OVER (PARTITION BY r.tenant_id, r.property_id, r.event_id ORDER BY r.received_at, ${d.recordText('r', RAW_NAMES)}) AS n
        FROM raw r JOIN repeated x ON ${same('x', 'r')} AND x.event_id = r.event_id
      ),
      losers AS (SELECT rid FROM ranked WHERE n > 1)
      SELECT r.${id} AS rid, r.tenant_id, r.property_id, r.event_id, coalesce(r.client_ts, r.received_at) AS event_ms, r.session_id,
        coalesce(r.client_id, r.user_id, r.event_id) AS client_key,
        r.name IN ('page_view', 'screen_view') AS is_page_view,
        r.name = ${d.str(IDENTITY_LINK_EVENT)} AS is_link,
        p.timeout_ms, p.rules_id
      FROM raw r JOIN props p ON ${same('p', 'r')}
      WHERE NOT EXISTS (SELECT 1 FROM losers l WHERE l.rid = r.${id})
        AND coalesce(r.client_ts, r.received_at) >= p.start_ms AND coalesce(r.client_ts, r.received_at) < p.end_ms${
          excluding.length
            ? `
        AND NOT EXISTS (SELECT 1 FROM traffic_dim t
          WHERE t.excluded AND t.rules_id = p.rules_id AND ${eq('t.ip_trunc', 'r.ip_trunc')} AND ${eq('t.traffic_type', 'r.traffic_type')})`
            : ''
        }`,
    ),

    enrich('ua', `SELECT DISTINCT p.rules_id, r.ua, r.ua_source FROM raw r JOIN props p ON ${same('p', 'r')}`),
    enrich('url', `SELECT DISTINCT r.url FROM raw r JOIN props p ON ${same('p', 'r')} WHERE r.url IS NOT NULL`),

    /**
     * The session of each kept event: the client's own session id when it sends one; otherwise a
     * new session after more than the property's timeout without an event, counting only the
     * client's events without a session id. Then, over the session: sequence, start, first event,
     * first and last page view (one shared sort).
     */
    table(
      'sess',
      `
      WITH starts AS (
        SELECT ev.*,
          CASE WHEN session_id IS NULL
                AND (lag(event_ms) OVER w IS NULL OR event_ms - lag(event_ms) OVER w > timeout_ms)
               THEN event_ms END AS new_session_ms
        FROM ev
        WHERE NOT is_link
        WINDOW w AS (PARTITION BY tenant_id, property_id, client_key, session_id IS NULL ORDER BY event_ms, event_id)
      ),
      keyed AS (
        SELECT rid, tenant_id, property_id, rules_id, event_id, event_ms, is_page_view,
          CASE WHEN session_id IS NOT NULL THEN client_key || ':' || session_id
               ELSE client_key || ':' || CAST(max(new_session_ms) OVER (
                 PARTITION BY tenant_id, property_id, client_key, session_id IS NULL ORDER BY event_ms, event_id
                 ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS STRING)
          END AS session_key
        FROM starts
      )
      SELECT rid, tenant_id, property_id, rules_id, event_ms, is_page_view, session_key,
        CAST(row_number() OVER s AS INTEGER) AS seq_in_session,
        first_value(event_ms) OVER whole AS session_start_ms,
        first_value(rid) OVER whole AS first_rid,
        ${d.firstIgnoreNulls('CASE WHEN is_page_view THEN rid END')} OVER whole AS entrance_rid,
        ${d.lastIgnoreNulls('CASE WHEN is_page_view THEN rid END')} OVER whole AS exit_rid
      FROM keyed
      WINDOW s AS (PARTITION BY tenant_id, property_id, session_key ORDER BY event_ms, event_id),
        whole AS (PARTITION BY tenant_id, property_id, session_key ORDER BY event_ms, event_id
          ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)`,
    ),

    /**
     * The inputs of each session's attribution: its first event's URL, referrer and the values of
     * the params that can carry a campaign, as a JSON array in `attributionParams` order.
     */
    table(
      'sess_first',
      `
      SELECT r.${id} AS first_rid, s.rules_id, r.url, r.referrer, ${d.jsonValues('r.params', p.attributionParams)} AS attr_params
      FROM sess s JOIN raw r ON r.${id} = s.rid
      WHERE s.seq_in_session = 1`,
    ),
    // once per distinct (rules, url, referrer, campaign params) of the sessions' first events
    enrich('attr', `SELECT DISTINCT rules_id, url, referrer, attr_params FROM sess_first`),

    /** Each session's traffic source, from its first event. */
    table(
      'sess_attr',
      `
      SELECT f.first_rid, a.source, a.medium, a.campaign, a.term, a.content, a.channel_group
      FROM sess_first f JOIN attr_dim a
        ON a.rules_id = f.rules_id AND ${eq('a.url', 'f.url')} AND ${eq('a.referrer', 'f.referrer')} AND ${eq('a.attr_params', 'f.attr_params')}`,
    ),

    // GA4's last non-direct click: `sess_lnd`, each session's attributed source (issue 14)
    ...lastNonDirectSteps(d, id, same).map((x): TransformStep => ({ kind: 'table', ...x })),

    /**
     * The computed, narrow part of each event: session, local time, flags, engagement. Wide raw
     * columns are joined back by row id only when a partition is written.
     */
    table(
      'facts',
      `
      WITH joined AS (
        SELECT s.*, s.event_ms + o.offset_ms AS local_ms, r.user_id, k.name IS NOT NULL AS is_key_event,
          ${d.jsonString('r.params', 'engagement_time_msec')} AS eng_time,
          ${d.jsonString('r.params', 'session_engaged')} AS eng_flag,
          coalesce(u.is_bot, false) AS is_bot
        FROM sess s JOIN raw r ON r.${id} = s.rid
        ${offsetJoin('o', 's', 's.event_ms')}
        LEFT JOIN prop_key_events k ON ${same('k', 'r')} AND k.name = r.name
        LEFT JOIN ua_dim u ON ${uaJoin('u', 'r', 's.rules_id')}
      )
      SELECT rid, tenant_id, property_id, rules_id, first_rid, entrance_rid, exit_rid, session_key, session_start_ms,
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
      LEFT JOIN ua_dim u ON ${uaJoin('u', 'e', 'f.rules_id')}
      LEFT JOIN url_dim p ON p.url = e.url
      LEFT JOIN sess_lnd a ON a.first_rid = f.first_rid`,
    ),

    /**
     * One row per session: totals over its events, the rest from its first event, entrance and
     * exit; traffic as GA4's session scope gives it (`sess_lnd`), its own beside it (`collected_*`).
     */
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
        t.any_session_engaged OR t.duration_s > pr.engaged_s OR t.page_views >= 2 OR t.key_events >= 1
          AS engaged,
        t.is_bot,
        c.source AS collected_source, c.medium AS collected_medium, c.campaign AS collected_campaign, c.term AS collected_term,
        c.content AS collected_content, c.channel_group AS collected_channel_group
      FROM totals t
      JOIN facts f ON f.rid = t.first_rid
      JOIN raw e ON e.${id} = t.first_rid
      JOIN props pr ON ${same('pr', 'e')}
      LEFT JOIN ua_dim u ON ${uaJoin('u', 'e', 'pr.rules_id')}
      LEFT JOIN sess_lnd a ON a.first_rid = t.first_rid
      LEFT JOIN sess_attr c ON c.first_rid = t.first_rid
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
          ${localDate('(ev.event_ms + o.offset_ms)')} AS local_date
        FROM ev JOIN raw r ON r.${id} = ev.rid
        ${offsetJoin('o', 'ev', 'ev.event_ms')}
        WHERE ev.is_link OR (r.client_id IS NOT NULL AND r.user_id IS NOT NULL)
      ),
      ranked AS (
        SELECT links.*,
          row_number() OVER (PARTITION BY tenant_id, property_id, client_id, user_id, local_date ORDER BY event_ms, event_id) AS n
        FROM links WHERE client_id <> '' AND user_id <> ''
      )
      SELECT tenant_id, property_id, client_id, user_id, event_ms AS linked_ms, local_date, link_kind, source_protocol, event_id
      FROM ranked WHERE n = 1`,
    ),

    // e-commerce items (issue 14), after the steps above
    ...itemSteps(d, id).map((x): TransformStep => ({ kind: 'table', ...x })),
  ];
}

/** A table of literal rows with typed columns (`name TYPE`); empty when there are no rows. */
export function typed(d: TransformDialect, columns: readonly string[], rows: readonly string[][]): string {
  const names = columns.map((c) => c.split(' ')[0]);
  const casts = columns.map((c) => {
    const [name, type] = c.split(' ');
    return `CAST(${name} AS ${type}) AS ${name}`;
  });
  const body = rows.length ? d.inlineTable(names, rows) : `${d.inlineTable(names, [names.map(() => 'NULL')])}`;
  return `SELECT ${casts.join(', ')} FROM (${body}) v${rows.length ? '' : ' WHERE false'}`;
}

export function num(n: number): string {
  if (!Number.isFinite(n)) throw new Error(`not a finite number: ${n}`);
  return String(n);
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

export const partitionCounts = (table: 'facts' | 'sessions_out' | 'identities_out' | 'items_out'): string =>
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
  table: (typeof OUT_VIEWS)[TransformedTable];
  columns: readonly Column[];
  date: string;
  orderBy: string;
  path: string;
}): string => copyRows({ ...p, where: `local_date = DATE ${sqlString(p.date)}` });

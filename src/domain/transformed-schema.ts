/**
 * Columns of the transformed zone (ARCHITECTURE §4), the contract between every transform engine
 * (DuckDB, Spark) and every warehouse (DuckDB, PostgreSQL, Redshift). Types are given in a
 * neutral vocabulary; each engine maps them.
 *
 * Times: `*_ms` are epoch milliseconds (UTC). `local_date` / `local_hour` are in the property's
 * time zone; the partition `dt=` is the event's (or the session start's) local date.
 * Placeholders follow GA4: '(not set)' for unknown strings in reported dimensions.
 */
export type ColumnType = 'string' | 'int' | 'bigint' | 'double' | 'boolean' | 'date';

export interface Column {
  name: string;
  type: ColumnType;
}

export const EVENT_COLUMNS: readonly Column[] = [
  { name: 'event_id', type: 'string' },
  { name: 'tenant_id', type: 'string' },
  { name: 'property_id', type: 'string' },
  { name: 'protocol', type: 'string' },
  { name: 'event_name', type: 'string' },
  { name: 'event_ms', type: 'bigint' }, // client time (clamped) else receipt time
  { name: 'received_at', type: 'bigint' },
  { name: 'local_date', type: 'date' },
  { name: 'local_hour', type: 'int' },
  { name: 'client_id', type: 'string' },
  { name: 'user_id', type: 'string' },
  { name: 'session_key', type: 'string' }, // unique within the property
  { name: 'session_start_ms', type: 'bigint' },
  { name: 'seq_in_session', type: 'int' }, // 1-based, by event time then event_id
  { name: 'is_entrance', type: 'boolean' }, // first page view of the session
  { name: 'is_exit', type: 'boolean' }, // last page view of the session
  { name: 'page_location', type: 'string' },
  { name: 'host_name', type: 'string' },
  { name: 'page_path', type: 'string' },
  { name: 'page_query', type: 'string' },
  { name: 'page_title', type: 'string' },
  { name: 'page_referrer', type: 'string' },
  { name: 'utm_source', type: 'string' },
  { name: 'utm_medium', type: 'string' },
  { name: 'utm_campaign', type: 'string' },
  { name: 'utm_term', type: 'string' },
  { name: 'utm_content', type: 'string' },
  { name: 'session_source', type: 'string' },
  { name: 'session_medium', type: 'string' },
  { name: 'session_campaign', type: 'string' },
  { name: 'session_channel_group', type: 'string' },
  { name: 'country', type: 'string' }, // ISO 3166-1 alpha-2, or null
  { name: 'region', type: 'string' },
  { name: 'city', type: 'string' },
  { name: 'language', type: 'string' },
  { name: 'screen', type: 'string' },
  { name: 'browser', type: 'string' },
  { name: 'browser_version', type: 'string' },
  { name: 'os', type: 'string' },
  { name: 'os_version', type: 'string' },
  { name: 'device_category', type: 'string' }, // desktop | mobile | tablet | smart tv
  { name: 'is_bot', type: 'boolean' },
  { name: 'bot_reason', type: 'string' },
  { name: 'engagement_time_ms', type: 'bigint' },
  { name: 'is_page_view', type: 'boolean' }, // page_view or screen_view
  { name: 'is_key_event', type: 'boolean' },
  { name: 'params', type: 'string' }, // JSON
  { name: 'user_props', type: 'string' }, // JSON
];

/** The contract's columns a table created earlier lacks (by name), in contract order: a warehouse appends them. */
export function missingColumns(columns: readonly Column[], existing: readonly string[]): Column[] {
  const have = new Set(existing.map((n) => n.toLowerCase()));
  return columns.filter((c) => !have.has(c.name.toLowerCase()));
}

export const SESSION_COLUMNS: readonly Column[] = [
  { name: 'tenant_id', type: 'string' },
  { name: 'property_id', type: 'string' },
  { name: 'session_key', type: 'string' },
  { name: 'client_id', type: 'string' },
  { name: 'user_id', type: 'string' },
  { name: 'session_start_ms', type: 'bigint' },
  { name: 'session_end_ms', type: 'bigint' },
  { name: 'local_date', type: 'date' }, // of the session start
  { name: 'local_hour', type: 'int' },
  { name: 'landing_page', type: 'string' }, // path of the first page view, '(not set)' if none
  { name: 'landing_page_query', type: 'string' },
  { name: 'exit_page', type: 'string' },
  { name: 'source', type: 'string' },
  { name: 'medium', type: 'string' },
  { name: 'campaign', type: 'string' },
  { name: 'term', type: 'string' },
  { name: 'content', type: 'string' },
  { name: 'channel_group', type: 'string' },
  { name: 'referrer', type: 'string' },
  { name: 'country', type: 'string' },
  { name: 'region', type: 'string' },
  { name: 'city', type: 'string' },
  { name: 'language', type: 'string' },
  { name: 'device_category', type: 'string' },
  { name: 'browser', type: 'string' },
  { name: 'os', type: 'string' },
  { name: 'duration_s', type: 'double' }, // last event time - first event time
  { name: 'page_views', type: 'int' },
  { name: 'events', type: 'int' },
  { name: 'key_events', type: 'int' },
  { name: 'engagement_time_ms', type: 'bigint' },
  { name: 'engaged', type: 'boolean' },
  { name: 'is_bot', type: 'boolean' },
  // The session's own traffic source, from its first event ("collected", as GA4's export names it).
  // source … channel_group above are GA4's session-scoped values: last non-direct click, i.e. a
  // direct session takes its user's latest non-direct source within 90 days (transform README).
  { name: 'collected_source', type: 'string' },
  { name: 'collected_medium', type: 'string' },
  { name: 'collected_campaign', type: 'string' },
  { name: 'collected_term', type: 'string' },
  { name: 'collected_content', type: 'string' },
  { name: 'collected_channel_group', type: 'string' },
];

/**
 * One row per (client id, user id) pair first seen on a local date: explicit links (identity-link
 * events: PostHog `$identify`/`$create_alias`, Segment identify/alias, Umami identify, tally.js
 * user) and implicit ones (any event carrying both ids). Reports join a client's events to its
 * first linked user, so anonymous history counts as that user's, across transform windows.
 */
export const IDENTITY_COLUMNS: readonly Column[] = [
  { name: 'tenant_id', type: 'string' },
  { name: 'property_id', type: 'string' },
  { name: 'client_id', type: 'string' },
  { name: 'user_id', type: 'string' },
  { name: 'linked_ms', type: 'bigint' }, // the earliest linking event of the pair on that date
  { name: 'local_date', type: 'date' },
  { name: 'link_kind', type: 'string' }, // identify | alias | user_id | event (both ids on an event)
  { name: 'source_protocol', type: 'string' },
  { name: 'event_id', type: 'string' }, // of that earliest linking event
];

/**
 * One row per element of an event's `items` array (GA4 e-commerce: GA4 MP `params.items`, gtag
 * `pr1`…`pr200`), in array order, with the event's identity, date and session beside it so
 * item-scoped reports group by event-scoped dimensions without re-reading the event. `currency`
 * is the item's own, else its event's (`params.currency`), upper-cased; `price` and `quantity`
 * stay in that currency (reports convert, see src/query/README.md). GA4 defaults quantity to 1.
 */
export const ITEM_COLUMNS: readonly Column[] = [
  { name: 'tenant_id', type: 'string' },
  { name: 'property_id', type: 'string' },
  { name: 'event_id', type: 'string' },
  { name: 'event_name', type: 'string' },
  { name: 'event_ms', type: 'bigint' },
  { name: 'local_date', type: 'date' }, // of the event
  { name: 'session_key', type: 'string' },
  { name: 'client_id', type: 'string' },
  { name: 'user_id', type: 'string' },
  { name: 'is_bot', type: 'boolean' },
  { name: 'item_index', type: 'int' }, // 0-based position in the event's items array
  { name: 'item_id', type: 'string' },
  { name: 'item_name', type: 'string' },
  { name: 'item_brand', type: 'string' },
  { name: 'item_category', type: 'string' },
  { name: 'item_category2', type: 'string' },
  { name: 'item_category3', type: 'string' },
  { name: 'item_category4', type: 'string' },
  { name: 'item_category5', type: 'string' },
  { name: 'item_variant', type: 'string' },
  { name: 'item_list_id', type: 'string' },
  { name: 'item_list_name', type: 'string' },
  { name: 'promotion_id', type: 'string' },
  { name: 'promotion_name', type: 'string' },
  { name: 'coupon', type: 'string' },
  { name: 'price', type: 'double' },
  { name: 'quantity', type: 'bigint' },
  { name: 'currency', type: 'string' },
  { name: 'item_params', type: 'string' }, // the item object as JSON (custom item parameters)
];

export type TransformedTable = 'events' | 'sessions' | 'identities' | 'items';

/** Every table of the transformed zone with its columns and write order, in load order. */
export const TRANSFORMED_TABLES: Readonly<Record<TransformedTable, { columns: readonly Column[]; orderBy: readonly string[] }>> = {
  events: { columns: EVENT_COLUMNS, orderBy: ['event_ms', 'event_id'] },
  sessions: { columns: SESSION_COLUMNS, orderBy: ['session_start_ms', 'session_key'] },
  identities: { columns: IDENTITY_COLUMNS, orderBy: ['client_id', 'user_id'] },
  items: { columns: ITEM_COLUMNS, orderBy: ['event_ms', 'event_id', 'item_index'] },
};

export const TRANSFORMED_TABLE_NAMES = Object.keys(TRANSFORMED_TABLES) as TransformedTable[];

/** The object key of one transformed partition (one file per table, tenant, property and local date). */
export function transformedKey(table: TransformedTable, p: { tenantId: string; propertyId: string; date: string }): string {
  return `transformed/${table}/tenant=${p.tenantId}/property=${p.propertyId}/dt=${p.date}/part-0.parquet`;
}

/** Where the archiver writes: accepted events (`raw`) and refused ones (`deadletter`). */
export type RawZone = 'raw' | 'deadletter';

/** The folder of one zone, tenant, property and UTC hour of receipt (`at` is any time in that hour). */
export function rawHourPrefix(p: { zone?: RawZone; tenantId: string; propertyId: string; at: number }): string {
  const iso = new Date(p.at).toISOString();
  return `${rawDayPrefix(p, iso.slice(0, 10))}hr=${iso.slice(11, 13)}/`;
}

/** The folder of one UTC day of receipt (the transform lists raw objects a day at a time). */
export function rawDayPrefix(p: { zone?: RawZone; tenantId: string; propertyId: string }, date: string): string {
  return `${p.zone ?? 'raw'}/tenant=${p.tenantId}/property=${p.propertyId}/dt=${date}/`;
}

/**
 * The object key of one archived batch, named by the log partition and offsets it holds:
 * `raw/tenant=T/property=P/dt=YYYY-MM-DD/hr=HH/<partition>-<first>-<last>.ndjson.gz`.
 */
export function rawObjectKey(p: { zone?: RawZone; tenantId: string; propertyId: string; at: number; partition: number; first: number; last: number }): string {
  return rawHourPrefix(p) + rawObjectName(p.partition, p.first, p.last);
}

/** The file name of one archived batch within its hour's folder. */
export function rawObjectName(partition: number, first: number, last: number): string {
  return `${partition}-${first}-${last}.ndjson.gz`;
}

const RAW_KEY = /^(raw|deadletter)\/tenant=([^/]+)\/property=([^/]+)\/dt=(\d{4}-\d{2}-\d{2})\/hr=(\d{2})\/([^/]+\.ndjson(?:\.gz|\.zst)?)$/;

/** The parts of a raw-zone key, or null for anything else; `hourStartMs` is the UTC hour of receipt. */
export function parseRawKey(key: string): { zone: RawZone; tenantId: string; propertyId: string; date: string; hourStartMs: number; name: string } | null {
  const m = RAW_KEY.exec(key);
  if (!m) return null;
  const hourStartMs = Date.parse(`${m[4]}T${m[5]}:00:00Z`);
  if (Number.isNaN(hourStartMs)) return null;
  return { zone: m[1] as RawZone, tenantId: m[2], propertyId: m[3], date: m[4], hourStartMs, name: m[6] };
}

/** The folder of all of one property's objects in one zone (every date and hour). */
export function rawPropertyPrefix(p: { zone?: RawZone; tenantId: string; propertyId: string }): string {
  return `${p.zone ?? 'raw'}/tenant=${p.tenantId}/property=${p.propertyId}/`;
}

/** The folder of one property's partitions of one transformed table. */
export function transformedPropertyPrefix(table: TransformedTable, p: { tenantId: string; propertyId: string }): string {
  return `transformed/${table}/tenant=${p.tenantId}/property=${p.propertyId}/`;
}

/** The folder of the state an incremental transform carries between cycles for one property (open sessions' raw records, keys). */
export function transformStatePrefix(p: { tenantId: string; propertyId: string }): string {
  return `state/transform/tenant=${p.tenantId}/property=${p.propertyId}/`;
}

/** Every object-store folder holding data of one property: raw zone, dead letters, transformed tables, transform state. */
export function propertyDataPrefixes(p: { tenantId: string; propertyId: string }): string[] {
  return [
    rawPropertyPrefix({ ...p, zone: 'raw' }),
    rawPropertyPrefix({ ...p, zone: 'deadletter' }),
    ...TRANSFORMED_TABLE_NAMES.map((t) => transformedPropertyPrefix(t, p)),
    transformStatePrefix(p),
  ];
}

/**
 * The key a raw-zone object is rewritten to (a deletion removed records from it): the same folder,
 * the same offsets, a tag naming the rewrite. A new key, so a reader of the old one never sees a
 * changed object; `parseRawKey` reads it like any other.
 */
export function rewrittenRawKey(key: string, tag: string): string {
  if (!/^[A-Za-z0-9_-]{1,40}$/.test(tag)) throw new Error(`bad rewrite tag ${JSON.stringify(tag)}`);
  const m = /^(.*\/)([^/.]+)(?:\.[^/]*)?\.ndjson(\.gz|\.zst)?$/.exec(key);
  if (!m) throw new Error(`not a raw-zone key: ${key}`);
  return `${m[1]}${m[2]}.${tag}.ndjson${m[3] ?? ''}`;
}

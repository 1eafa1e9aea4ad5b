/**
 * Test kit: a generated transformed-zone dataset (events, sessions and identities consistent with each other),
 * written to Parquet with DuckDB COPY, and a plain-JS reference implementation of the report
 * definitions used as ground truth. Only tests import this file.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { EVENT_COLUMNS, IDENTITY_COLUMNS, SESSION_COLUMNS } from '../domain/transformed-schema.js';
import type { Warehouse, WarehouseTable } from '../infra/warehouse/warehouse.port.js';
import { emptyCounts, referenceMetrics, type ReferenceCounts, type ReferenceMetrics } from '../demo/reference-metrics.js';
import { DUCKDB_TYPES } from '../infra/column-types.js';

export interface EventRow {
  event_id: string;
  tenant_id: string;
  property_id: string;
  protocol: string;
  event_name: string;
  event_ms: number;
  received_at: number;
  local_date: string;
  local_hour: number;
  client_id: string | null;
  user_id: string | null;
  session_key: string;
  session_start_ms: number;
  seq_in_session: number;
  is_entrance: boolean;
  is_exit: boolean;
  page_location: string | null;
  host_name: string | null;
  page_path: string | null;
  page_query: string | null;
  page_title: string | null;
  page_referrer: string | null;
  utm_source: string | null;
  utm_medium: string | null;
  utm_campaign: string | null;
  utm_term: string | null;
  utm_content: string | null;
  session_source: string;
  session_medium: string;
  session_campaign: string;
  session_channel_group: string;
  country: string | null;
  region: string | null;
  city: string | null;
  language: string | null;
  screen: string | null;
  browser: string;
  browser_version: string | null;
  os: string;
  os_version: string | null;
  device_category: string;
  is_bot: boolean;
  bot_reason: string | null;
  engagement_time_ms: number;
  is_page_view: boolean;
  is_key_event: boolean;
  params: string;
  user_props: string;
}

export interface SessionRow {
  tenant_id: string;
  property_id: string;
  session_key: string;
  client_id: string | null;
  user_id: string | null;
  session_start_ms: number;
  session_end_ms: number;
  local_date: string;
  local_hour: number;
  landing_page: string;
  landing_page_query: string | null;
  exit_page: string | null;
  source: string;
  medium: string;
  campaign: string;
  term: string | null;
  content: string | null;
  channel_group: string;
  referrer: string | null;
  country: string | null;
  region: string | null;
  city: string | null;
  language: string | null;
  device_category: string;
  browser: string;
  os: string;
  duration_s: number;
  page_views: number;
  events: number;
  key_events: number;
  engagement_time_ms: number;
  engaged: boolean;
  is_bot: boolean;
}

export interface IdentityRow {
  tenant_id: string;
  property_id: string;
  client_id: string;
  user_id: string;
  linked_ms: number;
  local_date: string;
  link_kind: string;
  source_protocol: string;
  event_id: string;
}

export interface Fixture {
  events: EventRow[];
  sessions: SessionRow[];
  identities: IdentityRow[];
}

export function mergeFixtures(...fixtures: Fixture[]): Fixture {
  return {
    events: fixtures.flatMap((f) => f.events),
    sessions: fixtures.flatMap((f) => f.sessions),
    identities: fixtures.flatMap((f) => f.identities),
  };
}

/** Page paths include SQL metacharacters: they must be matched literally. */
export const PAGES = ['/', '/pricing', '/docs/start', '/Docs/API', "/it's-here", "/search'; DROP TABLE events; --", '/blog/2024'];
const SOURCES = [
  { source: 'google', medium: 'organic', campaign: '(organic)', channel: 'Organic Search' },
  { source: '(direct)', medium: '(none)', campaign: '(direct)', channel: 'Direct' },
  { source: 'newsletter', medium: 'email', campaign: 'spring', channel: 'Email' },
  { source: "o'reilly.com", medium: 'referral', campaign: '(referral)', channel: 'Referral' },
];
const COUNTRIES: (string | null)[] = ['US', 'GB', 'DE', 'JP', null];
const DEVICES = [
  { device: 'desktop', browser: 'Chrome', os: 'Windows' },
  { device: 'mobile', browser: 'Safari', os: 'iOS' },
  { device: 'tablet', browser: 'Firefox', os: 'Android' },
];
export const DAY0 = Date.UTC(2024, 2, 1); // 2024-03-01, a Friday
export const DAYS = 7;

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const isoDate = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/**
 * A property's visitors over DAYS days from DAY0 (time zone UTC). Some sign in from their second
 * session on, two clients to a user (one user on two devices); some are linked to a user only by
 * an identity link after their last event, and to a second user later still (the first wins).
 */
export function generateProperty(tenantId: string, propertyId: string, seed: number, users = 40): Fixture {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)];
  const events: EventRow[] = [];
  const sessions: SessionRow[] = [];
  const identities: IdentityRow[] = [];
  const link = (clientId: string, userId: string, ms: number, kind: string, eventId: string) =>
    identities.push({
      tenant_id: tenantId,
      property_id: propertyId,
      client_id: clientId,
      user_id: userId,
      linked_ms: ms,
      local_date: isoDate(ms),
      link_kind: kind,
      source_protocol: kind === 'event' ? 'gtag' : 'segment',
      event_id: eventId,
    });
  for (let u = 0; u < users; u++) {
    const clientId = `${propertyId}.c${u}`;
    const signedInAs = u % 5 === 1 ? `${propertyId}.u${Math.floor(u / 10)}` : null;
    const bot = u % 13 === 12;
    const nSessions = 1 + Math.floor(r() * 3);
    let t = DAY0 + Math.floor(r() * 5 * 86_400_000);
    if (u % 9 === 4) t = DAY0 + 86_400_000 * 2 - 20_000; // crosses midnight
    for (let sIdx = 0; sIdx < nSessions; sIdx++) {
      const key = `${clientId}.s${sIdx}`;
      const src = pick(SOURCES);
      const country = pick(COUNTRIES);
      const dev = pick(DEVICES);
      const start = t;
      const nEvents = 1 + Math.floor(r() * 6);
      const rows: EventRow[] = [];
      let et = start;
      for (let k = 0; k < nEvents; k++) {
        if (k > 0) et += Math.floor(r() * 9_000);
        let name: string;
        if (k === 0) name = sIdx === 0 ? 'first_visit' : 'session_start';
        else {
          const x = r();
          name = x < 0.55 ? 'page_view' : x < 0.7 ? 'scroll' : x < 0.9 ? 'user_engagement' : 'purchase';
        }
        const path = pick(PAGES);
        const query = r() < 0.2 ? 'q=1' : null;
        rows.push({
          event_id: `${key}.e${k}`,
          tenant_id: tenantId,
          property_id: propertyId,
          protocol: 'gtag',
          event_name: name,
          event_ms: et,
          received_at: et + 50,
          local_date: isoDate(et),
          local_hour: new Date(et).getUTCHours(),
          client_id: clientId,
          user_id: signedInAs && sIdx >= 1 ? signedInAs : null,
          session_key: key,
          session_start_ms: start,
          seq_in_session: k + 1,
          is_entrance: false,
          is_exit: false,
          page_location: `https://www.example.com${path}${query ? `?${query}` : ''}`,
          host_name: 'www.example.com',
          page_path: path,
          page_query: query,
          page_title: r() < 0.1 ? null : `Title ${path}`,
          page_referrer: null,
          utm_source: null,
          utm_medium: null,
          utm_campaign: null,
          utm_term: null,
          utm_content: null,
          session_source: src.source,
          session_medium: src.medium,
          session_campaign: src.campaign,
          session_channel_group: src.channel,
          country,
          region: null,
          city: null,
          language: 'en-us',
          screen: '1920x1080',
          browser: dev.browser,
          browser_version: '1',
          os: dev.os,
          os_version: '1',
          device_category: dev.device,
          is_bot: bot,
          bot_reason: bot ? 'ua' : null,
          engagement_time_ms: name === 'user_engagement' ? 500 + Math.floor(r() * 20_000) : 0,
          is_page_view: name === 'page_view',
          is_key_event: name === 'purchase',
          params: '{}',
          user_props: '{}',
        });
      }
      const views = rows.filter((e) => e.is_page_view);
      if (views.length > 0) {
        views[0].is_entrance = true;
        views[views.length - 1].is_exit = true;
      }
      const duration = (rows[rows.length - 1].event_ms - start) / 1000;
      const keyEvents = rows.filter((e) => e.is_key_event).length;
      events.push(...rows);
      sessions.push({
        tenant_id: tenantId,
        property_id: propertyId,
        session_key: key,
        client_id: clientId,
        user_id: signedInAs && sIdx >= 1 ? signedInAs : null,
        session_start_ms: start,
        session_end_ms: rows[rows.length - 1].event_ms,
        local_date: isoDate(start),
        local_hour: new Date(start).getUTCHours(),
        landing_page: views[0]?.page_path ?? '(not set)',
        landing_page_query: views[0]?.page_query ?? null,
        exit_page: views[views.length - 1]?.page_path ?? null,
        source: src.source,
        medium: src.medium,
        campaign: src.campaign,
        term: null,
        content: null,
        channel_group: src.channel,
        referrer: null,
        country,
        region: null,
        city: null,
        language: 'en-us',
        device_category: dev.device,
        browser: dev.browser,
        os: dev.os,
        duration_s: duration,
        page_views: views.length,
        events: rows.length,
        key_events: keyEvents,
        engagement_time_ms: rows.reduce((a, e) => a + e.engagement_time_ms, 0),
        engaged: duration > 10 || keyEvents > 0 || views.length >= 2,
        is_bot: bot,
      });
      t = et + 31 * 60_000 + Math.floor(r() * 2 * 86_400_000);
    }
    if (u % 7 === 3) {
      const after = events[events.length - 1].event_ms + 3_600_000;
      link(clientId, `${propertyId}.late${u}`, after, 'identify', `${clientId}.link1`);
      link(clientId, `${propertyId}.other${u}`, after + 3_600_000, 'alias', `${clientId}.link2`);
    }
  }
  // the implicit links: the first event of each day that carries both ids
  const seen = new Set<string>();
  for (const e of [...events].sort((a, b) => a.event_ms - b.event_ms || (a.event_id < b.event_id ? -1 : 1))) {
    const k = `${e.client_id}|${e.user_id}|${e.local_date}`;
    if (e.client_id && e.user_id && !seen.has(k)) {
      seen.add(k);
      link(e.client_id, e.user_id, e.event_ms, 'event', e.event_id);
    }
  }
  return { events, sessions, identities };
}

export interface WrittenPartition {
  table: WarehouseTable;
  tenantId: string;
  propertyId: string;
  date: string;
  key: string;
}

/** Writes one Parquet object per (table, tenant, property, date) under `dir`, with DuckDB COPY. */
export async function writeParquetPartitions(fixture: Fixture, dir: string): Promise<WrittenPartition[]> {
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  const out: WrittenPartition[] = [];
  try {
    for (const [table, rows, columns] of [
      ['events', fixture.events, EVENT_COLUMNS],
      ['sessions', fixture.sessions, SESSION_COLUMNS],
      ['identities', fixture.identities, IDENTITY_COLUMNS],
    ] as const) {
      const ndjson = join(dir, `${table}.ndjson`);
      await mkdir(dir, { recursive: true });
      await writeFile(ndjson, rows.map((x) => JSON.stringify(x)).join('\n') + '\n');
      const spec = columns.map((c) => `${c.name}: '${DUCKDB_TYPES[c.type]}'`).join(', ');
      await conn.run(`CREATE TABLE src_${table} AS SELECT * FROM read_json('${ndjson}', format = 'newline_delimited', columns = {${spec}})`);
      const parts = new Map<string, WrittenPartition>();
      for (const row of rows as readonly { tenant_id: string; property_id: string; local_date: string }[]) {
        const k = `${row.tenant_id}/${row.property_id}/${row.local_date}`;
        if (!parts.has(k)) {
          const key = `transformed/${table}/tenant=${row.tenant_id}/property=${row.property_id}/dt=${row.local_date}/part-0.parquet`;
          parts.set(k, { table, tenantId: row.tenant_id, propertyId: row.property_id, date: row.local_date, key });
        }
      }
      for (const part of parts.values()) {
        const path = join(dir, part.key);
        await mkdir(dirname(path), { recursive: true });
        await conn.run(
          `COPY (SELECT * FROM src_${table} WHERE tenant_id = '${part.tenantId}' AND property_id = '${part.propertyId}' ` +
            `AND local_date = DATE '${part.date}') TO '${path}' (FORMAT PARQUET)`,
        );
        out.push(part);
      }
    }
  } finally {
    conn.closeSync();
    db.closeSync();
  }
  return out;
}

export async function loadPartitions(warehouse: Warehouse, parts: WrittenPartition[]): Promise<number> {
  let rows = 0;
  for (const p of parts) {
    rows += (await warehouse.loadPartition(p.table, { tenantId: p.tenantId, propertyId: p.propertyId, date: p.date }, [p.key])).rows;
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// Ground truth: the definitions of catalog.ts / report-compiler.ts, written as plain loops.

/** The metrics a query's rows must carry: the one reference calculator's (see reference-metrics.ts). */
export type Truth = ReferenceMetrics;

export interface TruthQuery {
  tenantId: string;
  propertyId: string;
  start: string;
  end: string;
  /** Dimension value(s) of an event row; the session is the event's session. */
  eventKey: (e: EventRow, s: SessionRow) => string;
  /** When set, sessions are counted from the sessions table by this key (session-scoped dims). */
  sessionKey?: (s: SessionRow) => string;
  eventFilter?: (e: EventRow, s: SessionRow) => boolean;
  sessionFilter?: (s: SessionRow) => boolean;
}

export function groundTruth(fx: Fixture, q: TruthQuery): Map<string, Truth> {
  const own = <T extends { tenant_id: string; property_id: string; is_bot: boolean }>(x: T) =>
    x.tenant_id === q.tenantId && x.property_id === q.propertyId && !x.is_bot;
  const sessionsByKey = new Map(fx.sessions.filter(own).map((s) => [s.session_key, s]));
  const firstSession = new Map<string, SessionRow>();
  for (const s of sessionsByKey.values()) {
    if (!s.client_id) continue;
    const cur = firstSession.get(s.client_id);
    if (!cur || s.session_start_ms < cur.session_start_ms || (s.session_start_ms === cur.session_start_ms && s.session_key < cur.session_key)) {
      firstSession.set(s.client_id, s);
    }
  }
  const inRange = (date: string) => date >= q.start && date <= q.end;
  // catalog USER_KEY: the event's user id, else its client's first linked user, else the client
  const firstLink = new Map<string, IdentityRow>();
  for (const l of fx.identities) {
    if (l.tenant_id !== q.tenantId || l.property_id !== q.propertyId) continue;
    const cur = firstLink.get(l.client_id);
    if (!cur || l.linked_ms < cur.linked_ms || (l.linked_ms === cur.linked_ms && l.user_id < cur.user_id)) firstLink.set(l.client_id, l);
  }
  const userOf = (e: EventRow): string | null => e.user_id ?? (e.client_id ? (firstLink.get(e.client_id)?.user_id ?? e.client_id) : null);

  // sessions are collected per key first: an event-scoped key sees a session once per value
  const acc = new Map<string, { counts: ReferenceCounts; sessions: Map<string, SessionRow> }>();
  const get = (k: string) => {
    let a = acc.get(k);
    if (!a) {
      a = { counts: emptyCounts(), sessions: new Map() };
      acc.set(k, a);
    }
    return a;
  };

  for (const e of fx.events) {
    if (!own(e) || !inRange(e.local_date)) continue;
    const s = sessionsByKey.get(e.session_key)!;
    if (q.eventFilter && !q.eventFilter(e, s)) continue;
    const a = get(q.eventKey(e, s));
    const c = a.counts;
    c.events++;
    if (e.is_page_view) c.pageViews++;
    if (e.is_key_event) c.keyEvents++;
    c.engagementMsec += e.engagement_time_ms;
    const user = userOf(e);
    if (user !== null) {
      c.totalUsers.add(user);
      if (s.engaged || e.event_name === 'first_visit' || e.engagement_time_ms > 0) c.activeUsers.add(user);
      if (e.client_id && firstSession.get(e.client_id)?.session_key === e.session_key && e.seq_in_session === 1) c.newUsers.add(user);
      if (e.is_key_event) c.keyEventUsers.add(user);
    }
    if (!q.sessionKey) a.sessions.set(e.session_key, s);
  }
  if (q.sessionKey) {
    for (const s of sessionsByKey.values()) {
      if (!inRange(s.local_date) || (q.sessionFilter && !q.sessionFilter(s))) continue;
      get(q.sessionKey(s)).sessions.set(s.session_key, s);
    }
  }

  const out = new Map<string, Truth>();
  for (const [k, { counts, sessions }] of acc) {
    for (const s of sessions.values()) {
      counts.sessions++;
      if (s.engaged) counts.engagedSessions++;
      counts.durationSeconds += s.duration_s;
      if (s.key_events > 0) counts.keyEventSessions++;
    }
    out.set(k, referenceMetrics(counts));
  }
  return out;
}

export const ALL_METRICS: readonly (keyof Truth)[] = [
  'activeUsers',
  'totalUsers',
  'newUsers',
  'sessions',
  'engagedSessions',
  'engagementRate',
  'bounceRate',
  'averageSessionDuration',
  'screenPageViews',
  'screenPageViewsPerSession',
  'screenPageViewsPerUser',
  'eventCount',
  'eventsPerSession',
  'eventCountPerUser',
  'sessionsPerUser',
  'userEngagementDuration',
  'keyEvents',
  'sessionKeyEventRate',
  'userKeyEventRate',
];

/** session_key of each user's first (non-bot) session in the property. */
export function firstSessionKeys(fx: Fixture, tenantId: string, propertyId: string): Set<string> {
  const first = new Map<string, SessionRow>();
  for (const s of fx.sessions) {
    if (s.tenant_id !== tenantId || s.property_id !== propertyId || s.is_bot || !s.client_id) continue;
    const cur = first.get(s.client_id);
    if (!cur || s.session_start_ms < cur.session_start_ms || (s.session_start_ms === cur.session_start_ms && s.session_key < cur.session_key)) {
      first.set(s.client_id, s);
    }
  }
  return new Set([...first.values()].map((s) => s.session_key));
}

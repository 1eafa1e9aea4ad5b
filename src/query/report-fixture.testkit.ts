/**
 * Test kit: a generated transformed-zone dataset (events, sessions and identities consistent with each other),
 * written to Parquet with DuckDB COPY (report-fixture-parquet.testkit.ts), and a plain-JS reference
 * implementation of the report definitions used as ground truth (report-ground-truth.testkit.ts).
 * This file generates the data and is where tests import every piece from. Only tests import this file.
 */
import type { EventRow, Fixture, IdentityRow, SessionRow } from './report-fixture-rows.testkit.js';

export * from './report-fixture-rows.testkit.js';
export * from './report-fixture-parquet.testkit.js';
export * from './report-ground-truth.testkit.js';

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
        // the fixture attributes no session to an earlier one: its own source is the reported one
        collected_source: src.source,
        collected_medium: src.medium,
        collected_campaign: src.campaign,
        collected_term: null,
        collected_content: null,
        collected_channel_group: src.channel,
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

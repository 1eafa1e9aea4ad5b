import type { EventRow, Fixture, SessionRow } from './report-fixture.testkit.js';

/**
 * Test kit: scripted users whose funnel outcome is worked out by hand in funnel-report.test.ts.
 * Each user is one client with one session; `at` is seconds after 2024-03-02 10:00 UTC (a day
 * is 86,400). Event names start with `f_` so the generated traffic of the same property never
 * matches a step.
 */
export interface ScriptedUser {
  id: string;
  device: 'desktop' | 'mobile' | 'tablet';
  bot?: boolean;
  /** No engagement: not an active user (no engaged session, no engagement time, no first_visit). */
  inactive?: boolean;
  events: { name: string; at: number; params?: Record<string, unknown> }[];
}

export const BASE = Date.UTC(2024, 2, 2, 10);
const isoDate = (ms: number) => new Date(ms).toISOString().slice(0, 10);

export const FUNNEL_USERS: readonly ScriptedUser[] = [
  { id: 'A', device: 'desktop', events: ev(['f_view', 0], ['f_cart', 10], ['f_buy', 20, { value: 100 }]) },
  { id: 'B', device: 'desktop', events: ev(['f_view', 0], ['f_cart', 10]) },
  { id: 'C', device: 'mobile', events: ev(['f_cart', 0], ['f_buy', 10, { value: 20 }]) },
  { id: 'D', device: 'mobile', events: ev(['f_view', 0], ['f_buy', 10, { value: '80' }]) },
  { id: 'E', device: 'mobile', events: ev(['f_cart', 0], ['f_view', 10], ['f_buy', 20, { value: 10 }]) },
  { id: 'F', device: 'tablet', events: ev(['f_view', 0], ['f_other', 5], ['f_cart', 600], ['f_buy', 610, { value: 100 }]) },
  { id: 'G', device: 'desktop', events: ev(['f_view', 0], ['f_cart', 10], ['f_other', 15], ['f_buy', 20, { value: 20 }]) },
  // the next day; the second view is 10 s before the cart (a chain within 300 s exists)
  { id: 'H', device: 'desktop', events: ev(['f_view', 86_400], ['f_view', 86_900], ['f_cart', 86_910]) },
  { id: 'I', device: 'desktop', bot: true, events: ev(['f_view', 0], ['f_cart', 10], ['f_buy', 20, { value: 100 }]) },
  // viewed before the report's week (2024-02-20), carted inside it
  { id: 'K', device: 'mobile', events: ev(['f_view', -11 * 86_400], ['f_cart', 0]) },
];

function ev(...xs: [string, number, Record<string, unknown>?][]): ScriptedUser['events'] {
  return xs.map(([name, at, params]) => ({ name, at, params }));
}

export function scriptedFixture(tenantId: string, propertyId: string, users: readonly ScriptedUser[]): Fixture {
  const events: EventRow[] = [];
  const sessions: SessionRow[] = [];
  for (const u of users) {
    const clientId = `${propertyId}.f${u.id}`;
    const byDay = new Map<string, ScriptedUser['events']>();
    for (const e of u.events) {
      const day = isoDate(BASE + e.at * 1000);
      byDay.set(day, [...(byDay.get(day) ?? []), e]);
    }
    for (const [day, es] of byDay) {
      const key = `${clientId}.${day}`;
      const start = BASE + es[0].at * 1000;
      es.forEach((e, k) => {
        const ms = BASE + e.at * 1000;
        events.push({
          event_id: `${key}.e${k}`,
          tenant_id: tenantId,
          property_id: propertyId,
          protocol: 'gtag',
          event_name: e.name,
          event_ms: ms,
          received_at: ms + 50,
          local_date: day,
          local_hour: new Date(ms).getUTCHours(),
          client_id: clientId,
          user_id: null,
          session_key: key,
          session_start_ms: start,
          seq_in_session: k + 1,
          is_entrance: false,
          is_exit: false,
          page_location: 'https://shop.example.com/p',
          host_name: 'shop.example.com',
          page_path: '/p',
          page_query: null,
          page_title: 'Product',
          page_referrer: null,
          utm_source: null,
          utm_medium: null,
          utm_campaign: null,
          utm_term: null,
          utm_content: null,
          session_source: '(direct)',
          session_medium: '(none)',
          session_campaign: '(direct)',
          session_channel_group: 'Direct',
          country: 'US',
          region: null,
          city: null,
          language: 'en-us',
          screen: '1920x1080',
          browser: 'Chrome',
          browser_version: '1',
          os: 'Windows',
          os_version: '1',
          device_category: u.device,
          is_bot: u.bot ?? false,
          bot_reason: u.bot ? 'ua' : null,
          engagement_time_ms: u.inactive ? 0 : 1000,
          is_page_view: false,
          is_key_event: false,
          params: JSON.stringify(e.params ?? {}),
          user_props: '{}',
        });
      });
      const end = BASE + es[es.length - 1].at * 1000;
      sessions.push({
        tenant_id: tenantId,
        property_id: propertyId,
        session_key: key,
        client_id: clientId,
        user_id: null,
        session_start_ms: start,
        session_end_ms: end,
        local_date: day,
        local_hour: new Date(start).getUTCHours(),
        landing_page: '(not set)',
        landing_page_query: null,
        exit_page: null,
        source: '(direct)',
        medium: '(none)',
        campaign: '(direct)',
        term: null,
        content: null,
        channel_group: 'Direct',
        referrer: null,
        country: 'US',
        region: null,
        city: null,
        language: 'en-us',
        device_category: u.device,
        browser: 'Chrome',
        os: 'Windows',
        duration_s: (end - start) / 1000,
        page_views: 0,
        events: es.length,
        key_events: 0,
        engagement_time_ms: u.inactive ? 0 : 1000 * es.length,
        engaged: !u.inactive,
        is_bot: u.bot ?? false,
      });
    }
  }
  return { events, sessions, identities: [] };
}

/**
 * Test kit: ground truth, the definitions of catalog.ts / report-compiler.ts written as plain loops
 * over a fixture's rows. Only tests import this file.
 */
import { emptyCounts, referenceMetrics, type ReferenceCounts, type ReferenceMetrics } from '../demo/reference-metrics.js';
import type { EventRow, Fixture, IdentityRow, SessionRow } from './report-fixture-rows.testkit.js';

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
  const firstSession = firstSessionOfClient(sessionsByKey.values());
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

/** Each client's first session (earliest start, then lowest key) among `sessions`. */
function firstSessionOfClient(sessions: Iterable<SessionRow>): Map<string, SessionRow> {
  const first = new Map<string, SessionRow>();
  for (const s of sessions) {
    if (!s.client_id) continue;
    const cur = first.get(s.client_id);
    if (!cur || s.session_start_ms < cur.session_start_ms || (s.session_start_ms === cur.session_start_ms && s.session_key < cur.session_key)) {
      first.set(s.client_id, s);
    }
  }
  return first;
}

/** session_key of each user's first (non-bot) session in the property. */
export function firstSessionKeys(fx: Fixture, tenantId: string, propertyId: string): Set<string> {
  const own = fx.sessions.filter((s) => s.tenant_id === tenantId && s.property_id === propertyId && !s.is_bot);
  return new Set([...firstSessionOfClient(own).values()].map((s) => s.session_key));
}

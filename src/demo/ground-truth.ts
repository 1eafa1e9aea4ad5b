import { DEFAULT_PROPERTY_SETTINGS } from '../domain/property-settings.js';
import { TallyError } from '../infra/errors.js';
import { parseDate } from './local-time.js';
import { emptyCounts, referenceMetrics, type ReferenceCounts, type ReferenceMetrics } from './reference-metrics.js';
import type { DeviceCategory } from './traffic-catalog.js';
import type { TrafficOptions } from './traffic-generator.js';
import { createContext, planDay, type ResolvedTrafficOptions } from './traffic-model.js';
import { expandSession, withinWindow } from './traffic-sessions.js';

/**
 * The known answers for a generated dataset, taken from the sessions the model decided to
 * create (never by re-sessionizing the events), and the report metrics they imply under the
 * reference definitions of README.md.
 */

/** A session's events aggregated by (local date, page path). */
export interface TruthPart {
  date: string;
  pagePath: string;
  pageViews: number;
  eventCount: number;
  keyEvents: number;
  engagementMsec: number;
  /** Events carrying engagement_time_msec > 0. */
  engagementEvents: number;
  firstVisits: number;
  /** purchase events, and the sum of their `value` (the demo's currency, USD). */
  purchases: number;
  revenue: number;
}

/** One human session; bots are counted in `stats` only. */
export interface TruthSession {
  clientId: string;
  userId: string | null;
  /** The session_id the client sent, if it sends one. */
  clientSessionId: string | null;
  startMs: number;
  endMs: number;
  durationSeconds: number;
  /** Local date of the first event. */
  date: string;
  /** The visitor's first session ever (it starts with first_visit). */
  firstSession: boolean;
  engaged: boolean;
  /** GA4's session-scoped traffic: last non-direct click (`lastNonDirectClick`). */
  source: string;
  medium: string;
  campaign: string;
  channelGroup: string;
  /** The session's own traffic source (what the visit itself came with). */
  collected: { source: string; medium: string; campaign: string; channelGroup: string };
  landingPage: string;
  country: string;
  deviceCategory: DeviceCategory;
  browser: string;
  language: string;
  pageViews: number;
  eventCount: number;
  keyEvents: number;
  engagementMsec: number;
  /** Sent 1–60 h after it happened. */
  late: boolean;
  parts: TruthPart[];
}

export interface DatasetStats {
  /** Every event the generator yields: humans, bots, and resends. */
  sentEvents: number;
  /** Distinct event_ids. */
  uniqueEvents: number;
  humanEvents: number;
  botEvents: number;
  humanSessions: number;
  botSessions: number;
  /** Second sends of an event (same event_id). */
  duplicateEvents: number;
  lateSessions: number;
  /** Distinct events of late sessions. */
  lateEvents: number;
  /** Human sessions whose client sent a session_id. */
  clientSessionIdSessions: number;
  humanVisitors: number;
  /** Human visitors with sessions on two or more local dates. */
  returningVisitors: number;
  /** Human sessions whose last event falls on the local date after their first. */
  midnightSessions: number;
}

export interface GroundTruth {
  options: ResolvedTrafficOptions;
  sessions: TruthSession[];
  stats: DatasetStats;
}

/** The metrics the demo's answers carry: the reference calculator's (reference-metrics.ts), those it counts. */
export type ExpectedMetrics = Pick<
  ReferenceMetrics,
  | 'activeUsers'
  | 'totalUsers'
  | 'newUsers'
  | 'sessions'
  | 'engagedSessions'
  | 'engagementRate'
  | 'bounceRate'
  | 'averageSessionDuration'
  | 'screenPageViews'
  | 'screenPageViewsPerSession'
  | 'eventCount'
  | 'eventsPerSession'
  | 'userEngagementDuration'
  | 'keyEvents'
  | 'purchaseRevenue'
  | 'ecommercePurchases'
  | 'transactions'
  | 'averagePurchaseRevenue'
>;

export type ReportDimension = 'date' | 'pagePath' | 'sessionSource' | 'country' | 'deviceCategory' | 'sessionDefaultChannelGroup';

export interface ReportQuery {
  /** YYYY-MM-DD, inclusive, property-local. */
  startDate: string;
  endDate: string;
  dimension?: ReportDimension;
}

const KEY_EVENTS: ReadonlySet<string> = new Set(DEFAULT_PROPERTY_SETTINGS.keyEvents);
const ENGAGED_SECONDS = DEFAULT_PROPERTY_SETTINGS.engagedSessionSeconds;

export function groundTruth(opts: TrafficOptions): GroundTruth {
  const ctx = createContext(opts);
  const stats: DatasetStats = {
    sentEvents: 0,
    uniqueEvents: 0,
    humanEvents: 0,
    botEvents: 0,
    humanSessions: 0,
    botSessions: 0,
    duplicateEvents: 0,
    lateSessions: 0,
    lateEvents: 0,
    clientSessionIdSessions: 0,
    humanVisitors: 0,
    returningVisitors: 0,
    midnightSessions: 0,
  };
  const sessions: TruthSession[] = [];
  const firstDay = new Map<number, number>();
  const returning = new Set<number>();

  for (let d = 0; d < ctx.opts.days; d++) {
    const nextMidnight = ctx.midnights[d + 1];
    for (const plan of planDay(ctx, d)) {
      const s = expandSession(ctx, plan);
      if (!withinWindow(ctx, s)) continue;
      const n = s.events.length;
      const resends = s.events.filter((e) => e.resendDelayMs > 0).length;
      stats.sentEvents += n + resends;
      stats.uniqueEvents += n;
      stats.duplicateEvents += resends;
      if (s.late) {
        stats.lateSessions++;
        stats.lateEvents += n;
      }
      if (plan.bot || !s.source) {
        stats.botSessions++;
        stats.botEvents += n;
        continue;
      }
      stats.humanSessions++;
      stats.humanEvents += n;
      if (s.clientSessionId) stats.clientSessionIdSessions++;
      const seenOn = firstDay.get(plan.actor);
      if (seenOn === undefined) firstDay.set(plan.actor, d);
      else if (seenOn !== d) returning.add(plan.actor);

      const parts = new Map<string, TruthPart>();
      let startMs = Infinity;
      let endMs = -Infinity;
      let pageViews = 0;
      let keyEvents = 0;
      let engagementMsec = 0;
      for (const e of s.events) {
        startMs = Math.min(startMs, e.ts);
        endMs = Math.max(endMs, e.ts);
        const date = e.ts < nextMidnight ? ctx.dates[d] : ctx.dates[d + 1];
        const k = `${date}\u0000${e.path}`;
        let part = parts.get(k);
        if (!part) {
          part = {
            date,
            pagePath: e.path,
            pageViews: 0,
            eventCount: 0,
            keyEvents: 0,
            engagementMsec: 0,
            engagementEvents: 0,
            firstVisits: 0,
            purchases: 0,
            revenue: 0,
          };
          parts.set(k, part);
        }
        part.eventCount++;
        if (e.name === 'page_view') {
          part.pageViews++;
          pageViews++;
        }
        if (KEY_EVENTS.has(e.name)) {
          part.keyEvents++;
          keyEvents++;
        }
        if (e.engagementMsec > 0) {
          part.engagementMsec += e.engagementMsec;
          part.engagementEvents++;
          engagementMsec += e.engagementMsec;
        }
        if (e.name === 'first_visit') part.firstVisits++;
        if (e.name === 'purchase' && typeof e.params?.value === 'number') {
          part.purchases++;
          part.revenue += e.params.value;
        }
      }
      const durationSeconds = (endMs - startMs) / 1000;
      if (endMs >= nextMidnight) stats.midnightSessions++;
      const landing = s.events.find((e) => e.name === 'page_view');
      sessions.push({
        clientId: s.visitor.clientId,
        userId: s.visitor.userId,
        clientSessionId: s.clientSessionId,
        startMs,
        endMs,
        durationSeconds,
        date: ctx.dates[d],
        firstSession: plan.firstEver,
        engaged: durationSeconds > ENGAGED_SECONDS || pageViews >= 2 || keyEvents >= 1,
        source: s.source.source,
        medium: s.source.medium,
        campaign: s.source.campaign,
        channelGroup: s.source.channelGroup,
        collected: { source: s.source.source, medium: s.source.medium, campaign: s.source.campaign, channelGroup: s.source.channelGroup },
        landingPage: landing ? landing.path : '(not set)',
        country: s.visitor.country,
        deviceCategory: s.visitor.deviceCategory,
        browser: s.visitor.browser,
        language: s.visitor.language,
        pageViews,
        eventCount: s.events.length,
        keyEvents,
        engagementMsec,
        late: s.late,
        parts: [...parts.values()],
      });
    }
  }
  stats.humanVisitors = firstDay.size;
  stats.returningVisitors = returning.size;
  return { options: ctx.opts, sessions: lastNonDirectClick(sessions), stats };
}

const LOOKBACK_MS = 90 * 86_400_000;

/**
 * GA4's last non-direct click, as the transform applies it (src/infra/transform/README.md): a
 * direct session takes the traffic source of its client's latest non-direct session that started
 * within 90 days before it; every other session keeps its own.
 */
export function lastNonDirectClick(sessions: readonly TruthSession[]): TruthSession[] {
  const last = new Map<string, TruthSession['collected'] & { at: number }>();
  const out = new Map<TruthSession, TruthSession>();
  for (const s of [...sessions].sort((a, b) => a.startMs - b.startMs)) {
    const own = s.collected;
    const direct = own.source === '(direct)' && (own.medium === '(none)' || own.medium === '(not set)');
    const touch = last.get(s.clientId);
    const src = direct && touch && touch.at >= s.startMs - LOOKBACK_MS ? touch : own;
    out.set(s, { ...s, source: src.source, medium: src.medium, campaign: src.campaign, channelGroup: src.channelGroup });
    if (!direct) last.set(s.clientId, { ...own, at: s.startMs });
  }
  return sessions.map((s) => out.get(s)!);
}

/**
 * The same dataset under another session timeout (a replay after the property's setting changed),
 * for visitors whose clients send no session id: a visitor's sessions at most `minutes` apart
 * (last event to next first event) are one session, as the transform sessionizes. The merged
 * session keeps its first session's date, attribution and landing page (its first page view).
 */
export function withSessionTimeout(gt: GroundTruth, minutes: number): GroundTruth {
  const byClient = new Map<string, TruthSession[]>();
  for (const s of gt.sessions) {
    if (s.clientSessionId) throw new TallyError('invalid_argument', 'sessions with a client session id keep it whatever the timeout');
    const list = byClient.get(s.clientId);
    if (list) list.push(s);
    else byClient.set(s.clientId, [s]);
  }
  const sessions: TruthSession[] = [];
  for (const list of byClient.values()) {
    list.sort((a, b) => a.startMs - b.startMs);
    let cur: TruthSession | null = null;
    for (const s of list) {
      if (cur && s.startMs - cur.endMs <= minutes * 60_000) cur = mergeSessions(cur, s);
      else {
        if (cur) sessions.push(cur);
        cur = s;
      }
    }
    if (cur) sessions.push(cur);
  }
  sessions.sort((a, b) => a.startMs - b.startMs);
  // a merged session keeps its first session's own source: the attribution is re-derived
  return { ...gt, sessions: lastNonDirectClick(sessions) };
}

function mergeSessions(a: TruthSession, b: TruthSession): TruthSession {
  const endMs = Math.max(a.endMs, b.endMs);
  const durationSeconds = (endMs - a.startMs) / 1000;
  const pageViews = a.pageViews + b.pageViews;
  const keyEvents = a.keyEvents + b.keyEvents;
  return {
    ...a,
    userId: a.userId ?? b.userId,
    endMs,
    durationSeconds,
    engaged: durationSeconds > ENGAGED_SECONDS || pageViews >= 2 || keyEvents >= 1,
    landingPage: a.landingPage !== '(not set)' ? a.landingPage : b.landingPage,
    pageViews,
    eventCount: a.eventCount + b.eventCount,
    keyEvents,
    engagementMsec: a.engagementMsec + b.engagementMsec,
    late: a.late || b.late,
    parts: [...a.parts, ...b.parts],
  };
}

function sessionValue(s: TruthSession, dimension: ReportDimension | undefined): string {
  switch (dimension) {
    case 'sessionSource':
      return s.source;
    case 'sessionDefaultChannelGroup':
      return s.channelGroup;
    case 'country':
      return s.country;
    case 'deviceCategory':
      return s.deviceCategory;
    default:
      return '';
  }
}

/**
 * The report the query API must return for this dataset: one row per dimension value that has
 * any session, event or user in the range (the key is '' without a dimension).
 */
export function expectedReport(gt: GroundTruth, q: ReportQuery): Map<string, ExpectedMetrics> {
  parseDate(q.startDate);
  parseDate(q.endDate);
  if (q.startDate > q.endDate) {
    throw new TallyError('invalid_argument', 'startDate is after endDate', { startDate: q.startDate, endDate: q.endDate });
  }
  const dim = q.dimension;
  const inRange = (date: string): boolean => date >= q.startDate && date <= q.endDate;
  const accs = new Map<string, ReferenceCounts>();
  const acc = (key: string): ReferenceCounts => {
    let a = accs.get(key);
    if (!a) {
      a = emptyCounts();
      accs.set(key, a);
    }
    return a;
  };
  const countSession = (a: ReferenceCounts, s: TruthSession): void => {
    a.sessions++;
    if (s.engaged) a.engagedSessions++;
    a.durationSeconds += s.durationSeconds;
  };

  for (const s of gt.sessions) {
    const parts = s.parts.filter((p) => inRange(p.date));
    if (dim === 'pagePath') {
      for (const path of new Set(parts.map((p) => p.pagePath))) countSession(acc(path), s);
    } else if (inRange(s.date)) {
      const a = acc(dim === 'date' ? s.date : sessionValue(s, dim));
      countSession(a, s);
      if (s.firstSession) a.newUsers.add(s.clientId);
    }
    for (const p of parts) {
      const a = acc(dim === 'date' ? p.date : dim === 'pagePath' ? p.pagePath : sessionValue(s, dim));
      a.pageViews += p.pageViews;
      a.events += p.eventCount;
      a.keyEvents += p.keyEvents;
      a.engagementMsec += p.engagementMsec;
      a.purchases += p.purchases;
      a.transactions += p.purchases;
      a.purchaseRevenue += p.revenue;
      a.totalUsers.add(s.clientId);
      if (s.engaged || p.engagementEvents > 0 || p.firstVisits > 0) a.activeUsers.add(s.clientId);
      if (dim === 'pagePath' && p.firstVisits > 0) a.newUsers.add(s.clientId);
    }
  }

  const out = new Map<string, ExpectedMetrics>();
  for (const key of [...accs.keys()].sort()) {
    const m = referenceMetrics(accs.get(key) as ReferenceCounts);
    out.set(key, {
      activeUsers: m.activeUsers,
      totalUsers: m.totalUsers,
      newUsers: m.newUsers,
      sessions: m.sessions,
      engagedSessions: m.engagedSessions,
      engagementRate: m.engagementRate,
      bounceRate: m.bounceRate,
      averageSessionDuration: m.averageSessionDuration,
      screenPageViews: m.screenPageViews,
      screenPageViewsPerSession: m.screenPageViewsPerSession,
      eventCount: m.eventCount,
      eventsPerSession: m.eventsPerSession,
      userEngagementDuration: m.userEngagementDuration,
      keyEvents: m.keyEvents,
      purchaseRevenue: m.purchaseRevenue,
      ecommercePurchases: m.ecommercePurchases,
      transactions: m.transactions,
      averagePurchaseRevenue: m.averagePurchaseRevenue,
    });
  }
  return out;
}

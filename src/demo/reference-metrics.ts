/**
 * The report metrics of `src/query/catalog.ts` as plain arithmetic over counts: the one reference
 * calculator. Both ground truths derive their numbers with it: the demo's (from the sessions its
 * model decided to create, `ground-truth.ts`) and the query tests' (from transformed-zone rows,
 * `report-ground-truth.testkit.ts`); they differ only in how they count.
 */
export interface ReferenceCounts {
  sessions: number;
  engagedSessions: number;
  /** Sum of session durations. */
  durationSeconds: number;
  /** Sessions with at least one key event. */
  keyEventSessions: number;
  pageViews: number;
  events: number;
  keyEvents: number;
  engagementMsec: number;
  totalUsers: Set<string>;
  activeUsers: Set<string>;
  newUsers: Set<string>;
  /** Users with a key event. */
  keyEventUsers: Set<string>;
}

export interface ReferenceMetrics {
  activeUsers: number;
  totalUsers: number;
  newUsers: number;
  sessions: number;
  engagedSessions: number;
  engagementRate: number;
  bounceRate: number;
  averageSessionDuration: number;
  screenPageViews: number;
  screenPageViewsPerSession: number;
  screenPageViewsPerUser: number;
  eventCount: number;
  eventsPerSession: number;
  eventCountPerUser: number;
  sessionsPerUser: number;
  userEngagementDuration: number;
  keyEvents: number;
  sessionKeyEventRate: number;
  userKeyEventRate: number;
}

export function emptyCounts(): ReferenceCounts {
  return {
    sessions: 0,
    engagedSessions: 0,
    durationSeconds: 0,
    keyEventSessions: 0,
    pageViews: 0,
    events: 0,
    keyEvents: 0,
    engagementMsec: 0,
    totalUsers: new Set(),
    activeUsers: new Set(),
    newUsers: new Set(),
    keyEventUsers: new Set(),
  };
}

/** Ratios are 0 over an empty denominator, as GA4 (and the SQL) answer them; per-user ratios divide by active users. */
export function referenceMetrics(c: ReferenceCounts): ReferenceMetrics {
  const div = (a: number, b: number) => (b === 0 ? 0 : a / b);
  const active = c.activeUsers.size;
  return {
    activeUsers: active,
    totalUsers: c.totalUsers.size,
    newUsers: c.newUsers.size,
    sessions: c.sessions,
    engagedSessions: c.engagedSessions,
    engagementRate: div(c.engagedSessions, c.sessions),
    bounceRate: div(c.sessions - c.engagedSessions, c.sessions),
    averageSessionDuration: div(c.durationSeconds, c.sessions),
    screenPageViews: c.pageViews,
    screenPageViewsPerSession: div(c.pageViews, c.sessions),
    screenPageViewsPerUser: div(c.pageViews, active),
    eventCount: c.events,
    eventsPerSession: div(c.events, c.sessions),
    eventCountPerUser: div(c.events, active),
    sessionsPerUser: div(c.sessions, active),
    userEngagementDuration: c.engagementMsec / 1000,
    keyEvents: c.keyEvents,
    sessionKeyEventRate: div(c.keyEventSessions, c.sessions),
    userKeyEventRate: div(c.keyEventUsers.size, active),
  };
}

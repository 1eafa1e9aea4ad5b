import { COUNTRY_NAMES } from './country-names.js';
import { sqlLiteral, type SqlDialect } from './sql-dialect.js';

/**
 * The one dimension and metric catalog every warehouse dialect compiles from.
 *
 * Dimensions are row-level SQL over these aliases:
 *   e  – a row of `events`
 *   s  – a row of `sessions` (for `onEvent`: the event's session, joined when `eventNeeds.session`)
 *   fs – the property's first-session keys (joined on session_key when `needsFirstSession`)
 * `onSession` is given when the dimension is answerable from the sessions table alone; a
 * dimension without it is event-scoped and makes session metrics count over events (see
 * report-compiler.ts).
 *
 * Metrics are expressions over "atoms": additive aggregates, each computed in one of three
 * groups (event rows, session rows, user = distinct USER_KEY over event rows).
 */
export type Scope = 'event' | 'session' | 'user';

export type MetricType = 'TYPE_INTEGER' | 'TYPE_FLOAT' | 'TYPE_SECONDS';

export type RowSql = (d: SqlDialect) => string;

export interface DimensionDef {
  apiName: string;
  uiName: string;
  description: string;
  category: string;
  scope: Scope;
  deprecatedApiNames?: readonly string[];
  onEvent: RowSql;
  onSession?: RowSql;
  /** `onEvent` reads `s.` columns. */
  eventNeedsSession?: boolean;
  /** Reads `fs.` (both forms). */
  needsFirstSession?: boolean;
  /**
   * Applied after grouping, to turn the grouped value into the reported one (codes to names).
   * Must be one-to-one so groups stay distinct.
   */
  present?: (grouped: string, d: SqlDialect) => string;
}

export type AtomGroup = 'event' | 'session' | 'user';

export interface AtomDef {
  name: string;
  group: AtomGroup;
  type: 'bigint' | 'double';
  /**
   * Aggregate SQL. event/user groups: over `e` (+ `s`, `fs` when flagged); session group: over
   * `s`, one row per session with at least `engaged`, `duration_s`, `key_events`.
   */
  sql: RowSql;
  needsSession?: boolean;
  needsFirstSession?: boolean;
}

export interface MetricDef {
  apiName: string;
  uiName: string;
  description: string;
  category: string;
  type: MetricType;
  scope: Scope;
  deprecatedApiNames?: readonly string[];
  /** GA4's metadata `expression` for derived metrics. */
  expression?: string;
  atoms: readonly string[];
  /** SQL over the atoms; `a(name)` is the atom's (never null) column. */
  sql: (a: (atom: string) => string, d: SqlDialect) => string;
}

const NOT_SET = "'(not set)'";
const orNotSet = (x: string) => `COALESCE(${x}, ${NOT_SET})`;
const count = (cond: string) => `SUM(CASE WHEN ${cond} THEN 1 ELSE 0 END)`;
const safeDiv = (d: SqlDialect, num: string, den: string) => `(CASE WHEN ${den} = 0 THEN 0 ELSE ${d.toDouble(num)} / ${den} END)`;

function withQuery(path: string, query: string): string {
  return `${path} || CASE WHEN ${query} IS NULL OR ${query} = '' THEN '' WHEN left(${query}, 1) = '?' THEN ${query} ELSE '?' || ${query} END`;
}

const DAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

const countryNameSql = (grouped: string) =>
  `(CASE ${grouped} ${[...COUNTRY_NAMES].map(([code, name]) => `WHEN ${sqlLiteral(code)} THEN ${sqlLiteral(name)}`).join(' ')} ELSE ${grouped} END)`;

/** A session-level dimension stored on both tables (events carry their session's value). */
function both(
  apiName: string,
  uiName: string,
  category: string,
  eventColumn: string,
  sessionColumn: string,
  description: string,
  extra: Partial<DimensionDef> = {},
): DimensionDef {
  return {
    apiName,
    uiName,
    description,
    category,
    scope: 'session',
    onEvent: () => orNotSet(`e.${eventColumn}`),
    onSession: () => orNotSet(`s.${sessionColumn}`),
    ...extra,
  };
}

function eventOnly(apiName: string, uiName: string, category: string, sql: string, description: string): DimensionDef {
  return { apiName, uiName, description, category, scope: 'event', onEvent: () => orNotSet(sql) };
}

function timeDim(apiName: string, uiName: string, description: string, sql: (d: SqlDialect, t: 'e' | 's') => string): DimensionDef {
  return {
    apiName,
    uiName,
    description,
    category: 'Time',
    scope: 'event',
    onEvent: (d) => sql(d, 'e'),
    onSession: (d) => sql(d, 's'),
  };
}

export const DIMENSIONS: readonly DimensionDef[] = [
  timeDim('date', 'Date', 'The date of the event, formatted as YYYYMMDD.', (d, t) => d.formatDate(`${t}.local_date`, 'YYYYMMDD')),
  timeDim(
    'dateHour',
    'Date + hour (YYYYMMDDHH)',
    'The combined values of date and hour formatted as YYYYMMDDHH.',
    (d, t) => `${d.formatDate(`${t}.local_date`, 'YYYYMMDD')} || ${d.pad2(`${t}.local_hour`)}`,
  ),
  timeDim('hour', 'Hour', 'The two-digit hour of the day that the event was logged (00-23).', (d, t) => d.pad2(`${t}.local_hour`)),
  timeDim('day', 'Day', 'The day of the month, a two-digit number from 01 to 31.', (d, t) => d.formatDate(`${t}.local_date`, 'DD')),
  timeDim('dayOfWeek', 'Day of week', 'The integer day of the week (0-6); Sunday is 0.', (d, t) => d.toText(d.dayOfWeek(`${t}.local_date`))),
  timeDim(
    'dayOfWeekName',
    'Day of week name',
    'The day of the week in English (Sunday, Monday, ...).',
    (d, t) => `(CASE ${d.dayOfWeek(`${t}.local_date`)} ${DAY_NAMES.map((n, i) => `WHEN ${i} THEN ${sqlLiteral(n)}`).join(' ')} END)`,
  ),
  timeDim('month', 'Month', 'The month of the event, a two-digit integer from 01 to 12.', (d, t) => d.formatDate(`${t}.local_date`, 'MM')),
  timeDim('year', 'Year', 'The four-digit year of the event.', (d, t) => d.formatDate(`${t}.local_date`, 'YYYY')),
  timeDim('yearMonth', 'Year month', 'The combined values of year and month, e.g. 202212.', (d, t) => d.formatDate(`${t}.local_date`, 'YYYYMM')),

  eventOnly('eventName', 'Event name', 'Event', 'e.event_name', 'The name of the event.'),
  eventOnly('pagePath', 'Page path', 'Page / screen', 'e.page_path', 'The portion of the URL between the hostname and query string.'),
  eventOnly('pageTitle', 'Page title', 'Page / screen', 'e.page_title', 'The web page titles used on your site.'),
  eventOnly('hostName', 'Hostname', 'Page / screen', 'e.host_name', 'The subdomain and domain names of a URL.'),
  eventOnly('pageReferrer', 'Page referrer', 'Page / screen', 'e.page_referrer', 'The full referring URL including the hostname and path.'),
  eventOnly('pageLocation', 'Page location', 'Page / screen', 'e.page_location', 'The protocol, hostname, page path, and query string.'),
  eventOnly(
    'pagePathPlusQueryString',
    'Page path + query string',
    'Page / screen',
    withQuery('e.page_path', 'e.page_query'),
    'The portion of the URL following the hostname.',
  ),
  eventOnly(
    'fullPageUrl',
    'Full page URL',
    'Page / screen',
    `e.host_name || ${withQuery('e.page_path', 'e.page_query')}`,
    'The hostname, page path, and query string (no scheme).',
  ),

  {
    apiName: 'landingPage',
    uiName: 'Landing page',
    description: 'The page path associated with the first pageview in a session.',
    category: 'Page / screen',
    scope: 'session',
    onEvent: () => orNotSet('s.landing_page'),
    onSession: () => orNotSet('s.landing_page'),
    eventNeedsSession: true,
  },
  {
    apiName: 'landingPagePlusQueryString',
    uiName: 'Landing page + query string',
    description: 'The page path + query string associated with the first pageview in a session.',
    category: 'Page / screen',
    scope: 'session',
    onEvent: () => orNotSet(withQuery('s.landing_page', 's.landing_page_query')),
    onSession: () => orNotSet(withQuery('s.landing_page', 's.landing_page_query')),
    eventNeedsSession: true,
  },

  both('sessionSource', 'Session source', 'Traffic source', 'session_source', 'source', 'The source that initiated a session on your website or app.'),
  both('sessionMedium', 'Session medium', 'Traffic source', 'session_medium', 'medium', 'The medium that initiated a session on your website or app.'),
  both('sessionCampaignName', 'Session campaign', 'Traffic source', 'session_campaign', 'campaign', 'The marketing campaign name for a session.'),
  both(
    'sessionDefaultChannelGroup',
    'Session default channel group',
    'Traffic source',
    'session_channel_group',
    'channel_group',
    "The session's default channel group.",
  ),
  {
    apiName: 'sessionSourceMedium',
    uiName: 'Session source / medium',
    description: 'The combined values of the dimensions sessionSource and sessionMedium.',
    category: 'Traffic source',
    scope: 'session',
    onEvent: () => `${orNotSet('e.session_source')} || ' / ' || ${orNotSet('e.session_medium')}`,
    onSession: () => `${orNotSet('s.source')} || ' / ' || ${orNotSet('s.medium')}`,
  },

  both('country', 'Country', 'Geography', 'country', 'country', 'The country from which the user activity originated.', {
    present: (g) => countryNameSql(g),
  }),
  both('countryId', 'Country ID', 'Geography', 'country', 'country', 'The geographic ID of the country, formatted according to ISO 3166-1 alpha-2.'),
  both('region', 'Region', 'Geography', 'region', 'region', 'The geographic region from which the user activity originated.'),
  both('city', 'City', 'Geography', 'city', 'city', 'The city from which the user activity originated.'),
  both('language', 'Language', 'Platform / device', 'language', 'language', "The language setting of the user's browser or device."),
  both(
    'deviceCategory',
    'Device category',
    'Platform / device',
    'device_category',
    'device_category',
    'The type of device: desktop, tablet, mobile or smart tv.',
  ),
  both('browser', 'Browser', 'Platform / device', 'browser', 'browser', 'The browsers used to view your website.'),
  both('operatingSystem', 'Operating system', 'Platform / device', 'os', 'os', 'The operating systems used by visitors to your app or website.'),
  {
    apiName: 'platform',
    uiName: 'Platform',
    description: 'The platform on which your app or website ran.',
    category: 'Platform / device',
    scope: 'event',
    onEvent: () => "'web'",
    onSession: () => "'web'",
  },
  {
    apiName: 'newVsReturning',
    uiName: 'New / returning',
    description: 'New users have 0 previous sessions, and returning users have 1 or more previous sessions.',
    category: 'User',
    scope: 'session',
    onEvent: () => `(CASE WHEN e.client_id IS NULL THEN ${NOT_SET} WHEN fs.session_key IS NOT NULL THEN 'new' ELSE 'returning' END)`,
    onSession: () => `(CASE WHEN s.client_id IS NULL THEN ${NOT_SET} WHEN fs.session_key IS NOT NULL THEN 'new' ELSE 'returning' END)`,
    needsFirstSession: true,
  },
];

/**
 * Who an event's user is (GA4's reporting identity): the user id it carries, else the user its
 * client was first linked to (`idm`, from the identities table, so anonymous history counts as
 * the user's once they identify, whenever that was), else its client id. User ids and client ids
 * share one namespace, as in PostHog and Segment, whose identified events carry the user id as
 * their distinct or anonymous id.
 */
export const USER_KEY = 'COALESCE(e.user_id, idm.user_id, e.client_id)';

export const ATOMS: readonly AtomDef[] = [
  { name: 'ev_count', group: 'event', type: 'bigint', sql: () => 'COUNT(*)' },
  { name: 'ev_page_views', group: 'event', type: 'bigint', sql: () => count('e.is_page_view') },
  { name: 'ev_key_events', group: 'event', type: 'bigint', sql: () => count('e.is_key_event') },
  { name: 'ev_engagement_ms', group: 'event', type: 'bigint', sql: () => 'COALESCE(SUM(e.engagement_time_ms), 0)' },
  { name: 'se_sessions', group: 'session', type: 'bigint', sql: () => 'COUNT(*)' },
  { name: 'se_engaged', group: 'session', type: 'bigint', sql: () => count('s.engaged') },
  // whole milliseconds summed as integers: a double sum depends on the engine's summation order
  { name: 'se_duration_ms', group: 'session', type: 'bigint', sql: () => 'COALESCE(SUM(CAST(ROUND(s.duration_s * 1000) AS BIGINT)), 0)' },
  { name: 'se_key_sessions', group: 'session', type: 'bigint', sql: () => count('s.key_events > 0') },
  { name: 'us_total', group: 'user', type: 'bigint', sql: () => `COUNT(DISTINCT ${USER_KEY})` },
  {
    name: 'us_active',
    group: 'user',
    type: 'bigint',
    // GA4 web: an engaged session, a first_visit, or engagement time.
    sql: () => `COUNT(DISTINCT CASE WHEN s.engaged OR e.event_name = 'first_visit' OR e.engagement_time_ms > 0 THEN ${USER_KEY} END)`,
    needsSession: true,
  },
  {
    name: 'us_new',
    group: 'user',
    type: 'bigint',
    // The first event of the user's first session ever: where GA4 logs first_visit.
    sql: () => `COUNT(DISTINCT CASE WHEN fs.session_key IS NOT NULL AND e.seq_in_session = 1 THEN ${USER_KEY} END)`,
    needsFirstSession: true,
  },
  { name: 'us_key', group: 'user', type: 'bigint', sql: () => `COUNT(DISTINCT CASE WHEN e.is_key_event THEN ${USER_KEY} END)` },
];

function metric(
  apiName: string,
  uiName: string,
  category: string,
  type: MetricType,
  scope: Scope,
  atoms: string[],
  sql: MetricDef['sql'],
  description: string,
  extra: Partial<MetricDef> = {},
): MetricDef {
  return { apiName, uiName, category, type, scope, atoms, sql, description, ...extra };
}

export const METRICS: readonly MetricDef[] = [
  metric(
    'activeUsers',
    'Active users',
    'User',
    'TYPE_INTEGER',
    'user',
    ['us_active'],
    (a) => a('us_active'),
    'The number of distinct users who visited your site or app.',
  ),
  metric(
    'totalUsers',
    'Total users',
    'User',
    'TYPE_INTEGER',
    'user',
    ['us_total'],
    (a) => a('us_total'),
    'The number of distinct users who have logged at least one event.',
  ),
  metric(
    'newUsers',
    'New users',
    'User',
    'TYPE_INTEGER',
    'user',
    ['us_new'],
    (a) => a('us_new'),
    'The number of users who interacted with your site for the first time.',
  ),
  metric(
    'sessions',
    'Sessions',
    'Session',
    'TYPE_INTEGER',
    'session',
    ['se_sessions'],
    (a) => a('se_sessions'),
    'The number of sessions that began on your site or app.',
  ),
  metric(
    'engagedSessions',
    'Engaged sessions',
    'Session',
    'TYPE_INTEGER',
    'session',
    ['se_engaged'],
    (a) => a('se_engaged'),
    'The number of sessions that lasted longer than 10 seconds, or had a key event, or had 2 or more screen views.',
  ),
  metric(
    'engagementRate',
    'Engagement rate',
    'Session',
    'TYPE_FLOAT',
    'session',
    ['se_engaged', 'se_sessions'],
    (a, d) => safeDiv(d, a('se_engaged'), a('se_sessions')),
    'The percentage of engaged sessions (Engaged sessions divided by Sessions), as a fraction.',
    { expression: 'engagedSessions/sessions' },
  ),
  metric(
    'bounceRate',
    'Bounce rate',
    'Session',
    'TYPE_FLOAT',
    'session',
    ['se_engaged', 'se_sessions'],
    (a, d) => safeDiv(d, `(${a('se_sessions')} - ${a('se_engaged')})`, a('se_sessions')),
    'The percentage of sessions that were not engaged, as a fraction.',
    { expression: '(sessions - engagedSessions)/sessions' },
  ),
  metric(
    'averageSessionDuration',
    'Average session duration',
    'Session',
    'TYPE_SECONDS',
    'session',
    ['se_duration_ms', 'se_sessions'],
    (a, d) => safeDiv(d, `(${a('se_duration_ms')} / 1000.0)`, a('se_sessions')),
    "The average duration (in seconds) of users' sessions.",
  ),
  metric(
    'screenPageViews',
    'Views',
    'Page / screen',
    'TYPE_INTEGER',
    'event',
    ['ev_page_views'],
    (a) => a('ev_page_views'),
    'The number of app screens or web pages your users viewed. Repeated views of a single page or screen are counted.',
  ),
  metric(
    'screenPageViewsPerSession',
    'Views per session',
    'Page / screen',
    'TYPE_FLOAT',
    'session',
    ['ev_page_views', 'se_sessions'],
    (a, d) => safeDiv(d, a('ev_page_views'), a('se_sessions')),
    'The number of app screens or web pages your users viewed per session.',
    { expression: 'screenPageViews/sessions' },
  ),
  metric(
    'screenPageViewsPerUser',
    'Views per user',
    'Page / screen',
    'TYPE_FLOAT',
    'user',
    ['ev_page_views', 'us_active'],
    (a, d) => safeDiv(d, a('ev_page_views'), a('us_active')),
    'The number of app screens or web pages your users viewed per active user.',
    { expression: 'screenPageViews/activeUsers' },
  ),
  metric('eventCount', 'Event count', 'Event', 'TYPE_INTEGER', 'event', ['ev_count'], (a) => a('ev_count'), 'The count of events.'),
  metric(
    'eventsPerSession',
    'Events per session',
    'Event',
    'TYPE_FLOAT',
    'session',
    ['ev_count', 'se_sessions'],
    (a, d) => safeDiv(d, a('ev_count'), a('se_sessions')),
    'The average number of events per session (Event count divided by Sessions).',
    { expression: 'eventCount/sessions' },
  ),
  metric(
    'eventCountPerUser',
    'Event count per active user',
    'Event',
    'TYPE_FLOAT',
    'user',
    ['ev_count', 'us_active'],
    (a, d) => safeDiv(d, a('ev_count'), a('us_active')),
    'The average number of events per active user.',
    { expression: 'eventCount/activeUsers' },
  ),
  metric(
    'sessionsPerUser',
    'Sessions per active user',
    'Session',
    'TYPE_FLOAT',
    'user',
    ['se_sessions', 'us_active'],
    (a, d) => safeDiv(d, a('se_sessions'), a('us_active')),
    'The average number of sessions per active user.',
    { expression: 'sessions/activeUsers' },
  ),
  metric(
    'userEngagementDuration',
    'User engagement',
    'User',
    'TYPE_SECONDS',
    'user',
    ['ev_engagement_ms'],
    (a, d) => `${d.toDouble(a('ev_engagement_ms'))} / 1000`,
    "The total amount of time (in seconds) your website or app was in the foreground of users' devices.",
  ),
  metric('keyEvents', 'Key events', 'Event', 'TYPE_FLOAT', 'event', ['ev_key_events'], (a) => a('ev_key_events'), 'The count of key events.', {
    deprecatedApiNames: ['conversions'],
  }),
  metric(
    'sessionKeyEventRate',
    'Session key event rate',
    'Session',
    'TYPE_FLOAT',
    'session',
    ['se_key_sessions', 'se_sessions'],
    (a, d) => safeDiv(d, a('se_key_sessions'), a('se_sessions')),
    'The percentage of sessions in which any key event was triggered, as a fraction.',
    { deprecatedApiNames: ['sessionConversionRate'] },
  ),
  metric(
    'userKeyEventRate',
    'User key event rate',
    'User',
    'TYPE_FLOAT',
    'user',
    ['us_key', 'us_active'],
    (a, d) => safeDiv(d, a('us_key'), a('us_active')),
    'The percentage of active users who triggered any key event, as a fraction.',
    { deprecatedApiNames: ['userConversionRate'] },
  ),
];

const byName = <T extends { apiName: string; deprecatedApiNames?: readonly string[] }>(defs: readonly T[]) => {
  const m = new Map<string, T>();
  for (const def of defs) {
    m.set(def.apiName, def);
    for (const old of def.deprecatedApiNames ?? []) m.set(old, def);
  }
  return m;
};

const DIMENSION_BY_NAME = byName(DIMENSIONS);
const METRIC_BY_NAME = byName(METRICS);
const ATOM_BY_NAME = new Map(ATOMS.map((a) => [a.name, a]));

/** By API name or a deprecated API name. */
export function findDimension(name: string): DimensionDef | undefined {
  return DIMENSION_BY_NAME.get(name);
}

export function findMetric(name: string): MetricDef | undefined {
  return METRIC_BY_NAME.get(name);
}

export function atom(name: string): AtomDef {
  const def = ATOM_BY_NAME.get(name);
  if (!def) throw new Error(`catalog: unknown atom ${name}`);
  return def;
}

import type { DimensionDef } from './catalog.types.js';
import { COUNTRY_NAMES } from './country-names.js';
import { sqlLiteral, type SqlDialect } from './sql-dialect.js';

/** The catalog's dimensions (see catalog.ts for what the row-level SQL may read). */
const NOT_SET = "'(not set)'";
const orNotSet = (x: string) => `COALESCE(${x}, ${NOT_SET})`;

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

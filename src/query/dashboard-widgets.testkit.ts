/**
 * The reports the console's dashboard sends (web/src/reports.ts: KPIs with comparison, time
 * series, the breakdown tables), as request bodies over one date range, for the rollup tests
 * and `npm run bench -- report`. `path` is the compiler's answer on a warehouse with rollups.
 */
export interface Widget {
  name: string;
  body: Record<string, unknown>;
  path: 'rollup' | 'detail' | 'mixed';
}

const table = (dimension: string, metric: string, extra: Record<string, unknown> = {}) => ({
  dimensions: [{ name: dimension }],
  metrics: [{ name: metric }],
  orderBys: [{ metric: { metricName: metric }, desc: true }, { dimension: { dimensionName: dimension } }],
  limit: 10,
  ...extra,
});

export function dashboardWidgets(start: string, end: string, previousStart: string, previousEnd: string): Widget[] {
  const range = [{ startDate: start, endDate: end }];
  const widgets: Widget[] = [
    {
      // newUsers: each row's first session start (us_first) against its client's first session ever (rollup_first_sessions)
      name: 'KPIs vs previous',
      path: 'rollup',
      body: {
        dateRanges: [
          { startDate: start, endDate: end, name: 'current' },
          { startDate: previousStart, endDate: previousEnd, name: 'previous' },
        ],
        metrics: ['activeUsers', 'newUsers', 'sessions', 'screenPageViews', 'bounceRate', 'userEngagementDuration', 'keyEvents'].map((name) => ({ name })),
      },
    },
    {
      name: 'KPIs without new users',
      path: 'rollup',
      body: {
        dateRanges: [
          { startDate: start, endDate: end, name: 'current' },
          { startDate: previousStart, endDate: previousEnd, name: 'previous' },
        ],
        metrics: ['activeUsers', 'totalUsers', 'sessions', 'screenPageViews', 'bounceRate', 'averageSessionDuration', 'keyEvents', 'userKeyEventRate'].map(
          (name) => ({ name }),
        ),
      },
    },
    {
      name: 'time series',
      path: 'rollup',
      body: {
        dateRanges: range,
        dimensions: [{ name: 'date' }],
        metrics: ['activeUsers', 'sessions', 'screenPageViews', 'keyEvents'].map((name) => ({ name })),
        orderBys: [{ dimension: { dimensionName: 'date' } }],
        limit: 10000,
      },
    },
    { name: 'pages', path: 'rollup', body: { dateRanges: range, ...table('pagePath', 'screenPageViews') } },
    {
      name: 'pages, views and users',
      path: 'rollup',
      body: { dateRanges: range, dimensions: [{ name: 'pagePath' }], metrics: [{ name: 'screenPageViews' }, { name: 'activeUsers' }], limit: 10 },
    },
    { name: 'landing pages', path: 'rollup', body: { dateRanges: range, ...table('landingPage', 'sessions') } },
    { name: 'channels', path: 'rollup', body: { dateRanges: range, ...table('sessionDefaultChannelGroup', 'sessions') } },
    { name: 'sources / mediums', path: 'rollup', body: { dateRanges: range, ...table('sessionSourceMedium', 'sessions') } },
    { name: 'campaigns', path: 'rollup', body: { dateRanges: range, ...table('sessionCampaignName', 'sessions') } },
    {
      name: 'countries',
      path: 'rollup',
      body: {
        dateRanges: range,
        ...table('country', 'activeUsers'),
        dimensions: [{ name: 'country' }, { name: 'countryId' }],
      },
    },
    { name: 'cities', path: 'rollup', body: { dateRanges: range, ...table('city', 'activeUsers') } },
    { name: 'devices', path: 'rollup', body: { dateRanges: range, ...table('deviceCategory', 'activeUsers') } },
    { name: 'browsers', path: 'rollup', body: { dateRanges: range, ...table('browser', 'activeUsers') } },
    { name: 'operating systems', path: 'rollup', body: { dateRanges: range, ...table('operatingSystem', 'activeUsers') } },
    {
      name: 'key events',
      path: 'rollup',
      body: {
        dateRanges: range,
        ...table('eventName', 'keyEvents'),
        metricFilter: { filter: { fieldName: 'keyEvents', numericFilter: { operation: 'GREATER_THAN', value: { int64Value: '0' } } } },
      },
    },
    {
      name: 'mobile devices only',
      path: 'rollup',
      body: {
        dateRanges: range,
        ...table('deviceCategory', 'activeUsers'),
        dimensionFilter: { filter: { fieldName: 'deviceCategory', stringFilter: { value: 'mobile' } } },
      },
    },
    {
      // a page filter on a channel table: sessions counted under an event-scoped filter, from the page set's session keys
      name: 'channels filtered by page',
      path: 'rollup',
      body: {
        dateRanges: range,
        ...table('sessionDefaultChannelGroup', 'sessions'),
        dimensionFilter: { filter: { fieldName: 'pagePath', stringFilter: { value: '/', matchType: 'BEGINS_WITH' } } },
      },
    },
    {
      // sessions per page count a session under every page it viewed: the page set's session keys answer them
      name: 'pages with sessions',
      path: 'rollup',
      body: { dateRanges: range, dimensions: [{ name: 'pagePath' }], metrics: [{ name: 'screenPageViews' }, { name: 'sessions' }], limit: 10 },
    },
  ];
  return widgets;
}

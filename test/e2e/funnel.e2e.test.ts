import { v1alpha } from '@google-analytics/data';
import { OAuth2Client } from 'google-auth-library';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTally, type TallyProcess } from '../support/tally-process.js';

/**
 * runFunnelReport through `tally serve` (the demo tenant) with Google's own Node client for the
 * v1alpha API (AlphaAnalyticsDataClient, REST), the read key where Google's access token goes.
 */
describe('runFunnelReport through tally serve with Google’s v1alpha Node client', () => {
  let tally: TallyProcess;
  let readKey: string;
  let property: string;

  beforeAll(async () => {
    tally = await startTally({ env: { TALLY_DEMO: 'on', LOG_LEVEL: 'info' } });
    const out = await eventually(() => (tally.output().includes('Try a report:') ? tally.output() : undefined), 180_000, 'the demo tenant');
    readKey = /read key\s+(\S+)/.exec(out)![1];
    property = /property id\s+(\d+)/.exec(out)![1];
  }, 200_000);
  afterAll(async () => {
    await tally?.stop();
  });

  it("answers Google's client in GA4's shape, the first step's users equal to runReport's users of that event", async () => {
    const auth = new OAuth2Client();
    auth.setCredentials({ access_token: readKey });
    const client = new v1alpha.AlphaAnalyticsDataClient({
      fallback: 'rest',
      apiEndpoint: '127.0.0.1',
      port: tally.port,
      protocol: 'http',
      authClient: auth as never,
    });
    const dateRanges = [{ startDate: '30daysAgo', endDate: 'today' }];
    const [res] = await client.runFunnelReport({
      property: `properties/${property}`,
      dateRanges,
      funnel: {
        steps: [
          { name: 'Visit', filterExpression: { funnelEventFilter: { eventName: 'page_view' } } },
          { name: 'Again', isDirectlyFollowedBy: true, filterExpression: { funnelEventFilter: { eventName: 'page_view' } } },
        ],
      },
      funnelBreakdown: { breakdownDimension: { name: 'deviceCategory' } },
      returnPropertyQuota: true,
    });
    await client.close();
    expect(res.kind).toBe('analyticsData#runFunnelReport');
    expect(res.funnelTable!.dimensionHeaders!.map((h) => h.name)).toEqual(['funnelStepName', 'deviceCategory']);
    expect(res.funnelTable!.metricHeaders!.map((h) => h.name)).toEqual([
      'activeUsers',
      'funnelStepCompletionRate',
      'funnelStepAbandonments',
      'funnelStepAbandonmentRate',
    ]);
    const totals = res.funnelTable!.rows!.filter((r) => r.dimensionValues![1].value === 'RESERVED_TOTAL');
    expect(totals.map((r) => r.dimensionValues![0].value)).toEqual(['1. Visit', '2. Again']);
    const [visit, again] = totals.map((r) => Number(r.metricValues![0].value));
    expect(visit).toBeGreaterThan(0);
    expect(again).toBeLessThanOrEqual(visit);
    expect(res.propertyQuota!.tokensPerDay!.consumed).toBeGreaterThanOrEqual(1);

    const report = await fetch(`${tally.baseUrl}/v1beta/properties/${property}:runReport`, {
      method: 'POST',
      headers: { authorization: `Bearer ${readKey}` },
      body: JSON.stringify({
        dateRanges,
        metrics: [{ name: 'totalUsers' }],
        dimensionFilter: { filter: { fieldName: 'eventName', stringFilter: { value: 'page_view' } } },
      }),
    });
    const users = Number(((await report.json()) as any).rows[0].metricValues[0].value);
    expect(visit).toBe(users);
  });

  it('refuses a request without a key (401) and a bad funnel (400) in Google’s error shape', async () => {
    const url = `${tally.baseUrl}/v1alpha/properties/${property}:runFunnelReport`;
    const anon = await fetch(url, { method: 'POST', body: '{}' });
    expect(anon.status).toBe(401);
    const bad = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${readKey}` },
      body: JSON.stringify({ dateRanges: [{ startDate: 'today', endDate: 'today' }] }),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).error.status).toBe('INVALID_ARGUMENT');
    const other = await fetch(`${tally.baseUrl}/v1alpha/properties/${property}:runAccessReport`, {
      method: 'POST',
      headers: { authorization: `Bearer ${readKey}` },
      body: '{}',
    });
    expect(other.status).toBe(501);
  });
});

import { BetaAnalyticsDataClient } from '@google-analytics/data';
import { OAuth2Client } from 'google-auth-library';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTally, type TallyProcess } from '../support/tally-process.js';

/**
 * The fields of issue 14 through `tally serve` (the demo tenant: USD purchases, no items) with
 * Google's own v1beta Node client (REST), the read key where Google's access token goes: the
 * client reads Tally's metadata, headers, currency metrics and errors as it reads GA4's.
 */
describe('GA4 fields of issue 14 through tally serve with Google’s Node client', () => {
  let tally: TallyProcess;
  let client: BetaAnalyticsDataClient;
  let property: string;
  const dateRanges = [{ startDate: '30daysAgo', endDate: 'today' }];

  beforeAll(async () => {
    tally = await startTally({ env: { TALLY_DEMO: 'on', LOG_LEVEL: 'info' } });
    const out = await eventually(() => (tally.output().includes('Try a report:') ? tally.output() : undefined), 180_000, 'the demo tenant');
    const readKey = /read key\s+(\S+)/.exec(out)![1];
    property = `properties/${/property id\s+(\d+)/.exec(out)![1]}`;
    const auth = new OAuth2Client();
    auth.setCredentials({ access_token: readKey });
    client = new BetaAnalyticsDataClient({ fallback: 'rest', apiEndpoint: '127.0.0.1', port: tally.port, protocol: 'http', authClient: auth as never });
  }, 200_000);
  afterAll(async () => {
    await client?.close();
    await tally?.stop();
  });

  it('lists the new fields in metadata, revenue as TYPE_CURRENCY', async () => {
    const [meta] = await client.getMetadata({ name: `${property}/metadata` });
    const dims = meta.dimensions!.map((d) => d.apiName);
    for (const name of ['week', 'isKeyEvent', 'region', 'firstUserSource', 'firstUserDefaultChannelGroup', 'itemName', 'itemCategory5']) {
      expect(dims).toContain(name);
    }
    const revenue = meta.metrics!.find((m) => m.apiName === 'purchaseRevenue');
    expect(revenue?.type).toBe('TYPE_CURRENCY');
    expect(meta.metrics!.map((m) => m.apiName)).toEqual(expect.arrayContaining(['itemRevenue', 'transactions', 'averagePurchaseRevenue']));
  });

  it('answers week, isKeyEvent, region names and first-user source in GA4’s shape', async () => {
    const [res] = await client.runReport({
      property,
      dateRanges,
      dimensions: [{ name: 'week' }, { name: 'isKeyEvent' }, { name: 'region' }, { name: 'firstUserDefaultChannelGroup' }],
      metrics: [{ name: 'eventCount' }],
      limit: 100000,
    });
    expect(res.dimensionHeaders!.map((h) => h.name)).toEqual(['week', 'isKeyEvent', 'region', 'firstUserDefaultChannelGroup']);
    const rows = res.rows!.map((r) => r.dimensionValues!.map((v) => v.value!));
    expect(rows.length).toBeGreaterThan(0);
    for (const [week, key, region] of rows) {
      expect(week).toMatch(/^(0[1-9]|[1-4]\d|5[0-3])$/);
      expect(['true', 'false']).toContain(key);
      // names, not ISO 3166-2 codes
      expect(region).not.toMatch(/^[A-Z]{2}-[A-Z0-9]{1,3}$/);
    }
    expect(new Set(rows.map((r) => r[1]))).toEqual(new Set(['true', 'false']));
    // the demo's traffic has first-user channels beside Direct
    expect(new Set(rows.map((r) => r[3])).size).toBeGreaterThan(1);
  });

  it('converts revenue to the requested currency at the day’s ECB rate', async () => {
    const revenue = async (currencyCode?: string) => {
      const [res] = await client.runReport({
        property,
        dateRanges,
        metrics: [{ name: 'purchaseRevenue' }, { name: 'ecommercePurchases' }, { name: 'transactions' }, { name: 'averagePurchaseRevenue' }],
        ...(currencyCode ? { currencyCode } : {}),
      });
      expect(res.metricHeaders!.map((h) => h.type)).toEqual(['TYPE_CURRENCY', 'TYPE_INTEGER', 'TYPE_INTEGER', 'TYPE_CURRENCY']);
      return res.rows![0].metricValues!.map((v) => Number(v.value));
    };
    const [usd, purchases, transactions, average] = await revenue();
    expect(usd).toBeGreaterThan(0);
    expect(purchases).toBeGreaterThan(0);
    expect(transactions).toBe(purchases);
    expect(average).toBeCloseTo(usd / transactions, 6);
    const [eur] = await revenue('EUR');
    // one euro has been worth between 0.95 and 1.25 dollars over the bundled rates' years
    expect(eur / usd).toBeGreaterThan(1 / 1.25);
    expect(eur / usd).toBeLessThan(1 / 0.95);
  });

  it('refuses what GA4 refuses: item dimensions beside event metrics, an undefined custom dimension', async () => {
    const refused = async (p: Promise<unknown>) => {
      const err = (await p.then(
        () => null,
        (e: unknown) => e,
      )) as { code?: number; message?: string } | null;
      // the REST fallback keeps the HTTP status (400) as the code; gRPC would say 3 (INVALID_ARGUMENT)
      expect(err?.code).toBe(400);
      return err!.message!;
    };
    expect(await refused(client.runReport({ property, dateRanges, dimensions: [{ name: 'itemName' }], metrics: [{ name: 'eventCount' }] }))).toMatch(
      /item-scoped/,
    );
    expect(
      await refused(client.runReport({ property, dateRanges, dimensions: [{ name: 'customEvent:shipping_tier' }], metrics: [{ name: 'eventCount' }] })),
    ).toMatch(/customEvent:shipping_tier/);
    const [compat] = await client.checkCompatibility({ property, dimensions: [{ name: 'itemName' }], compatibilityFilter: 'COMPATIBLE' });
    const metrics = compat.metricCompatibilities!.map((m) => m.metricMetadata!.apiName);
    expect(metrics).toEqual(expect.arrayContaining(['itemRevenue', 'itemsPurchased']));
    expect(metrics).not.toContain('eventCount');
  });
});

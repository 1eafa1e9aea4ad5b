import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenantCli, startTally, type TallyProcess, type TenantKeys } from '../support/tally-process.js';
import { tallyCli } from '../support/cli.js';
import { generateTraffic, type TrafficOptions } from '../../src/demo/traffic-generator.js';
import { expectedReport, groundTruth, type ExpectedMetrics, type ReportDimension } from '../../src/demo/ground-truth.js';
import { sendTraffic } from '../../src/demo/traffic-sender.js';
import { addDays, localDate } from '../../src/domain/time-zone.js';

const METRICS: (keyof ExpectedMetrics)[] = [
  'activeUsers', 'totalUsers', 'newUsers', 'sessions', 'engagedSessions', 'engagementRate', 'bounceRate',
  'averageSessionDuration', 'screenPageViews', 'screenPageViewsPerSession', 'eventCount', 'eventsPerSession',
  'userEngagementDuration', 'keyEvents',
];

/** A zone where it is now mid-day, so the two full days before today are all in the past and under 72 h old. */
function zoneAtMidday(now: number): string {
  for (const tz of ['America/New_York', 'Europe/Berlin', 'Asia/Tokyo', 'America/Los_Angeles', 'Asia/Kolkata', 'UTC']) {
    const hour = Number(new Intl.DateTimeFormat('en-US', { timeZone: tz, hour: 'numeric', hourCycle: 'h23' }).format(now));
    if (hour >= 3 && hour < 21) return tz;
  }
  return 'UTC';
}

describe('golden dataset: collector -> log -> raw zone -> transform -> warehouse -> runReport', () => {
  let tally: TallyProcess;
  let t: TenantKeys;
  let other: TenantKeys;
  let opts: TrafficOptions;
  let startDate: string;
  let endDate: string;

  beforeAll(async () => {
    const now = Date.now();
    const timeZone = zoneAtMidday(now);
    startDate = addDays(localDate(now, timeZone), -2);
    endDate = addDays(startDate, 1);
    opts = { seed: 20261126, startDate, days: 2, timeZone, visitorsPerDay: 120 };
    tally = await startTally({ env: { TALLY_TRANSFORM_INTERVAL_MS: '3600000' } });
    t = await createTenantCli(tally.dataDir, 'Golden', ['--time-zone', timeZone, '--plan', 'scale']);
    other = await createTenantCli(tally.dataDir, 'Other');
    const sent = await sendTraffic(generateTraffic(opts), { baseUrl: tally.baseUrl, ingestKey: t.ingestKey });
    expect(sent.rejected).toBe(0);
    await tallyCli(tally.dataDir, ['jobs', 'run', 'pipeline', '--property', t.propertyId]);
  }, 300_000);

  afterAll(async () => {
    const code = await tally?.stop();
    expect(code, tally?.output()).toBe(0);
  });

  async function report(body: unknown, key = t.readKey, property = t.propertyId) {
    const r = await fetch(`${tally.baseUrl}/v1beta/properties/${property}:runReport`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}` },
      body: JSON.stringify(body),
    });
    return { status: r.status, body: (await r.json()) as any };
  }

  /** Every metric by one dimension; two requests, as GA4 allows at most 10 metrics in one. */
  async function metricsBy(dimension: ReportDimension | undefined, apiDimension?: string): Promise<Map<string, Record<string, number>>> {
    void dimension;
    const out = new Map<string, Record<string, number>>();
    for (const metrics of [METRICS.slice(0, 7), METRICS.slice(7)]) {
      const { status, body } = await report({
        dateRanges: [{ startDate, endDate }],
        dimensions: apiDimension ? [{ name: apiDimension }] : [],
        metrics: metrics.map((name) => ({ name })),
        limit: 100000,
      });
      expect(status, JSON.stringify(body)).toBe(200);
      for (const row of body.rows ?? []) {
        let key = apiDimension ? row.dimensionValues[0].value : '';
        if (apiDimension === 'date') key = `${key.slice(0, 4)}-${key.slice(4, 6)}-${key.slice(6)}`;
        const acc = out.get(key) ?? {};
        metrics.forEach((m, i) => (acc[m] = Number(row.metricValues[i].value)));
        out.set(key, acc);
      }
    }
    return out;
  }

  function expectSame(actual: Map<string, Record<string, number>>, expected: Map<string, ExpectedMetrics>, what: string) {
    expect([...actual.keys()].sort(), what).toEqual([...expected.keys()].sort());
    for (const [k, e] of expected) {
      const a = actual.get(k)!;
      for (const m of METRICS) {
        const want = e[m];
        if (Number.isInteger(want) && !['averageSessionDuration', 'userEngagementDuration'].includes(m)) expect(a[m], `${what} ${k} ${m}`).toBe(want);
        else expect(Math.abs(a[m] - want), `${what} ${k} ${m}: ${a[m]} vs ${want}`).toBeLessThan(1e-6 * Math.max(1, Math.abs(want)));
      }
    }
  }

  it('equals the ground truth overall and by date, pagePath, sessionSource and country', async () => {
    const gt = groundTruth(opts);
    expect(gt.stats).toBeDefined();
    const cases: [ReportDimension | undefined, string | undefined][] = [
      [undefined, undefined],
      ['date', 'date'],
      ['pagePath', 'pagePath'],
      ['sessionSource', 'sessionSource'],
      ['country', 'countryId'],
      ['deviceCategory', 'deviceCategory'],
      ['sessionDefaultChannelGroup', 'sessionDefaultChannelGroup'],
    ];
    for (const [dim, api] of cases) {
      const expected = expectedReport(gt, { startDate, endDate, dimension: dim });
      expectSame(await metricsBy(dim, api), expected, dim ?? 'overall');
    }
  });

  it('keeps tenants apart: a read key of another tenant gets 403, no key 401', async () => {
    const denied = await report({ dateRanges: [{ startDate, endDate }], metrics: [{ name: 'sessions' }] }, other.readKey);
    expect(denied.status).toBe(403);
    expect(denied.body.error.status).toBe('PERMISSION_DENIED');
    const r = await fetch(`${tally.baseUrl}/v1beta/properties/${t.propertyId}:runReport`, { method: 'POST', body: '{}' });
    expect(r.status).toBe(401);
    expect(((await r.json()) as any).error.status).toBe('UNAUTHENTICATED');
    const bad = await report({ dateRanges: [{ startDate, endDate }], metrics: [{ name: 'sessions' }], nope: 1 });
    expect(bad.status).toBe(400);
    expect(bad.body.error.status).toBe('INVALID_ARGUMENT');
  });

  it('matches hostile filter values literally', async () => {
    for (const value of ["/'; DROP TABLE events; --", "' OR '1'='1", '/products"--', 'SELECT * FROM sessions;']) {
      const r = await report({
        dateRanges: [{ startDate, endDate }],
        dimensions: [{ name: 'pagePath' }],
        metrics: [{ name: 'screenPageViews' }],
        dimensionFilter: { filter: { fieldName: 'pagePath', stringFilter: { matchType: 'EXACT', value } } },
      });
      expect(r.status).toBe(200);
      expect(r.body.rows ?? []).toEqual([]);
    }
    const all = await metricsBy(undefined);
    expect(all.get('')!.sessions).toBeGreaterThan(0);
  });

  it('changes nothing when transform and load run again', async () => {
    const before = await metricsBy('pagePath', 'pagePath');
    await tallyCli(tally.dataDir, ['jobs', 'run', 'pipeline', '--property', t.propertyId, '--full']);
    await tallyCli(tally.dataDir, ['jobs', 'run', 'pipeline', '--property', t.propertyId, '--full']);
    expect(await metricsBy('pagePath', 'pagePath')).toEqual(before);
  });
});

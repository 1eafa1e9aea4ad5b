import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenantCli, startTally, type TallyProcess, type TenantKeys } from '../support/tally-process.js';
import { tallyCli } from '../support/cli.js';
import { generateTraffic, type TrafficOptions } from '../../src/demo/traffic-generator.js';
import { expectedReport, groundTruth } from '../../src/demo/ground-truth.js';
import { sendTraffic } from '../../src/demo/traffic-sender.js';
import { addDays, localDate } from '../../src/domain/time-zone.js';
import { expectSame, GOLDEN_CASES, metricsBy as metricsFor, zoneAtMidday } from '../support/golden.js';

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

  const metricsBy = (_dimension: unknown, apiDimension?: string) =>
    metricsFor({ baseUrl: tally.baseUrl, readKey: t.readKey, propertyId: t.propertyId, startDate, endDate }, apiDimension);

  it('equals the ground truth overall and by date, pagePath, sessionSource and country', async () => {
    const gt = groundTruth(opts);
    expect(gt.stats).toBeDefined();
    for (const [dim, api] of GOLDEN_CASES) {
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

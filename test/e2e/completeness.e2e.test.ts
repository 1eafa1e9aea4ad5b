import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../src/infra/metadata/test-database.testkit.js';
import { tallyCli } from '../support/cli.js';
import { describeWithService } from '../support/services.js';
import { createTenantCli, eventually, readZone, startTally, type TallyProcess, type TenantKeys } from '../support/tally-process.js';

const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';

/**
 * metadata.tallyCompleteUpTo through tally serve: events acknowledged after it are not promised,
 * events acknowledged before it are in the numbers. The schedule is pushed out of the test's way;
 * the pipeline runs only when the test says so.
 */
function completenessSuite(warehouseEnv: () => Promise<Record<string, string>>): void {
  let tally: TallyProcess;
  let t: TenantKeys;

  beforeAll(async () => {
    tally = await startTally({ env: { TALLY_TRANSFORM_INTERVAL_MS: '3600000', TALLY_ARCHIVE_MAX_WAIT_MS: '100', ...(await warehouseEnv()) } });
    t = await createTenantCli(tally.dataDir, 'Complete');
  });
  afterAll(async () => {
    expect(await tally?.stop()).toBe(0);
  });

  const report = async () => {
    const r = await fetch(`${tally.baseUrl}/v1beta/properties/${t.propertyId}:runReport`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.readKey}` },
      body: JSON.stringify({ dateRanges: [{ startDate: '2daysAgo', endDate: 'today' }], metrics: [{ name: 'eventCount' }] }),
    });
    expect(r.status).toBe(200);
    const body = (await r.json()) as { rows?: { metricValues: { value: string }[] }[]; metadata: { tallyCompleteUpTo?: string } };
    const at = body.metadata.tallyCompleteUpTo!;
    expect(at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    return { events: Number(body.rows?.[0]?.metricValues[0].value ?? 0), completeUpTo: Date.parse(at) };
  };
  const send = async (ids: string[]) => {
    const before = Date.now();
    const r = await fetch(`${tally.baseUrl}/v1/collect`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.ingestKey}`, 'user-agent': CHROME },
      body: JSON.stringify({ events: ids.map((id) => ({ event_id: id, name: 'page_view', client_id: 'c1', url: 'https://complete.example.com/' })) }),
    });
    expect(r.status).toBe(200);
    return { before, after: Date.now() };
  };
  const pipeline = () => tallyCli(tally.dataDir, ['jobs', 'run', 'pipeline']);

  it('before, during and after the pipeline', async () => {
    const fresh = await report();
    expect(fresh.events).toBe(0);
    // nothing can have been acknowledged before the property existed
    expect(fresh.completeUpTo).toBeLessThanOrEqual(Date.now());

    const first = await send(['e1', 'e2', 'e3']);
    // archived, but not transformed or loaded: the timestamp stays before their receipt
    await eventually(() => (readZone(tally.dataDir, 'raw').length >= 3 ? true : undefined), 30_000, 'the archiver');
    const archived = await report();
    expect(archived.events).toBe(0);
    expect(archived.completeUpTo).toBeLessThan(first.before);

    await pipeline();
    const loaded = await report();
    expect(loaded.events).toBe(3);
    expect(loaded.completeUpTo).toBeGreaterThanOrEqual(first.after);
    expect(loaded.completeUpTo).toBeLessThanOrEqual(Date.now());

    // acknowledged after the last run: not covered, and the timestamp says so
    const second = await send(['e4', 'e5']);
    const pending = await report();
    expect(pending.events).toBe(3);
    expect(pending.completeUpTo).toBe(loaded.completeUpTo);
    expect(pending.completeUpTo).toBeLessThan(second.before);

    await pipeline();
    const again = await report();
    expect(again.events).toBe(5);
    expect(again.completeUpTo).toBeGreaterThanOrEqual(second.after);
  });
}

describe('tally serve: "complete up to" in every report (DuckDB warehouse)', () => {
  completenessSuite(async () => ({}));
});

describeWithService('tally serve: "complete up to" in every report (TALLY_WAREHOUSE=postgres)', 'postgres', 'DATABASE_URL', (baseUrl) => {
  let drop: (() => Promise<void>) | undefined;
  afterAll(async () => drop?.());
  completenessSuite(async () => {
    const db = await createTestDatabase(baseUrl, 'e2e_wh');
    drop = db.drop;
    return { TALLY_WAREHOUSE: 'postgres', WAREHOUSE_URL: db.url };
  });
});

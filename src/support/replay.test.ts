import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../infra/config/config.js';
import { createLogger } from '../infra/logger.js';
import { startTally, type TallyHandle } from '../server/tally-server.js';
import { createTenant, type CreatedTenant } from '../tenancy/tenant.repository.js';
import { generateTraffic, type TrafficItem, type TrafficOptions } from '../demo/traffic-generator.js';
import { sendTraffic } from '../demo/traffic-sender.js';
import { expectedReport, groundTruth, withSessionTimeout, type GroundTruth } from '../demo/ground-truth.js';
import { addDays, localDate } from '../domain/time-zone.js';
import { expectSame, metricsBy, zoneAtMidday } from '../../test/support/golden.js';
import type { ReplayView } from './replay.repository.js';

/**
 * Replay on the embedded profile (DuckDB transform and warehouse, folder store, local log), one
 * process with collector, api and worker: a property whose clients send no session id changes its
 * session timeout from 30 to 120 minutes; the dry run's diff must equal the reference calculator
 * (src/demo/ground-truth.ts) before and after, change nothing, and the real run must make the
 * reports equal the reference. The same range twice gives byte-identical partitions, and a real
 * replay racing the pipeline on the same dates never counts an event twice.
 */
describe('replay: a changed session timeout, recomputed from the raw zone', () => {
  const NEW_TIMEOUT = 120;
  let tally: TallyHandle;
  let t: CreatedTenant;
  let dir: string;
  let opts: TrafficOptions;
  let startDate: string;
  let endDate: string;
  let items: TrafficItem[];
  let gt: GroundTruth;
  let baseUrl: string;

  const run = (data: Record<string, unknown>) =>
    tally.runJob('replay', { propertyId: t.propertyId, from: startDate, to: endDate, reason: 'ticket 13', ...data }, () => undefined) as Promise<ReplayView>;
  const target = () => ({ baseUrl, readKey: t.readKey, propertyId: t.propertyId, startDate, endDate });
  const partitionFiles = async () => {
    const out = new Map<string, Buffer>();
    for (const o of await tally.store.list(`transformed/`)) if (o.key.includes(`property=${t.propertyId}/`)) out.set(o.key, (await tally.store.get(o.key))!);
    return out;
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-replay-'));
    const now = Date.now();
    const timeZone = zoneAtMidday(now);
    startDate = addDays(localDate(now, timeZone), -2);
    endDate = addDays(startDate, 1);
    opts = { seed: 1313, startDate, days: 2, timeZone, visitorsPerDay: 60, sessionIdShare: 0 };
    items = [...generateTraffic(opts)];
    gt = groundTruth(opts);
    const config = loadConfig({ TALLY_DATA_DIR: dir, PORT: '0', TALLY_TRANSFORM_INTERVAL_MS: '3600000' });
    tally = await startTally(config, ['collector', 'api', 'worker'], { logger: createLogger(process.env.TALLY_TEST_LOG ?? 'silent') });
    baseUrl = `http://127.0.0.1:${tally.port}`;
    t = await createTenant(tally.db, { name: 'Replay', email: 'owner@replay.test', domain: 'shop.example.com', timeZone, planId: 'scale' });
    await tally.credentials.refresh();
    // the first half now, transformed and loaded under the 30 min timeout
    const sent = await sendTraffic(
      items.filter((_, i) => i % 2 === 0),
      { baseUrl, ingestKey: t.ingestKey },
    );
    expect(sent.rejected).toBe(0);
    await tally.runJob('pipeline', { propertyId: t.propertyId }, () => undefined);
  }, 300_000);

  afterAll(async () => {
    await tally?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('dry run: the diff equals the reference before and after, and nothing changes', async () => {
    // the rest of the traffic, then the pipeline: the property as the scheduler leaves it
    const sent = await sendTraffic(
      items.filter((_, i) => i % 2 === 1),
      { baseUrl, ingestKey: t.ingestKey },
    );
    expect(sent.rejected).toBe(0);
    await tally.runJob('pipeline', { propertyId: t.propertyId }, () => undefined);
    expectSame(await metricsBy(target(), 'date'), expectedReport(gt, { startDate, endDate, dimension: 'date' }), 'reports before');
    const before = await partitionFiles();

    await tally.db('properties').where({ id: t.propertyId }).update({ session_timeout_minutes: NEW_TIMEOUT });
    await tally.credentials.refresh();
    const dry = await run({ dryRun: true });
    expect(dry.state).toBe('succeeded');
    expect(dry.progress.done).toBe(dry.progress.total);
    const oldTruth = expectedReport(gt, { startDate, endDate, dimension: 'date' });
    const newTruth = expectedReport(withSessionTimeout(gt, NEW_TIMEOUT), { startDate, endDate, dimension: 'date' });
    expect(dry.diff!.days.map((d) => d.date)).toEqual([startDate, endDate]);
    for (const day of dry.diff!.days) {
      for (const [side, truth] of [
        [day.before, oldTruth.get(day.date)!],
        [day.after, newTruth.get(day.date)!],
      ] as const) {
        expect(side.sessions, day.date).toBe(truth.sessions);
        expect(side.users, day.date).toBe(truth.totalUsers);
        expect(side.views, day.date).toBe(truth.screenPageViews);
        expect(side.keyEvents, day.date).toBe(truth.keyEvents);
        expect(side.events, day.date).toBe(truth.eventCount);
        expect(side.bounceRate, day.date).toBeCloseTo(truth.bounceRate, 9);
      }
    }
    // a longer timeout merges sessions: fewer of them, and the change shows in the sources
    expect(dry.diff!.totals.after.sessions).toBeLessThan(dry.diff!.totals.before.sessions);
    expect(dry.diff!.sources.length).toBeGreaterThan(0);
    // a dry run touches neither the transformed zone nor the warehouse, and leaves no staging behind
    expect(await partitionFiles()).toEqual(before);
    expectSame(await metricsBy(target(), 'date'), oldTruth, 'reports after a dry run');
    expect(await tally.store.list('staging/')).toEqual([]);
    const audit = await tally.db('audit_log').where({ organization_id: t.organizationId, action: 'support.replay.dry_run' });
    expect(audit).toHaveLength(1);
    expect(audit[0].reason).toBe('ticket 13');
  }, 300_000);

  it('real run: the reports equal the reference; the same range again gives byte-identical partitions', async () => {
    const real = await run({ dryRun: false });
    expect(real.state).toBe('succeeded');
    const truth = withSessionTimeout(gt, NEW_TIMEOUT);
    for (const dim of ['date', 'pagePath', 'sessionSource'] as const)
      expectSame(await metricsBy(target(), dim), expectedReport(truth, { startDate, endDate, dimension: dim }), `after the replay, by ${dim}`);
    const first = await partitionFiles();
    const again = await run({ dryRun: false });
    expect(again.state).toBe('succeeded');
    const second = await partitionFiles();
    expect([...second.keys()].sort()).toEqual([...first.keys()].sort());
    for (const [k, body] of first) if (k.includes(`dt=${startDate}`) || k.includes(`dt=${endDate}`)) expect(second.get(k)!.equals(body), k).toBe(true);
    expect(await tally.db('audit_log').where({ organization_id: t.organizationId, action: 'support.replay' })).toHaveLength(2);
  }, 300_000);

  it('racing the pipeline on the same dates never double counts', async () => {
    // every event again (same ids: the client resends), then a real replay and the pipeline at once
    const resent = await sendTraffic(items, { baseUrl, ingestKey: t.ingestKey });
    expect(resent.rejected).toBe(0);
    const [replay] = await Promise.all([
      run({ dryRun: false }),
      tally.runJob('pipeline', { propertyId: t.propertyId }, () => undefined),
      tally.runJob('pipeline', { propertyId: t.propertyId }, () => undefined),
    ]);
    expect(replay.state).toBe('succeeded');
    // whatever the race left for later (a property skipped while the replay held its dates)
    await tally.runJob('pipeline', { propertyId: t.propertyId }, () => undefined);
    const truth = withSessionTimeout(gt, NEW_TIMEOUT);
    expectSame(await metricsBy(target(), 'date'), expectedReport(truth, { startDate, endDate, dimension: 'date' }), 'after the race');
    expect(await tally.db('partition_locks').count({ n: '*' }).first()).toMatchObject({ n: 0 });
  }, 300_000);

  it('refuses a bad range with a 4xx reason, and an unknown property', async () => {
    await expect(run({ from: endDate, to: startDate })).rejects.toMatchObject({ code: 'invalid_argument', details: { reason: 'invalid_range' } });
    await expect(run({ from: '2026-02-30' })).rejects.toMatchObject({ details: { reason: 'invalid_date' } });
    await expect(run({ propertyId: '999999' })).rejects.toMatchObject({ code: 'not_found' });
  });
});

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../infra/config/config.js';
import { createLogger } from '../infra/logger.js';
import { startTally, type TallyHandle } from '../server/tally-server.js';
import { createTenant, type CreatedTenant } from '../tenancy/tenant.repository.js';
import { generateTraffic, type TrafficOptions } from '../demo/traffic-generator.js';
import { expectedReport, groundTruth, withSessionTimeout, type GroundTruth } from '../demo/ground-truth.js';
import { addDays, localDate } from '../domain/time-zone.js';
import { expectSame, metricsBy, zoneAtMidday } from '../../test/support/golden.js';
import type { ReplayView } from './replay.repository.js';

/**
 * A backfill that is the property's newest data (README: "A backfill's last sessions stay open",
 * now fixed): its rows are received at their own timestamps, so the transform's cut used to stay
 * at the backfill's last receipt minus the late allowance, keeping its last sessions open and a
 * real replay of that date refused (`replay_range_open`) until live traffic arrived. The cut now
 * also follows the wall clock (never past what closes every session read): the import's cycle
 * closes them, and a real replay of the date succeeds and equals the reference.
 */
describe('a backfill as the newest data closes its sessions; a real replay of its date succeeds', () => {
  const NEW_TIMEOUT = 120;
  let tally: TallyHandle;
  let t: CreatedTenant;
  let dir: string;
  let opts: TrafficOptions;
  let gt: GroundTruth;
  let date: string;

  const target = () => ({ baseUrl: `http://127.0.0.1:${tally.port}`, readKey: t.readKey, propertyId: t.propertyId, startDate: date, endDate: date });
  const openPartitions = (propertyId = t.propertyId) =>
    tally.db('partitions').where({ property_id: propertyId }).whereRaw("object_keys::text LIKE '%/open.parquet%'").select('table_name', 'dt');

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-backfill-replay-'));
    const now = Date.now();
    const timeZone = zoneAtMidday(now);
    date = addDays(localDate(now, timeZone), -3);
    // no client session ids: the timeout decides the sessions; the first seed whose sessions a longer timeout merges
    for (const seed of [7, 1313, 1314, 42, 2026, 99, 5, 11]) {
      opts = { seed, startDate: date, days: 1, timeZone, visitorsPerDay: 40, sessionIdShare: 0 };
      gt = groundTruth(opts);
      const sessions = (truth: GroundTruth) => expectedReport(truth, { startDate: date, endDate: date }).get('')!.sessions;
      if (sessions(withSessionTimeout(gt, NEW_TIMEOUT)) < sessions(gt)) break;
    }
    const config = loadConfig({
      TALLY_DATA_DIR: dir,
      PORT: '0',
      LOG_LEVEL: 'silent',
      TALLY_TRANSFORM_INTERVAL_MS: '3600000',
      TALLY_ARCHIVE_MAX_WAIT_MS: '100',
    });
    tally = await startTally(config, ['api', 'worker'], { logger: createLogger(process.env.TALLY_TEST_LOG ?? 'silent') });
    t = await createTenant(tally.db, { name: 'Backfill', email: 'owner@backfill.test', domain: 'shop.example.com', timeZone, planId: 'scale' });
    await tally.credentials.refresh();
  }, 120_000);

  afterAll(async () => {
    await tally?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('imports the day, runs the pipeline: no session is left open and the reports equal the reference', async () => {
    const file = path.join(dir, 'backfill.ndjson');
    fs.writeFileSync(file, [...generateTraffic(opts)].map((i) => JSON.stringify(i.event)).join('\n') + '\n');
    const imported = (await tally.runJob('import-file', { propertyId: t.propertyId, options: { file } }, () => undefined)) as {
      imported: number;
      refused: unknown[];
    };
    expect(imported.refused).toEqual([]);
    await tally.runJob('pipeline', { propertyId: t.propertyId }, () => undefined);
    expect(await openPartitions()).toEqual([]);
    expectSame(await metricsBy(target(), 'date'), expectedReport(gt, { startDate: date, endDate: date, dimension: 'date' }), 'after the import');
  }, 180_000);

  it('a real replay of the date after a session-timeout change succeeds and equals the reference', async () => {
    await tally.db('properties').where({ id: t.propertyId }).update({ session_timeout_minutes: NEW_TIMEOUT });
    await tally.credentials.refresh();
    const replay = (await tally.runJob(
      'replay',
      { propertyId: t.propertyId, from: date, to: date, dryRun: false, reason: 'backfill replay' },
      () => undefined,
    )) as ReplayView;
    expect(replay.state, JSON.stringify(replay)).toBe('succeeded');
    const truth = withSessionTimeout(gt, NEW_TIMEOUT);
    for (const dim of ['date', 'pagePath', 'sessionSource'] as const)
      expectSame(await metricsBy(target(), dim), expectedReport(truth, { startDate: date, endDate: date, dimension: dim }), `after the replay, by ${dim}`);
  }, 180_000);

  it("a quiet property's last sessions close once the clock has passed their timeout plus the late allowance, with nothing new", async () => {
    const q = await createTenant(tally.db, { name: 'Quiet', email: 'owner@quiet.test', domain: 'quiet.example.com', planId: 'scale' });
    await tally.credentials.refresh();
    // three visitors' page views of the last hour (a session each), then nothing
    const now = Date.now();
    const rows = [0, 1, 2].flatMap((c) =>
      [50, 40, 30, 20].map((minAgo, i) => ({ event_id: `q-${c}-${i}`, timestamp: now - (minAgo - c) * 60_000, name: 'page_view', client_id: `quiet-${c}` })),
    );
    const file = path.join(dir, 'quiet.ndjson');
    fs.writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    await tally.runJob('import-file', { propertyId: q.propertyId, options: { file } }, () => undefined);
    const counts = async () => {
      const [e] = await tally.warehouse!.query<{ n: unknown }>('SELECT count(*) AS n FROM events WHERE property_id = $1', [q.propertyId]);
      const [s] = await tally.warehouse!.query<{ n: unknown }>('SELECT count(*) AS n FROM sessions WHERE property_id = $1', [q.propertyId]);
      return { events: Number(e.n), sessions: Number(s.n) };
    };
    await tally.runJob('pipeline', { propertyId: q.propertyId }, () => undefined);
    // the clock has not passed them yet (last event + 30 min + 10 min): open, counted
    expect((await openPartitions(q.propertyId)).length).toBeGreaterThan(0);
    expect(await counts()).toEqual({ events: 12, sessions: 3 });
    // an hour later, nothing new: the next run closes them (the same figures, now final)
    vi.useFakeTimers({ toFake: ['Date'], now: now + 3_600_000 });
    try {
      await tally.runJob('pipeline', {}, () => undefined);
    } finally {
      vi.useRealTimers();
    }
    expect(await openPartitions(q.propertyId)).toEqual([]);
    expect(await counts()).toEqual({ events: 12, sessions: 3 });
    // and it is not cycled again for nothing
    const before = await tally.db('partitions').where({ property_id: q.propertyId }).select('table_name', 'dt', 'object_keys', 'transformed_at');
    await tally.runJob('pipeline', {}, () => undefined);
    expect(await tally.db('partitions').where({ property_id: q.propertyId }).select('table_name', 'dt', 'object_keys', 'transformed_at')).toEqual(before);
  }, 180_000);
});

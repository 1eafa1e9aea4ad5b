import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeWithService } from '../../test/support/services.js';
import { createTestDatabase } from '../infra/metadata/test-database.testkit.js';
import { FolderObjectStore } from '../infra/object-store/folder.object-store.js';
import { DuckDbWarehouse } from '../infra/warehouse/duckdb.warehouse.js';
import { PostgresWarehouse } from '../infra/warehouse/postgres.warehouse.js';
import type { Warehouse } from '../infra/warehouse/warehouse.port.js';
import { dashboardWidgets } from './dashboard-widgets.testkit.js';
import { generateProperty, loadPartitions, mergeFixtures, writeParquetPartitions, type Fixture, type WrittenPartition } from './report-fixture.testkit.js';
import { ReportCache } from './report-cache.js';
import { parseRunReportRequest } from './report-request.js';
import { runReport, type ReportStats } from './report.service.js';
// the report service tests' property (t1/p1, UTC, EUR, purchase as key event)
import { settings } from './report.service.testkit.js';

const WIDGETS = dashboardWidgets('2024-03-03', '2024-03-07', '2024-03-01', '2024-03-02');

let dir: string;
let parts: WrittenPartition[];
let replay: WrittenPartition[];
let midnight: { before: WrittenPartition[]; after: WrittenPartition[] };
let late: { later: WrittenPartition[]; earlier: WrittenPartition[] };

/** One non-engaged session from 23:55 on 2024-03-02 to 00:05 on 2024-03-03 (its user is active on neither day), and the same session engaged. */
function midnightSession(engaged: boolean): Fixture {
  const fx = generateProperty('t1', 'p9', 7, 1);
  const s = { ...fx.sessions[0] };
  const start = Date.UTC(2024, 2, 2, 23, 55);
  Object.assign(s, { session_key: 'midnight', session_start_ms: start, session_end_ms: start + 600_000, local_date: '2024-03-02', local_hour: 23 });
  Object.assign(s, { duration_s: 600, engaged, is_bot: false, client_id: 'c-midnight', user_id: null, key_events: 0, engagement_time_ms: 0 });
  const base = fx.events[0];
  const events = [0, 600_000].map((dt, i) => ({
    ...base,
    event_id: `midnight-${i}`,
    event_name: 'page_view',
    event_ms: start + dt,
    received_at: start + dt,
    local_date: i === 0 ? '2024-03-02' : '2024-03-03',
    local_hour: i === 0 ? 23 : 0,
    client_id: 'c-midnight',
    user_id: null,
    session_key: 'midnight',
    session_start_ms: start,
    seq_in_session: i + 1,
    engagement_time_ms: 0,
    is_bot: false,
    is_key_event: false,
  }));
  return { events, sessions: [s], identities: [] };
}

/** One session of client `c-late` in property p8 starting at `start` on `date`, with `events` page views a minute apart. */
function lateClientSession(key: string, date: string, start: number, events: number): Fixture {
  const fx = generateProperty('t1', 'p8', 11, 1);
  const s = { ...fx.sessions[0], session_key: key, session_start_ms: start, session_end_ms: start + 60_000 * (events - 1), local_date: date };
  Object.assign(s, { local_hour: new Date(start).getUTCHours(), is_bot: false, client_id: 'c-late', user_id: null });
  const base = fx.events[0];
  const rows = Array.from({ length: events }, (_, i) => ({
    ...base,
    event_id: `${key}-${i}`,
    event_name: 'page_view',
    event_ms: start + 60_000 * i,
    received_at: start + 60_000 * i,
    local_date: date,
    local_hour: new Date(start).getUTCHours(),
    client_id: 'c-late',
    user_id: null,
    session_key: key,
    session_start_ms: start,
    seq_in_session: i + 1,
    is_bot: false,
  }));
  return { events: rows, sessions: [s], identities: [] };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tally-rollups-'));
  parts = await writeParquetPartitions(mergeFixtures(generateProperty('t1', 'p1', 1, 60), generateProperty('t2', 'p1', 2, 20)), join(dir, 'v1'));
  // a replay of three days with other traffic (late data, a reprocessing); session keys stay unique in the property
  const other = generateProperty('t1', 'p1', 5, 80);
  const renamed: Fixture = {
    events: other.events.map((e) => ({ ...e, session_key: `r.${e.session_key}` })),
    sessions: other.sessions.map((x) => ({ ...x, session_key: `r.${x.session_key}` })),
    identities: other.identities,
  };
  replay = (await writeParquetPartitions(renamed, join(dir, 'v2'))).filter((p) => p.date >= '2024-03-03' && p.date <= '2024-03-05');
  midnight = {
    before: await writeParquetPartitions(midnightSession(false), join(dir, 'm1')),
    after: await writeParquetPartitions(midnightSession(true), join(dir, 'm2')),
  };
  late = {
    later: await writeParquetPartitions(lateClientSession('late-2', '2024-03-04', Date.UTC(2024, 2, 4, 10), 2), join(dir, 'l1')),
    earlier: await writeParquetPartitions(lateClientSession('late-1', '2024-03-02', Date.UTC(2024, 2, 2, 9), 1), join(dir, 'l2')),
  };
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = async (wh: Warehouse, body: Record<string, unknown>, rollups: boolean, scope = settings) => {
  const stats: ReportStats = { cached: false, path: 'detail', tables: [] };
  const res = await runReport(wh, scope, parseRunReportRequest(body, { timeZone: 'UTC' }), { rollups, stats });
  return { res, stats };
};

function rollupSuite(open: () => Promise<Warehouse>) {
  let wh: Warehouse;
  const load = (ps: WrittenPartition[]) =>
    loadPartitions(
      wh,
      ps.map((p) => ({ ...p, key: join(partDir(p), p.key) })),
    );
  beforeAll(async () => {
    wh = await open();
    await wh.init();
    await load(parts);
  });
  afterAll(async () => wh?.close());

  const expectSameAnswers = async () => {
    for (const w of WIDGETS) {
      const detail = await run(wh, w.body, false);
      const rolled = await run(wh, w.body, true);
      expect(detail.stats.path, w.name).toBe('detail');
      expect(rolled.stats.path, w.name).toBe(w.path);
      expect(rolled.res, w.name).toEqual(detail.res);
      expect(detail.res.rows?.length ?? 0, w.name).toBeGreaterThan(0);
    }
  };

  it('answers every dashboard widget from the rollups exactly as from the detail tables', expectSameAnswers);

  it('after a replay of three days (every table reloaded), rollups and detail still agree', async () => {
    const before = await run(wh, WIDGETS[2].body, true);
    await load(replay);
    const after = await run(wh, WIDGETS[2].body, true);
    expect(after.res).not.toEqual(before.res);
    await expectSameAnswers();
  });

  it("reloading a day's sessions rebuilds the next day's user rollups for sessions that crossed midnight", async () => {
    const p9 = { ...settings, propertyId: 'p9' };
    const body = { dateRanges: [{ startDate: '2024-03-03', endDate: '2024-03-03' }], metrics: [{ name: 'activeUsers' }, { name: 'eventCount' }] };
    await load(midnight.before);
    const users = async (rollups: boolean) => (await run(wh, body, rollups, p9)).res.rows?.[0]?.metricValues.map((v) => v.value);
    expect(await users(true)).toEqual(['0', '1']);
    // only the sessions partition of 2024-03-02 changes: its session is now engaged
    await load(midnight.after.filter((p) => p.table === 'sessions'));
    expect(await users(false)).toEqual(['1', '1']);
    expect(await users(true)).toEqual(['1', '1']);
    // and the page set's session keys of 2024-03-03 carry the session's new engaged flag
    const pages = { ...body, dimensions: [{ name: 'pagePath' }], metrics: [{ name: 'sessions' }, { name: 'engagedSessions' }] };
    const [detail, rolled] = [await run(wh, pages, false, p9), await run(wh, pages, true, p9)];
    expect(rolled.stats.path).toBe('rollup');
    expect(rolled.res).toEqual(detail.res);
    expect(rolled.res.rows?.map((r) => r.metricValues.map((v) => v.value))).toEqual([['1', '1']]);
  });

  it("moves newUsers to a client's earlier session when late data brings one, and back when that day is emptied, from the rollups as from the detail tables", async () => {
    const p8 = { ...settings, propertyId: 'p8' };
    const body = {
      dateRanges: [{ startDate: '2024-03-01', endDate: '2024-03-07' }],
      dimensions: [{ name: 'date' }],
      metrics: [{ name: 'newUsers' }, { name: 'totalUsers' }],
      orderBys: [{ dimension: { dimensionName: 'date' } }],
    };
    const newUsers = async () => {
      const [detail, rolled] = [await run(wh, body, false, p8), await run(wh, body, true, p8)];
      expect(rolled.stats.path).toBe('rollup');
      expect(rolled.res).toEqual(detail.res);
      return (rolled.res.rows ?? []).map((r) => [r.dimensionValues[0].value, r.metricValues[0].value]);
    };
    await load(late.later);
    expect(await newUsers()).toEqual([['20240304', '1']]);
    // late data: an earlier session of the same client; only the 2024-03-02 partitions are loaded
    await load(late.earlier);
    expect(await newUsers()).toEqual([
      ['20240302', '1'],
      ['20240304', '0'],
    ]);
    // that day emptied again (a lifecycle deletion, a replay without it): the first session is the later one again
    for (const table of ['events', 'sessions'] as const) await wh.loadPartition(table, { tenantId: 't1', propertyId: 'p8', date: '2024-03-02' }, []);
    expect(await newUsers()).toEqual([['20240304', '1']]);
  });

  it('answers the fields of issue 14 from a rollup only where it keeps their columns, else from the detail tables, alike', async () => {
    const range = { dateRanges: [{ startDate: '2024-03-01', endDate: '2024-03-07' }] };
    const cases: [string, Record<string, unknown>, 'rollup' | 'detail'][] = [
      ['week', { dimensions: [{ name: 'week' }], metrics: [{ name: 'eventCount' }, { name: 'activeUsers' }] }, 'rollup'],
      ['region names', { dimensions: [{ name: 'region' }], metrics: [{ name: 'sessions' }, { name: 'totalUsers' }] }, 'rollup'],
      ['isKeyEvent', { dimensions: [{ name: 'isKeyEvent' }], metrics: [{ name: 'eventCount' }] }, 'detail'],
      ['firstUserSource', { dimensions: [{ name: 'firstUserSource' }], metrics: [{ name: 'sessions' }, { name: 'activeUsers' }] }, 'detail'],
      ['revenue beside a rollup metric', { metrics: [{ name: 'eventCount' }, { name: 'purchaseRevenue' }, { name: 'transactions' }] }, 'detail'],
      ['item dimension', { dimensions: [{ name: 'itemName' }], metrics: [{ name: 'itemRevenue' }] }, 'detail'],
      ['custom dimension', { dimensions: [{ name: 'customEvent:color' }], metrics: [{ name: 'eventCount' }] }, 'detail'],
    ];
    for (const [name, body, path] of cases) {
      const detail = await run(wh, { ...range, ...body }, false);
      const rolled = await run(wh, { ...range, ...body }, true);
      expect(rolled.stats.path, name).toBe(path);
      expect(rolled.res, name).toEqual(detail.res);
    }
  });

  it('keeps tenants apart in the rollups', async () => {
    const other = await run(wh, WIDGETS[2].body, true, { ...settings, tenantId: 't3' });
    expect(other.stats.path).toBe('rollup');
    expect(other.res.rows ?? []).toEqual([]);
  });

  it('serves a repeated report from the result cache until the "complete up to" mark or the load version moves, per tenant', async () => {
    const cache = new ReportCache();
    const req = parseRunReportRequest(WIDGETS[3].body, { timeZone: 'UTC' });
    const answer = async (mark: string, loadVersion: string | null = 'v1', scope = settings) => {
      const stats: ReportStats = { cached: false, path: 'detail', tables: [] };
      const res = await runReport(wh, scope, req, { cache, completeUpTo: new Date(mark), loadVersion, stats });
      return { res, cached: stats.cached };
    };
    const first = await answer('2024-03-08T00:00:00Z');
    expect(first.cached).toBe(false);
    const second = await answer('2024-03-08T00:00:00Z');
    expect(second).toEqual({ res: first.res, cached: true });
    expect((await answer('2024-03-08T00:00:00Z', 'v2')).cached).toBe(false);
    expect((await answer('2024-03-08T00:05:00Z')).cached).toBe(false);
    // tenant t2 also has a property p1: the same request at the same mark is its own entry, its own numbers
    const t2 = { ...settings, tenantId: 't2' };
    const other = await answer('2024-03-08T00:00:00Z', 'v1', t2);
    expect(other.cached).toBe(false);
    expect(other.res.rows).not.toEqual(first.res.rows);
    expect(other.res.rows).toEqual((await run(wh, WIDGETS[3].body, true, t2)).res.rows);
    // another property's identical request is its own entry
    const stats: ReportStats = { cached: false, path: 'detail', tables: [] };
    await runReport(wh, { ...settings, propertyId: 'p9' }, req, { cache, completeUpTo: new Date('2024-03-08T00:00:00Z'), stats });
    expect(stats.cached).toBe(false);
  });
}

describe('rollups on DuckDB', () => {
  rollupSuite(() => DuckDbWarehouse.open({ path: ':memory:', resolve: (k) => join(dir, k) }));
});

describeWithService('rollups on PostgreSQL', 'postgres', 'DATABASE_URL', (baseUrl) => {
  let drop: (() => Promise<void>) | undefined;
  afterAll(async () => drop?.());
  rollupSuite(async () => {
    const db = await createTestDatabase(baseUrl, 'rollups');
    drop = db.drop;
    return new PostgresWarehouse({ url: db.url, store: new FolderObjectStore(dir) });
  });
});

/** Which written set a partition came from (each set was written under its own folder of `dir`). */
function partDir(p: WrittenPartition): string {
  for (const [name, set] of [
    ['v1', parts],
    ['v2', replay],
    ['m1', midnight.before],
    ['m2', midnight.after],
    ['l1', late.later],
    ['l2', late.earlier],
  ] as const) {
    if (set.includes(p)) return name;
  }
  throw new Error('unknown partition');
}

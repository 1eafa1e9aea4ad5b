import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { DuckDbWarehouse } from '../src/infra/warehouse/duckdb.warehouse.js';
import { PostgresWarehouse } from '../src/infra/warehouse/postgres.warehouse.js';
import { FolderObjectStore } from '../src/infra/object-store/folder.object-store.js';
import { createTestDatabase } from '../src/infra/metadata/test-database.testkit.js';
import type { Warehouse } from '../src/infra/warehouse/warehouse.port.js';
import { createReportRouter } from '../src/query/report.router.js';
import { dataset, datasetDir, EVENTS, loadAll, median, resolveKey, settings } from './report.bench.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const RANGE = { dateRanges: [{ startDate: '2026-01-01', endDate: '2026-01-30' }] };
const step = (name: string, eventName: string, extra: object = {}) => ({ name, filterExpression: { funnelEventFilter: { eventName } }, ...extra });
const STEPS = [step('Visit', 'first_visit'), step('View', 'page_view'), step('Buy', 'purchase', { withinDurationFromPriorStep: '1800s' })];

/** The funnels timed, and the one-metric report they are compared with (the same range, users by event name). */
const CASES: { name: string; method: 'runFunnelReport' | 'runReport'; body: object }[] = [
  {
    name: 'baseline: runReport totalUsers by eventName',
    method: 'runReport',
    body: { ...RANGE, dimensions: [{ name: 'eventName' }], metrics: [{ name: 'totalUsers' }] },
  },
  { name: 'closed funnel, 3 steps, one within 30 min', method: 'runFunnelReport', body: { ...RANGE, funnel: { steps: STEPS } } },
  { name: 'open funnel, 3 steps', method: 'runFunnelReport', body: { ...RANGE, funnel: { isOpenFunnel: true, steps: STEPS } } },
  {
    name: 'closed + directly followed + breakdown + next action + trended',
    method: 'runFunnelReport',
    body: {
      ...RANGE,
      funnel: { steps: [STEPS[0], step('View', 'page_view', { isDirectlyFollowedBy: true }), STEPS[2]] },
      funnelBreakdown: { breakdownDimension: { name: 'deviceCategory' } },
      funnelNextAction: { nextActionDimension: { name: 'eventName' } },
      funnelVisualizationType: 'TRENDED_FUNNEL',
    },
  },
];

/**
 * `npm run bench -- funnel`: runFunnelReport through the HTTP API over the report bench's dataset
 * (BENCH_EVENTS, default 10M, generated once under BENCH_CACHE_DIR) on DuckDB and (with
 * DATABASE_URL) PostgreSQL: p50 and max of BENCH_RUNS runs after one warm-up, against a one-metric
 * runReport over the same range (no result cache: both read the warehouse every time). Also
 * checks that the first step's users equal runReport's users of that event.
 */
export async function run() {
  const dir = datasetDir();
  await dataset(dir);
  const out: Record<string, unknown> = { events: EVENTS, runs: RUNS, loadAverage: (await import('node:os')).loadavg()[0] };
  const duck = await DuckDbWarehouse.open({ path: ':memory:', resolve: resolveKey });
  out.duckdb = await benchOn(duck);
  await duck.close();
  if (process.env.DATABASE_URL) {
    const db = await createTestDatabase(process.env.DATABASE_URL, 'bench_funnel');
    const pg = new PostgresWarehouse({ url: db.url, store: new FolderObjectStore(resolveKey('')) });
    out.postgres = await benchOn(pg);
    await pg.close();
    await db.drop();
  }
  return out;
}

async function benchOn(wh: Warehouse) {
  await loadAll(wh);
  const app = express();
  app.use(createReportRouter({ warehouse: wh, authorize: async () => settings, limits: { timeoutMs: 600_000 } }));
  const server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  const rows: Record<string, unknown>[] = [];
  let firstStep = -1;
  let visitors = -2;
  for (const c of CASES) {
    const times: number[] = [];
    let json: any;
    for (let i = 0; i <= RUNS; i++) {
      const t = performance.now();
      const res = await fetch(`http://127.0.0.1:${port}/${c.method === 'runReport' ? 'v1beta' : 'v1alpha'}/properties/${settings.propertyId}:${c.method}`, {
        method: 'POST',
        body: JSON.stringify(c.body),
      });
      json = await res.json();
      if (res.status !== 200) throw new Error(`${c.name}: ${res.status} ${JSON.stringify(json)}`);
      if (i > 0) times.push(performance.now() - t);
    }
    if (c.method === 'runReport') visitors = Number(json.rows.find((r: any) => r.dimensionValues[0].value === 'first_visit')?.metricValues[0].value ?? 0);
    else if (firstStep < 0) firstStep = Number(json.funnelTable.rows[0].metricValues[0].value);
    rows.push({ case: c.name, p50ms: Number(median(times).toFixed(0)), maxMs: Number(Math.max(...times).toFixed(0)) });
  }
  server.close();
  console.table(rows);
  if (firstStep !== visitors) throw new Error(`first step ${firstStep} users, runReport ${visitors} users of first_visit`);
  process.stdout.write(`first step users = runReport's first_visit users = ${firstStep}\n`);
  return { engine: wh.dialect, cases: rows, firstStepUsers: firstStep };
}

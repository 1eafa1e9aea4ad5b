import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { FolderObjectStore } from '../src/infra/object-store/folder.object-store.js';
import { DuckDbTransformEngine } from '../src/infra/transform/duckdb.transform-engine.js';
import { DuckDbWarehouse } from '../src/infra/warehouse/duckdb.warehouse.js';
import { PostgresWarehouse } from '../src/infra/warehouse/postgres.warehouse.js';
import type { Warehouse } from '../src/infra/warehouse/warehouse.port.js';
import { createTestDatabase } from '../src/infra/metadata/test-database.testkit.js';
import { createReportRouter } from '../src/query/report.router.js';
import { ReportCache } from '../src/query/report-cache.js';
import { parseRunReportRequest } from '../src/query/report-request.js';
import { compileReport } from '../src/query/report-compiler.js';
import { runReport, type ReportStats } from '../src/query/report.service.js';
import { dialectFor } from '../src/query/sql-dialect.js';
import { dashboardWidgets, type Widget } from '../src/query/dashboard-widgets.testkit.js';
import { writeGeneratedTraffic } from '../src/infra/transform/raw-zone.testkit.js';
import { addDays, datesBetween } from '../src/domain/time-zone.js';
import { DEFAULT_PROPERTY_SETTINGS, type PropertySettings } from '../src/domain/property-settings.js';
import { TRANSFORMED_TABLE_NAMES, transformedKey } from '../src/domain/transformed-schema.js';

/**
 * The dashboard (src/query/dashboard-widgets.testkit.ts: the console's KPIs with comparison, time
 * series and breakdown tables) over a generated property of BENCH_EVENTS events in 30 days, beside
 * a 10k-event property in the same warehouse, on DuckDB and (with DATABASE_URL) PostgreSQL.
 * Per widget: cold p50/p95 through the HTTP API without a result cache, cached p50, the raw SQL
 * baseline (the detail tables' compiled SQL run straight on the warehouse), which path answered,
 * the rows of the tables it read in the range, and the 10k property's cold p50. At the end every
 * widget's API answer is compared with the detail path's (the reference computation, itself
 * checked against plain loops in report.service.*.test.ts). BENCH_EXPLAIN=1 writes EXPLAIN ANALYZE
 * of every widget's detail and rollup SQL to bench/results/explain-<engine>/.
 * Generated data is cached in BENCH_CACHE_DIR (default ~/.cache/tally-bench), outside the repo.
 */
export const EVENTS = Number(process.env.BENCH_EVENTS ?? 10_000_000);
const DAYS = 30;
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const CACHE_DIR = process.env.BENCH_CACHE_DIR ?? path.join(os.homedir(), '.cache', 'tally-bench');
const big: PropertySettings = { ...DEFAULT_PROPERTY_SETTINGS, keyEvents: ['purchase'], tenantId: 'bench', propertyId: '400000999' };
const small: PropertySettings = { ...big, propertyId: '400000010' };
/** The big property (bench/sql.bench.ts reads the same dataset). */
export const settings = big;
/** Where the big property's dataset of `events` events is generated and kept (keys resolve under CACHE_DIR). */
export const datasetDir = (events = EVENTS) => path.join(CACHE_DIR, `report-${events}`);
/** A warehouse object key (as loadAll passes it) to its file. */
export const resolveKey = (key: string) => path.join(CACHE_DIR, key);
const START = '2026-01-01';
const END = addDays(START, DAYS - 1);
const COMPLETE_UP_TO = new Date(`${END}T23:59:59Z`);
const WIDGETS = dashboardWidgets(START, END, addDays(START, -DAYS), addDays(START, -1));

interface Dataset {
  transformSeconds: number;
  generateSeconds?: number;
  rawEvents: number;
  transformedBytes: number;
  eventsWritten: number;
}

export async function dataset(dir: string, settings: PropertySettings = big, events = EVENTS, seed = 1): Promise<Dataset> {
  const marker = path.join(dir, 'dataset.json');
  if (fs.existsSync(marker)) return JSON.parse(fs.readFileSync(marker, 'utf8'));
  fs.rmSync(dir, { recursive: true, force: true });
  const store = new FolderObjectStore(path.join(dir, 'objects'));
  const visitorsPerDay = Math.max(1, Math.round(events / DAYS / 7.7));
  process.stdout.write(`generating ~${events} events of ${settings.propertyId} (${visitorsPerDay} visitors/day over ${DAYS} days) in ${dir}…\n`);
  const g0 = performance.now();
  const written = await writeGeneratedTraffic(store, settings, { seed, startDate: START, days: DAYS, timeZone: 'UTC', visitorsPerDay });
  const generateSeconds = (performance.now() - g0) / 1000;
  process.stdout.write(`  ${written} raw events in ${generateSeconds.toFixed(0)} s; transforming…\n`);
  const engine = new DuckDbTransformEngine(store, { tempDir: fs.mkdtempSync(path.join(os.tmpdir(), 'tally-bench-tmp-')) });
  const t0 = performance.now();
  const r = await engine.transform({ settings, dates: datesBetween(START, END) });
  const transformSeconds = (performance.now() - t0) / 1000;
  await engine.close();
  const transformedBytes = (await store.list('transformed/')).reduce((n, o) => n + o.size, 0);
  const out = { generateSeconds, transformSeconds, rawEvents: r.rawRead, transformedBytes, eventsWritten: r.eventsWritten };
  fs.writeFileSync(marker, JSON.stringify(out));
  return out;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * p))];
};
export const median = (xs: number[]) => pct(xs, 0.5);
const ms = (x: number) => Number(x.toFixed(1));

/** Loads both properties' partitions through the warehouse's load path (which builds the rollups). */
export async function loadAll(warehouse: Warehouse, stores: [PropertySettings, string][] = [[big, datasetDir()]]): Promise<number> {
  await warehouse.init();
  const t = performance.now();
  for (const [settings, dir] of stores) {
    for (const table of TRANSFORMED_TABLE_NAMES) {
      for (const date of datesBetween(START, END)) {
        const key = transformedKey(table, { ...settings, date });
        const file = path.join(dir, 'objects', key);
        const keys = fs.existsSync(file) ? [path.relative(CACHE_DIR, file)] : [];
        await warehouse.loadPartition(table, { tenantId: settings.tenantId, propertyId: settings.propertyId, date }, keys);
      }
    }
  }
  return (performance.now() - t) / 1000;
}

async function serve(warehouse: Warehouse, cache: ReportCache): Promise<{ url: (p: string) => string; close: () => void }> {
  const app = express();
  const settingsOf = (id: string) => (id === small.propertyId ? small : big);
  app.use(
    createReportRouter({
      warehouse,
      cache,
      authorize: async (_t, id) => settingsOf(id),
      completeUpTo: async () => COMPLETE_UP_TO,
      limits: { timeoutMs: 300_000 },
    }),
  );
  const server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return { url: (p) => `http://127.0.0.1:${port}/v1beta/properties/${p}:runReport`, close: () => server.close() };
}

async function timed(url: string, w: Widget, runs: number): Promise<{ times: number[]; body: unknown }> {
  const times: number[] = [];
  let body: unknown;
  for (let i = 0; i <= runs; i++) {
    const t = performance.now();
    const res = await fetch(url, { method: 'POST', body: JSON.stringify(w.body) });
    if (res.status !== 200) throw new Error(`${w.name}: ${res.status} ${await res.text()}`);
    body = await res.json();
    if (i > 0 || runs === 0) times.push(performance.now() - t);
  }
  return { times, body };
}

async function rowsRead(warehouse: Warehouse, tables: string[], settings: PropertySettings): Promise<number> {
  let n = 0;
  for (const t of tables) {
    const [r] = await warehouse.query<{ n: number }>(
      `SELECT COUNT(*) AS n FROM ${t} WHERE tenant_id = $1 AND property_id = $2 AND local_date BETWEEN CAST($3 AS DATE) AND CAST($4 AS DATE)`,
      [settings.tenantId, settings.propertyId, addDays(START, -DAYS), END],
    );
    n += Number(r.n);
  }
  return n;
}

async function explain(warehouse: Warehouse, engine: string): Promise<void> {
  const out = path.join(import.meta.dirname, 'results', `explain-${engine}`);
  fs.mkdirSync(out, { recursive: true });
  const d = dialectFor(warehouse.dialect);
  for (const w of WIDGETS) {
    for (const rollups of [false, true]) {
      const q = compileReport(parseRunReportRequest(w.body, { timeZone: 'UTC' }), big, d, { rollups }).rows;
      const prefix = warehouse.dialect === 'postgres' ? 'EXPLAIN (ANALYZE, BUFFERS) ' : 'EXPLAIN ANALYZE ';
      const rows = await warehouse.query<Record<string, unknown>>(prefix + q.sql, q.params);
      const text = rows.map((r) => Object.values(r).map(String).join('\n')).join('\n');
      fs.writeFileSync(path.join(out, `${w.name.replace(/[^a-z0-9]+/gi, '-')}.${rollups ? 'rollup' : 'detail'}.txt`), text);
    }
  }
  process.stdout.write(`EXPLAIN ANALYZE written to ${path.relative(process.cwd(), out)}\n`);
}

async function benchWarehouse(engine: string, warehouse: Warehouse, dirs: [PropertySettings, string][]) {
  const loadSeconds = await loadAll(warehouse, dirs);
  process.stdout.write(`${engine}: loaded in ${loadSeconds.toFixed(1)} s (rollups included)\n`);
  if (process.env.BENCH_EXPLAIN) await explain(warehouse, engine);
  const cold = await serve(warehouse, new ReportCache({ maxEntries: 0 }));
  const warm = await serve(warehouse, new ReportCache());
  const d = dialectFor(warehouse.dialect);
  const rows = [];
  const mismatches: string[] = [];
  try {
    for (const w of WIDGETS) {
      const c = await timed(cold.url(big.propertyId), w, RUNS);
      const h = await timed(warm.url(big.propertyId), w, RUNS);
      const s = await timed(cold.url(small.propertyId), w, RUNS);
      const raw = compileReport(parseRunReportRequest(w.body, { timeZone: 'UTC' }), big, d, { rollups: false }).rows;
      const rawTimes: number[] = [];
      for (let i = 0; i <= Math.min(RUNS, 3); i++) {
        const t = performance.now();
        await warehouse.query(raw.sql, raw.params);
        if (i > 0) rawTimes.push(performance.now() - t);
      }
      const stats: ReportStats = { cached: false, path: 'detail', tables: [] };
      const req = parseRunReportRequest(w.body, { timeZone: 'UTC' });
      await runReport(warehouse, big, req, { stats });
      const reference = await runReport(warehouse, big, req, { rollups: false, completeUpTo: COMPLETE_UP_TO });
      if (JSON.stringify(c.body) !== JSON.stringify(reference)) mismatches.push(w.name);
      if (JSON.stringify(h.body) !== JSON.stringify(reference)) mismatches.push(`${w.name} (cached)`);
      rows.push({
        widget: w.name,
        cold_p50_ms: ms(pct(c.times, 0.5)),
        cold_p95_ms: ms(pct(c.times, 0.95)),
        cached_p50_ms: ms(pct(h.times, 0.5)),
        raw_detail_sql_ms: ms(pct(rawTimes, 0.5)),
        path: stats.path,
        rows_scanned: await rowsRead(warehouse, stats.tables, big),
        small_10k_p50_ms: ms(pct(s.times, 0.5)),
      });
    }
  } finally {
    cold.close();
    warm.close();
  }
  process.stdout.write(`\n${engine}\n`);
  console.table(rows);
  process.stdout.write(
    mismatches.length ? `REFERENCE MISMATCH on ${engine}: ${mismatches.join(', ')}\n` : `${engine}: every widget equals the reference computation\n`,
  );
  return { load_seconds: Number(loadSeconds.toFixed(1)), widgets: rows, mismatches };
}

export async function run() {
  const dir = datasetDir();
  const smallDir = path.join(CACHE_DIR, 'report-small-10000');
  const ds = await dataset(dir, big, EVENTS, 1);
  const dsSmall = await dataset(smallDir, small, 10_000, 2);
  const dirs: [PropertySettings, string][] = [
    [big, dir],
    [small, smallDir],
  ];
  const duck = await DuckDbWarehouse.open({ path: ':memory:', resolve: resolveKey });
  let duckdb;
  try {
    duckdb = await benchWarehouse('duckdb', duck, dirs);
  } finally {
    await duck.close();
  }

  let postgres;
  if (process.env.DATABASE_URL && !process.env.BENCH_SKIP_POSTGRES) {
    const db = await createTestDatabase(process.env.DATABASE_URL, 'bench_wh');
    const w = new PostgresWarehouse({ url: db.url, store: new FolderObjectStore(CACHE_DIR) });
    try {
      postgres = await benchWarehouse('postgres', w, dirs);
    } finally {
      await w.close();
      await db.drop();
    }
  } else process.stdout.write('PostgreSQL warehouse skipped (DATABASE_URL unset or BENCH_SKIP_POSTGRES)\n');

  const transform = {
    events: ds.rawEvents,
    small_events: dsSmall.rawEvents,
    generate_seconds: ds.generateSeconds === undefined ? undefined : Number(ds.generateSeconds.toFixed(1)),
    transform_seconds: Number(ds.transformSeconds.toFixed(1)),
    bytes_per_event: Number((ds.transformedBytes / ds.eventsWritten).toFixed(1)),
    duckdb_load_seconds: duckdb.load_seconds,
    postgres_load_seconds: postgres?.load_seconds,
  };
  console.table([transform]);
  return { events: ds.rawEvents, days: DAYS, runs: RUNS, duckdb, postgres, transform };
}

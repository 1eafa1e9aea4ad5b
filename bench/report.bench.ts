import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { DuckDBInstance } from '@duckdb/node-api';
import { FolderObjectStore } from '../src/infra/object-store/folder.object-store.js';
import { DuckDbTransformEngine } from '../src/infra/transform/duckdb.transform-engine.js';
import { DuckDbWarehouse } from '../src/infra/warehouse/duckdb.warehouse.js';
import { PostgresWarehouse } from '../src/infra/warehouse/postgres.warehouse.js';
import type { Warehouse } from '../src/infra/warehouse/warehouse.port.js';
import { createTestDatabase } from '../src/infra/metadata/test-database.testkit.js';
import { createReportRouter } from '../src/query/report.router.js';
import { parseRunReportRequest } from '../src/query/report-request.js';
import { compileReport } from '../src/query/report-compiler.js';
import { duckdbDialect } from '../src/query/sql-dialect.js';
import { writeGeneratedTraffic } from '../src/infra/transform/raw-zone.testkit.js';
import { addDays, datesBetween } from '../src/domain/time-zone.js';
import { DEFAULT_PROPERTY_SETTINGS, type PropertySettings } from '../src/domain/property-settings.js';
import { TRANSFORMED_TABLE_NAMES, transformedKey } from '../src/domain/transformed-schema.js';

export const EVENTS = Number(process.env.BENCH_EVENTS ?? 10_000_000);
const DAYS = 30;
const RUNS = 5;
export const settings: PropertySettings = { ...DEFAULT_PROPERTY_SETTINGS, keyEvents: ['purchase'], tenantId: 'bench', propertyId: '400000999' };
const START = '2026-01-01';
const END = addDays(START, DAYS - 1);

/** The overview a dashboard opens with: trend, top pages, top sources, countries, devices. */
const OVERVIEW = [
  {
    name: 'trend',
    body: {
      dimensions: [{ name: 'date' }],
      metrics: [{ name: 'activeUsers' }, { name: 'sessions' }, { name: 'screenPageViews' }],
      orderBys: [{ dimension: { dimensionName: 'date' } }],
    },
  },
  { name: 'top pages', body: { dimensions: [{ name: 'pagePath' }], metrics: [{ name: 'screenPageViews' }, { name: 'activeUsers' }], limit: 10 } },
  {
    name: 'top sources',
    body: { dimensions: [{ name: 'sessionSource' }, { name: 'sessionMedium' }], metrics: [{ name: 'sessions' }, { name: 'engagementRate' }], limit: 10 },
  },
  { name: 'countries', body: { dimensions: [{ name: 'country' }], metrics: [{ name: 'activeUsers' }, { name: 'sessions' }], limit: 25 } },
  { name: 'devices', body: { dimensions: [{ name: 'deviceCategory' }], metrics: [{ name: 'activeUsers' }, { name: 'bounceRate' }] } },
].map((q) => ({ ...q, body: { ...q.body, dateRanges: [{ startDate: START, endDate: END }] } }));

export async function dataset(dir: string): Promise<{ transformSeconds: number; rawEvents: number; transformedBytes: number; eventsWritten: number }> {
  const marker = path.join(dir, 'dataset.json');
  if (fs.existsSync(marker)) return JSON.parse(fs.readFileSync(marker, 'utf8'));
  fs.rmSync(dir, { recursive: true, force: true });
  const store = new FolderObjectStore(path.join(dir, 'objects'));
  const visitorsPerDay = Math.max(1, Math.round(EVENTS / DAYS / 7.7));
  process.stdout.write(`generating ~${EVENTS} events (${visitorsPerDay} visitors/day over ${DAYS} days)…\n`);
  const written = await writeGeneratedTraffic(store, settings, { seed: 1, startDate: START, days: DAYS, timeZone: 'UTC', visitorsPerDay });
  process.stdout.write(`  ${written} raw events; transforming…\n`);
  const engine = new DuckDbTransformEngine(store, { tempDir: fs.mkdtempSync(path.join(os.tmpdir(), 'tally-bench-tmp-')) });
  const t0 = performance.now();
  const r = await engine.transform({ settings, dates: datesBetween(START, END) });
  const transformSeconds = (performance.now() - t0) / 1000;
  await engine.close();
  const transformedBytes = (await store.list('transformed/')).reduce((n, o) => n + o.size, 0);
  const out = { transformSeconds, rawEvents: r.rawRead, transformedBytes, eventsWritten: r.eventsWritten };
  fs.writeFileSync(marker, JSON.stringify(out));
  return out;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

export async function loadAll(warehouse: Warehouse): Promise<number> {
  await warehouse.init();
  const t = performance.now();
  for (const table of TRANSFORMED_TABLE_NAMES) {
    for (const date of datesBetween(START, END)) {
      await warehouse.loadPartition(table, { tenantId: settings.tenantId, propertyId: settings.propertyId, date }, [
        transformedKey(table, { ...settings, date }),
      ]);
    }
  }
  return (performance.now() - t) / 1000;
}

/** Median latency of each overview report through the HTTP API on `warehouse`. */
async function apiLatencies(warehouse: Warehouse): Promise<number[]> {
  const app = express();
  app.use(createReportRouter({ warehouse, authorize: async () => settings }));
  const server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1beta/properties/${settings.propertyId}:runReport`;
  const out: number[] = [];
  for (const q of OVERVIEW) {
    const times: number[] = [];
    for (let i = 0; i <= RUNS; i++) {
      const t = performance.now();
      const res = await fetch(url, { method: 'POST', body: JSON.stringify(q.body) });
      if (res.status !== 200) throw new Error(`${q.name}: ${res.status} ${await res.text()}`);
      await res.json();
      if (i > 0) times.push(performance.now() - t);
    }
    out.push(median(times));
  }
  server.close();
  return out;
}

export async function run() {
  const dir = path.join(os.tmpdir(), `tally-bench-report-${EVENTS}`);
  const ds = await dataset(dir);
  const store = new FolderObjectStore(path.join(dir, 'objects'));
  const duck = await DuckDbWarehouse.open({ path: ':memory:', resolve: (k) => store.locate(k) });
  const loadSeconds = await loadAll(duck);
  const api = await apiLatencies(duck);
  await duck.close();

  // the raw baseline: the same compiled SQL, straight in DuckDB over the same Parquet files
  const raw = await (await DuckDBInstance.create(':memory:')).connect();
  for (const table of TRANSFORMED_TABLE_NAMES) {
    await raw.run(
      `CREATE VIEW ${table} AS SELECT * FROM read_parquet('${path.join(dir, 'objects', 'transformed', table)}/**/*.parquet', hive_partitioning = false)`,
    );
  }
  const direct: number[] = [];
  for (const q of OVERVIEW) {
    const compiled = compileReport(parseRunReportRequest(q.body, { timeZone: settings.timeZone }), settings, duckdbDialect);
    const times: number[] = [];
    for (let i = 0; i <= RUNS; i++) {
      const t = performance.now();
      await raw.runAndReadAll(compiled.rows.sql, compiled.rows.params as never);
      if (i > 0) times.push(performance.now() - t);
    }
    direct.push(median(times));
  }

  // the same overview on the PostgreSQL warehouse, when the services profile is up
  let pg: { load_seconds: number; api: number[] } | null = null;
  if (process.env.DATABASE_URL) {
    const db = await createTestDatabase(process.env.DATABASE_URL, 'bench_wh');
    const w = new PostgresWarehouse({ url: db.url, store });
    try {
      const load = await loadAll(w);
      pg = { load_seconds: Number(load.toFixed(1)), api: await apiLatencies(w) };
    } finally {
      await w.close();
      await db.drop();
    }
  } else process.stdout.write('DATABASE_URL not set (eval "$(scripts/services env)"): PostgreSQL warehouse skipped\n');

  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const rows = [
    ...OVERVIEW.map((q, i) => [q.name, api[i], direct[i], pg?.api[i]] as const),
    ['overview (sum)', sum(api), sum(direct), pg ? sum(pg.api) : undefined] as const,
  ].map(([report, a, d, p]) => ({
    report,
    api_ms: Number(a.toFixed(1)),
    raw_duckdb_ms: Number(d.toFixed(1)),
    ratio: Number((a / d).toFixed(2)),
    ...(p !== undefined ? { postgres_api_ms: Number(p.toFixed(1)), postgres_vs_duckdb: Number((p / a).toFixed(2)) } : {}),
  }));
  console.table(rows);
  const transform = {
    events: ds.rawEvents,
    seconds: Number(ds.transformSeconds.toFixed(1)),
    events_per_s: Math.round(ds.rawEvents / ds.transformSeconds),
    bytes_per_event: Number((ds.transformedBytes / ds.eventsWritten).toFixed(1)),
    duckdb_load_seconds: Number(loadSeconds.toFixed(1)),
    postgres_load_seconds: pg?.load_seconds,
  };
  console.table([transform]);
  return { events: ds.rawEvents, days: DAYS, runs: RUNS, overview: rows, transform };
}

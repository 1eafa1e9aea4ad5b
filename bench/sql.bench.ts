import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { tableFromIPC } from 'apache-arrow';
import { DuckDbWarehouse } from '../src/infra/warehouse/duckdb.warehouse.js';
import { TRANSFORMED_TABLE_NAMES } from '../src/domain/transformed-schema.js';
import { postSql, startSqlApp } from '../src/query/sql/sql-app.testkit.js';
import { dataset, datasetDir, EVENTS, loadAll, median, resolveKey, settings } from './report.bench.js';

const RUNS = 7;
const GROUP_BY = `SELECT page_path, device_category, count(*) AS events, count(DISTINCT client_id) AS clients
  FROM events WHERE is_page_view GROUP BY page_path, device_category ORDER BY events DESC LIMIT 100`;
const STREAM = 'SELECT event_id, event_name, event_ms, page_path, country, device_category FROM events';
const STREAM_ROWS = Number(process.env.BENCH_SQL_ROWS ?? 1_000_000);

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];

/**
 * `npm run bench -- sql`: `POST /v1/sql` on the DuckDB warehouse over the report bench's dataset
 * (BENCH_EVENTS, default 10M, generated once under BENCH_CACHE_DIR, shared with the report bench): a GROUP BY's p50/p95 through
 * the API against the same SQL straight in DuckDB over the same Parquet (the ratio is the API's
 * cost: parse, check, views, JSON), and rows per second of a large result as an Arrow stream.
 */
export async function run() {
  const dir = datasetDir();
  await dataset(dir);
  const wh = await DuckDbWarehouse.open({ path: ':memory:', resolve: resolveKey });
  await loadAll(wh);
  const app = await startSqlApp(wh, { bench: { tenantId: settings.tenantId, propertyId: settings.propertyId } }, { maxRows: STREAM_ROWS, timeoutMs: 600_000 });

  const api: number[] = [];
  for (let i = 0; i <= RUNS; i++) {
    const t = performance.now();
    const res = await postSql(app.base, 'bench', { query: GROUP_BY });
    if (res.status !== 200) throw new Error(`sql: ${res.status} ${await res.text()}`);
    await res.json();
    if (i > 0) api.push(performance.now() - t);
  }

  const t = performance.now();
  const res = await postSql(app.base, 'bench', { query: STREAM, maxRows: STREAM_ROWS }, 'application/vnd.apache.arrow.stream');
  const bytes = new Uint8Array(await res.arrayBuffer());
  const streamSeconds = (performance.now() - t) / 1000;
  const streamed = tableFromIPC(bytes).numRows;
  await app.close();
  await wh.close();

  // the baseline: the same GROUP BY straight in DuckDB over the same Parquet files
  const raw = await (await DuckDBInstance.create(':memory:')).connect();
  for (const table of TRANSFORMED_TABLE_NAMES) {
    await raw.run(
      `CREATE VIEW ${table} AS SELECT * FROM read_parquet('${path.join(dir, 'objects', 'transformed', table)}/**/*.parquet', hive_partitioning = false)`,
    );
  }
  const direct: number[] = [];
  for (let i = 0; i <= RUNS; i++) {
    const t0 = performance.now();
    await raw.runAndReadAll(GROUP_BY);
    if (i > 0) direct.push(performance.now() - t0);
  }
  raw.closeSync();

  const result = {
    events: EVENTS,
    groupBy: { apiP50Ms: median(api), apiP95Ms: pct(api, 0.95), duckdbP50Ms: median(direct), ratio: median(api) / median(direct) },
    arrow: { rows: streamed, bytes: bytes.length, seconds: streamSeconds, rowsPerSecond: streamed / streamSeconds },
  };
  process.stdout.write(
    `GROUP BY over ${EVENTS} events: API p50 ${result.groupBy.apiP50Ms.toFixed(0)} ms, p95 ${result.groupBy.apiP95Ms.toFixed(0)} ms; ` +
      `DuckDB p50 ${result.groupBy.duckdbP50Ms.toFixed(0)} ms; ratio ${result.groupBy.ratio.toFixed(2)}\n` +
      `Arrow stream: ${streamed} rows, ${(bytes.length / 1e6).toFixed(1)} MB in ${streamSeconds.toFixed(2)} s = ${Math.round(result.arrow.rowsPerSecond)} rows/s\n`,
  );
  return result;
}

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { checkTimeZone, listRawKeys, offsetSegments, transformParams, transformWindow } from './raw-window.js';
import { duckdbTransformDialect } from './transform-dialect.js';
import { transformedKey, TRANSFORMED_TABLE_NAMES, TRANSFORMED_TABLES, type TransformedTable } from '../../domain/transformed-schema.js';
import type { ObjectStore } from '../object-store/object-store.port.js';
import { compactPartition, type CycleContext, runCycles } from './duckdb.transform-cycle.js';
import { forgetIndex } from './cycle-id-index.js';
import { type PhaseTimer, phaseTimer } from './cycle-timings.js';
import { propertyKey } from './cycle-state.js';
import type { PropertySettings } from '../../domain/property-settings.js';
import type { CycleRequest, CycleResult, IncrementalTransformEngine, TransformRequest, TransformResult, WrittenPartition } from './transform-engine.port.js';
import { ATTRIBUTION_PARAMS, createDimTable, enrichmentRows, rulesById } from './enrichment-dims.js';
import { loadPriorTouches, lookbackSessionKeys } from './prior-touch.js';

export { offsetSegments };
import * as sql from './transform.sql.js';

export interface DuckDbTransformEngineOptions {
  /** Where partitions are staged before upload and DuckDB spills; default the OS temp dir. */
  tempDir?: string;
  threads?: number;
  /** DuckDB memory limit, e.g. '2GB'; beyond it DuckDB spills to its temp dir under `tempDir`. */
  memoryLimit?: string;
  /** How far before its receipt an event may lie without being late for a cycle; default 10 min. */
  lateAllowanceMs?: number;
  /** Profiling: receives one line per cycle or transform with each phase's milliseconds (`cycle-timings.ts`). */
  timings?: (line: string) => void;
}

export const DEFAULT_LATE_ALLOWANCE_MS = 10 * 60_000;

type Cell = string | boolean | bigint | null;

/** Raw zone -> transformed zone on embedded DuckDB (the statements are in transform.sql.ts, shared with Spark). */
export class DuckDbTransformEngine implements IncrementalTransformEngine {
  private instance: Promise<DuckDBInstance> | null = null;
  private spillDir: string | null = null;
  private running: Promise<unknown> = Promise.resolve();
  private copies = 0;

  constructor(
    private readonly store: ObjectStore,
    private readonly opts: DuckDbTransformEngineOptions = {},
  ) {}

  async transform(request: TransformRequest, onProgress?: (done: number, total: number) => void): Promise<TransformResult> {
    const { settings } = request;
    const window = transformWindow(settings, request.dates);
    if (!window) return { partitions: [], rawRead: 0, eventsWritten: 0 };
    const { dates } = window;

    const params = transformParams(settings, window, ATTRIBUTION_PARAMS);
    // listing, reading, each statement, each partition written
    const total = 2 + sql.transformSteps(duckdbTransformDialect, params).length + TRANSFORMED_TABLE_NAMES.length * dates.length;
    let done = 0;
    const step = () => onProgress?.(++done, total);

    const lap = phaseTimer(this.opts.timings);
    const keys = await listRawKeys(this.store, settings, window);
    step();
    lap.mark('list');

    const conn = await (await this.db()).connect();
    const stage = await mkdtemp(join(this.opts.tempDir ?? tmpdir(), 'tally-transform-'));
    try {
      await conn.run(sql.createRaw(await this.readablePaths(keys, stage)));
      const rawRead = await count(conn, 'SELECT count(*) FROM raw');
      // last non-direct click: each user's latest non-direct session in the lookback before the window
      const earlier = await lookbackSessionKeys(this.store, settings, window.startMs);
      await loadPriorTouches(conn, settings, await this.readablePaths(earlier, stage), window.startMs);
      step();
      lap.mark('read_json');

      await runStatements(conn, params, step, lap);

      const partitions: WrittenPartition[] = [];
      const rowCounts = {
        events: await partitionCounts(conn, 'facts'),
        sessions: await partitionCounts(conn, 'sessions_out'),
        identities: await partitionCounts(conn, 'identities_out'),
        items: await partitionCounts(conn, 'items_out'),
      };
      // the dates' files change outside a cycle: the event-id index of the property is rebuilt at its next one
      await forgetIndex(conn, settings);
      for (const date of dates) {
        for (const table of TRANSFORMED_TABLE_NAMES) {
          const key = transformedKey(table, { ...settings, date });
          const path = join(stage, `${table}-${date}.parquet`);
          const { columns, orderBy } = TRANSFORMED_TABLES[table];
          await conn.run(sql.copyPartition({ table: sql.OUT_VIEWS[table], columns, date, orderBy: orderBy.join(', '), path }));
          await this.store.put(key, await readFile(path));
          await rm(path);
          // replaced whole: no file of an incremental cycle stays beside it
          const others = (await this.store.list(key.slice(0, key.lastIndexOf('/') + 1))).map((o) => o.key).filter((k) => k !== key);
          await this.store.delete(others);
          lap.mark(`write_${table}`);
          const rows = rowCounts[table].get(date) ?? 0;
          partitions.push({ table, date, keys: [key], rows });
          step();
        }
      }
      const eventsWritten = partitions.filter((p) => p.table === 'events').reduce((n, p) => n + p.rows, 0);
      lap.done(`transform of ${rawRead} records, ${dates.length} dates`);
      return { partitions, rawRead, eventsWritten };
    } finally {
      conn.closeSync();
      await rm(stage, { recursive: true, force: true });
    }
  }

  /** One incremental cycle: what arrived since the last one, plus the open sessions' state. */
  async cycle(request: CycleRequest): Promise<CycleResult> {
    return (await this.cycleMany([request]))[0];
  }

  /**
   * One cycle for many properties: one run of the statements over all of them (each property's
   * settings joined in as data). A property whose cycle must rebuild (late events) then runs
   * alone. Results in the requests' order.
   */
  cycleMany(requests: CycleRequest[]): Promise<CycleResult[]> {
    for (const r of requests) checkTimeZone(r.settings.timeZone);
    return this.serially(async () => {
      const results = new Map<string, CycleResult>();
      const next: CycleRequest[][] = requests.length ? [requests] : [];
      while (next.length) {
        const batch = next.shift()!;
        const r = await this.withStage('tally-cycle-', (ctx) => runCycles(ctx, batch));
        for (const [k, v] of r.results) results.set(k, v);
        next.push(...r.deferred.map((d) => [d]));
      }
      return requests.map((r) => results.get(propertyKey(r.settings))!);
    });
  }

  private async withStage<T>(prefix: string, fn: (ctx: CycleContext) => Promise<T>): Promise<T> {
    const conn = await (await this.db()).connect();
    const stage = await mkdtemp(join(this.opts.tempDir ?? tmpdir(), prefix));
    try {
      return await fn({
        store: this.store,
        conn,
        stage,
        lateAllowanceMs: this.opts.lateAllowanceMs ?? DEFAULT_LATE_ALLOWANCE_MS,
        readablePaths: (keys) => this.readablePaths(keys, stage),
        runStatements: (params) => runStatements(conn, params),
        timings: this.opts.timings,
      });
    } finally {
      conn.closeSync();
      await rm(stage, { recursive: true, force: true });
    }
  }

  compact(settings: PropertySettings, table: TransformedTable, date: string): Promise<{ keys: string[]; obsolete: string[]; rows: number } | null> {
    return this.serially(() => this.withStage('tally-compact-', (ctx) => compactPartition(ctx, settings, table, date)));
  }

  /**
   * One cycle (of any batch of properties) or compaction at a time in this process: a scheduled
   * pipeline and a `jobs run` (or the transform and pipeline jobs) must not both read the same state.
   */
  private serially<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.running.then(fn, fn);
    this.running = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    const instance = this.instance;
    this.instance = null;
    if (instance) (await instance).closeSync();
    if (this.spillDir) await rm(this.spillDir, { recursive: true, force: true });
    this.spillDir = null;
  }

  private db(): Promise<DuckDBInstance> {
    this.instance ??= (async () => {
      this.spillDir = await mkdtemp(join(this.opts.tempDir ?? tmpdir(), 'tally-duckdb-'));
      const options: Record<string, string> = {
        temp_directory: this.spillDir,
        autoinstall_known_extensions: 'false',
      };
      if (this.opts.threads) options.threads = String(this.opts.threads);
      if (this.opts.memoryLimit) options.memory_limit = this.opts.memoryLimit;
      return DuckDBInstance.create(':memory:', options);
    })();
    return this.instance;
  }

  /** Local paths DuckDB can scan: the store's own when it is a folder, else downloaded copies. */
  private async readablePaths(keys: string[], stage: string): Promise<string[]> {
    const paths: string[] = [];
    for (const key of keys) {
      const location = this.store.locate(key);
      if (isAbsolute(location)) {
        paths.push(location);
        continue;
      }
      const body = await this.store.get(key);
      if (body === null) continue; // deleted since it was listed
      // keep the extension: DuckDB picks the reader and the decompression by it
      const dot = key.lastIndexOf('.ndjson');
      const copy = join(stage, `obj-${this.copies++}${dot >= 0 ? key.slice(dot) : key.slice(key.lastIndexOf('.'))}`);
      paths.push(copy);
      await writeFile(copy, body);
    }
    return paths;
  }
}

/** Runs the shared transform statements (transform.sql.ts) over the table `raw`, enriching with each property's rules. */
async function runStatements(conn: DuckDBConnection, params: sql.TransformParams, step?: () => void, lap?: PhaseTimer): Promise<void> {
  // the properties' own rules (bot patterns, channel group, internal traffic), compiled once per run
  const rules = rulesById(params.properties);
  for (const s of sql.transformSteps(duckdbTransformDialect, params)) {
    if (s.kind === 'enrich') {
      await conn.run(createDimTable(s.dim));
      await append(conn, `${s.dim}_dim`, enrichmentRows(s.dim, await strings(conn, s.keys), rules));
    } else {
      await conn.run(`CREATE OR REPLACE TEMP ${s.materialize ? 'TABLE' : 'VIEW'} ${s.name} AS ${s.sql}`);
    }
    step?.();
    lap?.mark(s.kind === 'enrich' ? `${s.dim}_dim` : s.name);
  }
}

async function strings(conn: DuckDBConnection, query: string): Promise<(string | null)[][]> {
  const reader = await conn.runAndReadAll(query);
  return reader.getRows().map((row) => row.map((v) => (v === null ? null : String(v))));
}

async function count(conn: DuckDBConnection, query: string): Promise<number> {
  const reader = await conn.runAndReadAll(query);
  return Number(reader.getRows()[0][0]);
}

async function partitionCounts(conn: DuckDBConnection, table: 'facts' | 'sessions_out' | 'identities_out' | 'items_out'): Promise<Map<string, number>> {
  const reader = await conn.runAndReadAll(sql.partitionCounts(table));
  return new Map(reader.getRows().map(([d, n]) => [String(d), Number(n)]));
}

async function append(conn: DuckDBConnection, table: string, rows: Cell[][]): Promise<void> {
  const appender = await conn.createAppender(table, 'main', 'temp');
  try {
    for (const row of rows) {
      for (const v of row) {
        if (v === null) appender.appendNull();
        else if (typeof v === 'boolean') appender.appendBoolean(v);
        else if (typeof v === 'bigint') appender.appendBigInt(v);
        else appender.appendVarchar(v);
      }
      appender.endRow();
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
}

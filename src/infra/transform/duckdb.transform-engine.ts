import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { tzOffsetMs } from '../../domain/time-zone.js';
import { listRawKeys, transformWindow } from './raw-window.js';
import { transformedKey, TRANSFORMED_TABLE_NAMES, TRANSFORMED_TABLES, type TransformedTable } from '../../domain/transformed-schema.js';
import type { ObjectStore } from '../object-store/object-store.port.js';
import type {
  TransformEngine,
  TransformRequest,
  TransformResult,
  WrittenPartition,
} from './transform-engine.port.js';
import { ATTRIBUTION_PARAMS, enrichmentRows } from './enrichment-dims.js';
import * as sql from './transform.sql.js';

const HOUR_MS = 3_600_000;
const OUT_VIEWS = { events: 'events_out', sessions: 'sessions_out', identities: 'identities_out' } as const satisfies Record<TransformedTable, string>;

export interface DuckDbTransformEngineOptions {
  /** Where partitions are staged before upload and DuckDB spills; default the OS temp dir. */
  tempDir?: string;
  threads?: number;
  /** DuckDB memory limit, e.g. '2GB'. */
  memoryLimit?: string;
}

type Cell = string | boolean | bigint | null;

/** Raw zone -> transformed zone on embedded DuckDB (the SQL is in transform.sql.ts). */
export class DuckDbTransformEngine implements TransformEngine {
  private instance: Promise<DuckDBInstance> | null = null;
  private spillDir: string | null = null;

  constructor(
    private readonly store: ObjectStore,
    private readonly opts: DuckDbTransformEngineOptions = {},
  ) {}

  async transform(request: TransformRequest, onProgress?: (done: number, total: number) => void): Promise<TransformResult> {
    const { settings } = request;
    const window = transformWindow(settings, request.dates);
    if (!window) return { partitions: [], rawRead: 0, eventsWritten: 0 };
    const { dates, startMs, endMs } = window;

    const total = 8 + TRANSFORMED_TABLE_NAMES.length * dates.length;
    let done = 0;
    const step = () => onProgress?.(++done, total);

    const keys = await listRawKeys(this.store, settings, window);
    step();

    const conn = await (await this.db()).connect();
    const stage = await mkdtemp(join(this.opts.tempDir ?? tmpdir(), 'tally-transform-'));
    try {
      await conn.run(sql.createRaw(await this.readablePaths(keys, stage)));
      const rawRead = await count(conn, 'SELECT count(*) FROM raw');
      step();

      await conn.run(
        sql.createKept({ tenantId: settings.tenantId, propertyId: settings.propertyId, startMs, endMs }),
      );
      step();

      await this.enrich(conn, 'ua', sql.createUaDim, sql.distinctUserAgents);
      step();
      await this.enrich(conn, 'url', sql.createUrlDim, sql.distinctUrls);
      await conn.run(sql.createTzDim);
      const offsets = offsetSegments(settings.timeZone, startMs, endMs);
      await append(conn, 'tz_dim', offsets.map(([from, offset]) => [BigInt(from), BigInt(offset)]));
      step();

      await conn.run(sql.createSessions({ timeoutMs: settings.sessionTimeoutMinutes * 60_000 }));
      await conn.run(sql.createSessionFirst(ATTRIBUTION_PARAMS));
      step();
      // once per distinct (url, referrer, campaign params) of the sessions' first events
      await this.enrich(conn, 'attr', sql.createAttrDim, sql.distinctAttributionKeys);
      step();

      await conn.run(sql.createSessionAttribution);
      await conn.run(sql.createFacts({ keyEvents: settings.keyEvents }));
      await conn.run(sql.createEventsOut);
      await conn.run(sql.createSessionsOut({ engagedSessionSeconds: settings.engagedSessionSeconds }));
      await conn.run(sql.createIdentitiesOut);
      step();

      const partitions: WrittenPartition[] = [];
      const rowCounts = {
        events: await partitionCounts(conn, 'facts'),
        sessions: await partitionCounts(conn, 'sessions_out'),
        identities: await partitionCounts(conn, 'identities_out'),
      };
      for (const date of dates) {
        for (const table of TRANSFORMED_TABLE_NAMES) {
          const key = transformedKey(table, { ...settings, date });
          const path = join(stage, `${table}-${date}.parquet`);
          const { columns, orderBy } = TRANSFORMED_TABLES[table];
          await conn.run(sql.copyPartition({ table: OUT_VIEWS[table], columns, date, orderBy: orderBy.join(', '), path }));
          await this.store.put(key, await readFile(path));
          await rm(path);
          const rows = rowCounts[table].get(date) ?? 0;
          partitions.push({ table, date, keys: [key], rows });
          step();
        }
      }
      const eventsWritten = partitions.filter((p) => p.table === 'events').reduce((n, p) => n + p.rows, 0);
      return { partitions, rawRead, eventsWritten };
    } finally {
      conn.closeSync();
      await rm(stage, { recursive: true, force: true });
    }
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

  /** One lookup row per distinct key of `distinct`, computed by the shared enrichment (enrichment-dims.ts). */
  private async enrich(conn: DuckDBConnection, name: 'ua' | 'url' | 'attr', create: string, distinct: string): Promise<void> {
    await conn.run(create);
    await append(conn, `${name}_dim`, enrichmentRows(name, await strings(conn, distinct)));
  }

  /** Local paths DuckDB can scan: the store's own when it is a folder, else downloaded copies. */
  private async readablePaths(keys: string[], stage: string): Promise<string[]> {
    const paths: string[] = [];
    for (const [i, key] of keys.entries()) {
      const location = this.store.locate(key);
      if (isAbsolute(location)) {
        paths.push(location);
        continue;
      }
      const body = await this.store.get(key);
      if (body === null) continue; // deleted since it was listed
      // keep the extension: DuckDB picks the decompression by it
      const copy = join(stage, `raw-${i}${key.slice(key.lastIndexOf('.ndjson'))}`);
      paths.push(copy);
      await writeFile(copy, body);
    }
    return paths;
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

async function partitionCounts(conn: DuckDBConnection, table: 'facts' | 'sessions_out' | 'identities_out'): Promise<Map<string, number>> {
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

/** The zone's offsets over [fromMs, toMs) as (from_ms, offset_ms) rows, for an ASOF join. */
export function offsetSegments(timeZone: string, fromMs: number, toMs: number): [number, number][] {
  let current = tzOffsetMs(fromMs, timeZone);
  const out: [number, number][] = [[Number.MIN_SAFE_INTEGER, current]];
  for (let t = fromMs + HOUR_MS; t < toMs + HOUR_MS; t += HOUR_MS) {
    const next = tzOffsetMs(t, timeZone);
    if (next === current) continue;
    let lo = t - HOUR_MS; // old offset
    let hi = t; // new offset
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (tzOffsetMs(mid, timeZone) === current) lo = mid;
      else hi = mid;
    }
    out.push([hi, next]);
    current = next;
  }
  return out;
}

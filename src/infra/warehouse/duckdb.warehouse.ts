import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  DuckDBConnection,
  DuckDBDateValue,
  type DuckDBResultReader,
  DuckDBDecimalValue,
  DuckDBInstance,
  DuckDBTimestampValue,
  type DuckDBValue,
} from '@duckdb/node-api';
import { missingColumns, TRANSFORMED_TABLES, type Column } from '../../domain/transformed-schema.js';
import { TallyError } from '../errors.js';
import type { ObjectStore } from '../object-store/object-store.port.js';
import { localObjectPaths } from './local-objects.js';
import { rebuildRollups, rollupDdl, sessionSpanDays, type RollupRunner } from './rollups.sql.js';
import type { PartitionLoad, PartitionRef, QueryOptions, SandboxLimits, SandboxResult, SandboxScope, Warehouse, WarehouseTable } from './warehouse.port.js';
import { sandboxStatement, sandboxStatementError } from './sandbox-views.js';
import { DUCKDB_TYPES } from '../column-types.js';
import type { FxRate } from '../fx/ecb-rates.js';
import { bundledFxRows, FX_TABLE, fxCreateTable, fxInserts, fxRows } from './fx-rates.sql.js';

/** The batch's rows of one table, read once from its files. */
const STAGE = 'tally_load_stage';
const TABLES = Object.fromEntries(Object.entries(TRANSFORMED_TABLES).map(([t, { columns }]) => [t, columns])) as Record<WarehouseTable, readonly Column[]>;

export type DuckDbWarehouseOptions = {
  /** A database file, or ':memory:'. */
  path: string;
  /**
   * Report queries running at once, each on its own connection (default 3). Node runs each
   * DuckDB call on one of libuv's 4 pool threads; keep one of those for everything else.
   */
  readers?: number;
  /** Scratch space for objects fetched from a remote store during a load (default: the OS's). */
  tempDir?: string;
} & (
  | {
      /** Where partition objects are: local files are read in place, others (S3) fetched through the port. */
      store: Pick<ObjectStore, 'locate' | 'get'>;
    }
  | {
      /** Object key -> a local path DuckDB can read. */
      resolve: (objectKey: string) => string;
    }
);

/**
 * The embedded warehouse: DuckDB tables `events`, `sessions` and `identities` with exactly the
 * transformed-zone columns. Loads (and `init`) run one at a time on a writer connection, each
 * load (or batch of loads) one transaction; report queries run on up to `readers` other connections at once and
 * see, by DuckDB's MVCC, a partition's old rows or its new ones, never a mix.
 */
export class DuckDbWarehouse implements Warehouse {
  readonly dialect = 'duckdb' as const;
  readonly rollups = true;
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;
  private readonly idle: DuckDBConnection[] = [];
  private readonly all: DuckDBConnection[] = [];
  private opened = 0;
  private readonly waiting: ((c: DuckDBConnection) => void)[] = [];
  private readonly inFlight = new Set<Promise<unknown>>();

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly conn: DuckDBConnection,
    private readonly store: Pick<ObjectStore, 'locate' | 'get'>,
    private readonly readers: number,
    private readonly tempDir: string,
  ) {}

  static async open(opts: DuckDbWarehouseOptions): Promise<DuckDbWarehouse> {
    if (opts.path !== ':memory:') await mkdir(dirname(opts.path), { recursive: true });
    const instance = await DuckDBInstance.create(opts.path);
    const conn = await instance.connect();
    const store = 'store' in opts ? opts.store : { locate: opts.resolve, get: (k: string) => readFile(opts.resolve(k)).catch(() => null) };
    return new DuckDbWarehouse(instance, conn, store, Math.max(1, opts.readers ?? 3), opts.tempDir ?? tmpdir());
  }

  init(): Promise<void> {
    return this.serial(async () => {
      for (const [table, columns] of Object.entries(TABLES)) {
        const cols = columns.map((c) => `${c.name} ${DUCKDB_TYPES[c.type]}`).join(', ');
        await this.conn.run(`CREATE TABLE IF NOT EXISTS ${table} (${cols})`);
        // a contract column added since the table was created (e.g. sessions' collected_*), appended as in the contract
        const have = await this.conn.runAndReadAll(
          `SELECT column_name FROM information_schema.columns WHERE table_schema = 'main' AND table_name = '${table}'`,
        );
        for (const c of missingColumns(
          columns,
          have.getRows().map((r) => String(r[0])),
        )) {
          await this.conn.run(`ALTER TABLE ${table} ADD COLUMN ${c.name} ${DUCKDB_TYPES[c.type]}`);
        }
      }
      for (const ddl of rollupDdl(DUCKDB_TYPES, false)) await this.conn.run(ddl);
      await this.conn.run(fxCreateTable({ date: 'DATE', text: 'VARCHAR', double: 'DOUBLE' }));
      const reader = await this.conn.runAndReadAll(`SELECT count(*) FROM ${FX_TABLE}`);
      if (Number(reader.getRows()[0][0]) === 0) await this.writeRates(bundledFxRows());
    });
  }

  replaceRates(published: readonly FxRate[]): Promise<{ rows: number }> {
    return this.serial(() => this.writeRates(fxRows(published)));
  }

  private async writeRates(rows: readonly FxRate[]): Promise<{ rows: number }> {
    const inserts = fxInserts(rows);
    await this.conn.run('BEGIN TRANSACTION');
    try {
      await this.conn.run(`DELETE FROM ${FX_TABLE}`);
      for (const sql of inserts) await this.conn.run(sql);
      await this.conn.run('COMMIT');
      return { rows: rows.length };
    } catch (err) {
      await this.conn.run('ROLLBACK');
      throw err;
    }
  }

  async loadPartition(table: WarehouseTable, partition: PartitionRef, objectKeys: string[]): Promise<{ rows: number }> {
    return this.loadPartitions([{ table, partition, objectKeys }]).then((r) => r[0]);
  }

  /**
   * Every load of the batch in one transaction on the writer connection, set-based: per table
   * one check that each file holds only its partition's rows, one DELETE of the partitions, one
   * INSERT of their files, then the rollups of every affected day (one statement per rollup
   * table). A partition loaded twice in the batch keeps its last load, as one by one.
   */
  async loadPartitions(loads: readonly PartitionLoad[]): Promise<{ rows: number }[]> {
    for (const l of loads) {
      if (!TABLES[l.table]) throw new TallyError('invalid_argument', `unknown warehouse table ${String(l.table)}`);
      if (!/^\d{4}-\d{2}-\d{2}$/.test(l.partition.date)) {
        throw new TallyError('invalid_argument', `partition date must be YYYY-MM-DD, got ${l.partition.date}`);
      }
    }
    return this.serial(async () => {
      const keys = loads.flatMap((l) => l.objectKeys);
      const scratch = keys.length > 0 ? await mkdtemp(join(this.tempDir, 'tally-duck-load-')) : null;
      try {
        const all = keys.length > 0 ? await localObjectPaths(this.store, keys, scratch!) : [];
        let at = 0;
        const files = loads.map((l) => all.slice(at, (at += l.objectKeys.length)));
        await this.conn.run('BEGIN TRANSACTION');
        try {
          const rows = await this.replace(loads, files);
          await this.conn.run('COMMIT');
          return rows;
        } catch (err) {
          await this.conn.run('ROLLBACK');
          throw err;
        }
      } finally {
        if (scratch) await rm(scratch, { recursive: true, force: true });
      }
    });
  }

  /** The batch's swaps and rollups, inside the caller's transaction; rows per load. */
  private async replace(loads: readonly PartitionLoad[], files: string[][]): Promise<{ rows: number }[]> {
    const rollups: RollupRunner = {
      types: DUCKDB_TYPES,
      run: async (sql, params) => void (await this.conn.run(sql, params.map(toDuckValue))),
      rows: async (sql, params) => (await this.conn.runAndReadAll(sql, params.map(toDuckValue))).getRows(),
      clustered: true,
    };
    const spanBefore = await sessionSpanDays(rollups, loads);
    // the last load of each partition wins, as if loaded one by one
    const last = new Map<string, number>();
    loads.forEach((l, i) => last.set([l.table, l.partition.tenantId, l.partition.propertyId, l.partition.date].join('\u0000'), i));
    const rowsPerFile = new Map<string, number>();
    for (const table of Object.keys(TABLES) as WarehouseTable[]) {
      const mine = [...last.values()].filter((i) => loads[i].table === table);
      if (mine.length === 0) continue;
      const parts = mine.map((i) => loads[i].partition);
      const partsSql = `(VALUES ${parts.map((p) => `(${sqlString(p.tenantId)}, ${sqlString(p.propertyId)}, CAST(${sqlString(p.date)} AS DATE))`).join(', ')}) AS k(tenant_id, property_id, local_date)`;
      const owned = mine.flatMap((i) => files[i].map((f) => ({ f, p: loads[i].partition })));
      const columns = TABLES[table];
      const names = columns.map((c) => quoteIdent(c.name)).join(', ');
      if (owned.length > 0) {
        // the files are read once, into a staging table that keeps each row's file
        const select = columns.map((c) => `CAST(${quoteIdent(c.name)} AS ${DUCKDB_TYPES[c.type]}) AS ${quoteIdent(c.name)}`).join(', ');
        await this.conn.run(
          `CREATE OR REPLACE TEMP TABLE ${STAGE} AS SELECT ${select}, filename AS ${STAGE}_file
             FROM read_parquet([${owned.map((o) => sqlString(o.f)).join(', ')}], union_by_name = true, filename = true)`,
        );
        const owners = `(VALUES ${owned.map((o) => `(${sqlString(o.f)}, ${sqlString(o.p.tenantId)}, ${sqlString(o.p.propertyId)}, CAST(${sqlString(o.p.date)} AS DATE))`).join(', ')}) AS o(f, tenant_id, property_id, local_date)`;
        // A partition's files must hold only that partition: anything else would survive the
        // next replacement and be counted twice.
        const counts = await this.conn.runAndReadAll(
          `SELECT o.f, count(r.${STAGE}_file), count(r.${STAGE}_file) FILTER (WHERE r.tenant_id IS DISTINCT FROM o.tenant_id
              OR r.property_id IS DISTINCT FROM o.property_id OR r.local_date IS DISTINCT FROM o.local_date)
             FROM ${owners} LEFT JOIN ${STAGE} r ON r.${STAGE}_file = o.f GROUP BY o.f`,
        );
        for (const [f, n, stray] of counts.getRows()) {
          if (Number(stray) > 0) {
            const p = owned.find((o) => o.f === f)!.p;
            throw new TallyError('invalid_argument', `${Number(stray)} rows of ${table} files are outside partition ${p.tenantId}/${p.propertyId}/${p.date}`);
          }
          rowsPerFile.set(String(f), Number(n));
        }
      }
      await this.conn.run(
        `DELETE FROM ${table} WHERE EXISTS (SELECT 1 FROM ${partsSql} WHERE ${table}.tenant_id = k.tenant_id AND ${table}.property_id = k.property_id AND ${table}.local_date = k.local_date)`,
      );
      if (owned.length > 0) {
        // clustered by partition (then the file's own order): row groups of one property and day,
        // whose min/max statistics let a report's tenant/property/date filter skip the rest
        await this.conn.run(
          `INSERT INTO ${table} (${names}) SELECT ${names} FROM ${STAGE} ORDER BY tenant_id, property_id, local_date, ${TRANSFORMED_TABLES[table].orderBy.join(', ')}`,
        );
        await this.conn.run(`DROP TABLE ${STAGE}`);
      }
    }
    await rebuildRollups(rollups, loads, spanBefore);
    return files.map((fs) => ({ rows: fs.reduce((n, f) => n + (rowsPerFile.get(f) ?? 0), 0) }));
  }

  async query<T = Record<string, unknown>>(sql: string, params: readonly unknown[], opts: QueryOptions = {}): Promise<T[]> {
    const reader = await this.read(sql, params, opts.timeoutMs, `The report took longer than its ${opts.timeoutMs} ms statement timeout.`);
    const names = reader.columnNames();
    return reader.getRows().map((row) => {
      const out: Record<string, unknown> = {};
      row.forEach((v, i) => (out[names[i]] = fromDuckValue(v)));
      return out as T;
    });
  }

  async sandboxQuery(scope: SandboxScope, sql: string, limits: SandboxLimits): Promise<SandboxResult> {
    let reader: DuckDBResultReader;
    try {
      reader = await this.read(
        sandboxStatement('main', sql, limits),
        [scope.tenantId, scope.propertyId],
        limits.timeoutMs,
        `The statement took longer than its ${limits.timeoutMs} ms limit.`,
      );
    } catch (err) {
      throw sandboxStatementError(err);
    }
    const names = reader.columnNames();
    const types = reader.columnTypes();
    const rows = reader.getRows().map((row) => row.map(fromDuckValue));
    const truncated = rows.length > limits.maxRows;
    return { columns: names.map((name, i) => ({ name, type: String(types[i]) })), rows: truncated ? rows.slice(0, limits.maxRows) : rows, truncated };
  }

  /** Runs one statement on a reader connection, interrupted after `timeoutMs` (deadline_exceeded with `timeoutMessage`). */
  private async read(sql: string, params: readonly unknown[], timeoutMs: number | undefined, timeoutMessage: string): Promise<DuckDBResultReader> {
    if (this.closed) throw new TallyError('unavailable', 'warehouse is closed');
    const values = params.map(toDuckValue);
    const conn = await this.acquire();
    let timedOut = false;
    let repeat: NodeJS.Timeout | undefined;
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(
            () => {
              timedOut = true;
              conn.interrupt();
              // an interrupt that lands while the statement is still being prepared is forgotten
              // when it starts executing: repeat it until the statement is over
              repeat = setInterval(() => conn.interrupt(), 50);
            },
            Math.max(1, timeoutMs),
          );
    const run = conn.runAndReadAll(sql, values);
    this.inFlight.add(run);
    try {
      return await run;
    } catch (err) {
      if (timedOut) throw new TallyError('deadline_exceeded', timeoutMessage, { reason: 'statement_timeout' }, { cause: err });
      throw err;
    } finally {
      clearTimeout(timer);
      clearInterval(repeat);
      this.inFlight.delete(run);
      this.release(conn);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.tail.catch(() => undefined);
    await Promise.allSettled([...this.inFlight]);
    for (const c of this.all) c.closeSync();
    this.conn.closeSync();
    this.instance.closeSync();
  }

  /** A reader connection: an idle one, a new one up to `readers`, or the next one released. */
  private async acquire(): Promise<DuckDBConnection> {
    const idle = this.idle.pop();
    if (idle) return idle;
    if (this.opened < this.readers) {
      this.opened++;
      const c = await this.instance.connect();
      this.all.push(c);
      return c;
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(conn: DuckDBConnection): void {
    const next = this.waiting.shift();
    if (next) next(conn);
    else this.idle.push(conn);
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new TallyError('unavailable', 'warehouse is closed'));
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }
}

function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

function quoteIdent(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}

function toDuckValue(v: unknown): DuckDBValue {
  if (v === undefined) return null;
  if (v instanceof Date) return v.toISOString();
  if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') {
    return v;
  }
  throw new TallyError('invalid_argument', `unsupported query parameter type ${typeof v}`);
}

function fromDuckValue(v: DuckDBValue): unknown {
  if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (typeof v === 'bigint') {
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
  }
  if (v instanceof DuckDBDateValue) return v.toString();
  if (v instanceof DuckDBDecimalValue) return v.toDouble();
  if (v instanceof DuckDBTimestampValue) return v.toString();
  return String(v);
}

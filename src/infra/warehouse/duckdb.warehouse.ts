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
import { EVENT_COLUMNS, IDENTITY_COLUMNS, SESSION_COLUMNS, type Column } from '../../domain/transformed-schema.js';
import { TallyError } from '../errors.js';
import type { ObjectStore } from '../object-store/object-store.port.js';
import { localObjectPaths } from './local-objects.js';
import { rebuildRollups, rollupDdl, sessionSpanDays, type RollupRunner } from './rollups.sql.js';
import type { PartitionRef, QueryOptions, SandboxLimits, SandboxResult, SandboxScope, Warehouse, WarehouseTable } from './warehouse.port.js';
import { sandboxStatement, sandboxStatementError } from './sandbox-views.js';
import { DUCKDB_TYPES } from '../column-types.js';

const TABLES: Record<WarehouseTable, readonly Column[]> = { events: EVENT_COLUMNS, sessions: SESSION_COLUMNS, identities: IDENTITY_COLUMNS };

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
 * load one transaction; report queries run on up to `readers` other connections at once and
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
      }
      for (const ddl of rollupDdl(DUCKDB_TYPES, false)) await this.conn.run(ddl);
    });
  }

  async loadPartition(table: WarehouseTable, partition: PartitionRef, objectKeys: string[]): Promise<{ rows: number }> {
    const columns = TABLES[table];
    if (!columns) throw new TallyError('invalid_argument', `unknown warehouse table ${String(table)}`);
    if (!/^\d{4}-\d{2}-\d{2}$/.test(partition.date)) {
      throw new TallyError('invalid_argument', `partition date must be YYYY-MM-DD, got ${partition.date}`);
    }
    const key = [partition.tenantId, partition.propertyId, partition.date];
    return this.serial(async () => {
      const scratch = objectKeys.length > 0 ? await mkdtemp(join(this.tempDir, 'tally-duck-load-')) : null;
      try {
        return await this.replace(table, columns, key, objectKeys.length > 0 ? await localObjectPaths(this.store, objectKeys, scratch!) : []);
      } finally {
        if (scratch) await rm(scratch, { recursive: true, force: true });
      }
    });
  }

  private async replace(table: WarehouseTable, columns: readonly Column[], key: string[], files: string[]): Promise<{ rows: number }> {
    const paths = files.map(sqlString);
    const rollups: RollupRunner = {
      types: DUCKDB_TYPES,
      run: async (sql, params) => void (await this.conn.run(sql, params.map(toDuckValue))),
      scalar: async (sql, params) => {
        const v = (await this.conn.runAndReadAll(sql, params.map(toDuckValue))).getRows()[0]?.[0];
        return v === null || v === undefined ? null : Number(v);
      },
    };
    const partition = { tenantId: key[0], propertyId: key[1], date: key[2] };
    await this.conn.run('BEGIN TRANSACTION');
    try {
      const spanBefore = await sessionSpanDays(rollups, table, partition);
      await this.conn.run(`DELETE FROM ${table} WHERE tenant_id = $1 AND property_id = $2 AND local_date = CAST($3 AS DATE)`, key);
      let rows = 0;
      if (paths.length > 0) {
        const source = `read_parquet([${paths.join(', ')}], union_by_name = true)`;
        const select = columns.map((c) => `CAST(${quoteIdent(c.name)} AS ${DUCKDB_TYPES[c.type]})`).join(', ');
        const inserted = await this.conn.run(`INSERT INTO ${table} (${columns.map((c) => c.name).join(', ')}) SELECT ${select} FROM ${source}`);
        rows = Number(inserted.rowsChanged);
        // A partition's files must hold only that partition: anything else would survive the
        // next replacement and be counted twice.
        const stray = await this.conn.runAndReadAll(
          `SELECT count(*) FROM ${source} WHERE tenant_id IS DISTINCT FROM $1 OR property_id IS DISTINCT FROM $2
             OR CAST(local_date AS DATE) IS DISTINCT FROM CAST($3 AS DATE)`,
          key,
        );
        const strayRows = Number(stray.getRows()[0][0]);
        if (strayRows > 0) {
          throw new TallyError('invalid_argument', `${strayRows} rows of ${table} files are outside partition ${key.join('/')}`);
        }
      }
      await rebuildRollups(rollups, table, partition, spanBefore);
      await this.conn.run('COMMIT');
      return { rows };
    } catch (err) {
      await this.conn.run('ROLLBACK');
      throw err;
    }
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

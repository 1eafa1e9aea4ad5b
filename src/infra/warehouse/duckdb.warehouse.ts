import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  DuckDBConnection,
  DuckDBDateValue,
  DuckDBDecimalValue,
  DuckDBInstance,
  DuckDBTimestampValue,
  type DuckDBValue,
} from '@duckdb/node-api';
import { EVENT_COLUMNS, IDENTITY_COLUMNS, SESSION_COLUMNS, type Column } from '../../domain/transformed-schema.js';
import { TallyError } from '../errors.js';
import type { PartitionRef, Warehouse, WarehouseTable } from './warehouse.port.js';
import { DUCKDB_TYPES } from '../column-types.js';

const TABLES: Record<WarehouseTable, readonly Column[]> = { events: EVENT_COLUMNS, sessions: SESSION_COLUMNS, identities: IDENTITY_COLUMNS };

export interface DuckDbWarehouseOptions {
  /** A database file, or ':memory:'. */
  path: string;
  /** Object key -> a path DuckDB can read (ObjectStore.locate). */
  resolve: (objectKey: string) => string;
}

/**
 * The embedded warehouse: DuckDB tables `events`, `sessions` and `identities` with exactly the transformed-zone
 * columns. One connection; every statement goes through one promise queue, so a query never
 * interleaves with a partition load (and the load itself is one transaction).
 */
export class DuckDbWarehouse implements Warehouse {
  readonly dialect = 'duckdb' as const;
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly conn: DuckDBConnection,
    private readonly resolve: (objectKey: string) => string,
  ) {}

  static async open(opts: DuckDbWarehouseOptions): Promise<DuckDbWarehouse> {
    if (opts.path !== ':memory:') await mkdir(dirname(opts.path), { recursive: true });
    const instance = await DuckDBInstance.create(opts.path);
    const conn = await instance.connect();
    return new DuckDbWarehouse(instance, conn, opts.resolve);
  }

  init(): Promise<void> {
    return this.serial(async () => {
      for (const [table, columns] of Object.entries(TABLES)) {
        const cols = columns.map((c) => `${c.name} ${DUCKDB_TYPES[c.type]}`).join(', ');
        await this.conn.run(`CREATE TABLE IF NOT EXISTS ${table} (${cols})`);
      }
    });
  }

  async loadPartition(table: WarehouseTable, partition: PartitionRef, objectKeys: string[]): Promise<{ rows: number }> {
    const columns = TABLES[table];
    if (!columns) throw new TallyError('invalid_argument', `unknown warehouse table ${String(table)}`);
    if (!/^\d{4}-\d{2}-\d{2}$/.test(partition.date)) {
      throw new TallyError('invalid_argument', `partition date must be YYYY-MM-DD, got ${partition.date}`);
    }
    const key = [partition.tenantId, partition.propertyId, partition.date];
    const paths = objectKeys.map((k) => sqlString(this.resolve(k)));
    return this.serial(async () => {
      await this.conn.run('BEGIN TRANSACTION');
      try {
        await this.conn.run(
          `DELETE FROM ${table} WHERE tenant_id = $1 AND property_id = $2 AND local_date = CAST($3 AS DATE)`,
          key,
        );
        let rows = 0;
        if (paths.length > 0) {
          const source = `read_parquet([${paths.join(', ')}], union_by_name = true)`;
          const select = columns.map((c) => `CAST(${quoteIdent(c.name)} AS ${DUCKDB_TYPES[c.type]})`).join(', ');
          const inserted = await this.conn.run(
            `INSERT INTO ${table} (${columns.map((c) => c.name).join(', ')}) SELECT ${select} FROM ${source}`,
          );
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
            throw new TallyError(
              'invalid_argument',
              `${strayRows} rows of ${table} files are outside partition ${key.join('/')}`,
            );
          }
        }
        await this.conn.run('COMMIT');
        return { rows };
      } catch (err) {
        await this.conn.run('ROLLBACK');
        throw err;
      }
    });
  }

  query<T = Record<string, unknown>>(sql: string, params: readonly unknown[]): Promise<T[]> {
    return this.serial(async () => {
      const reader = await this.conn.runAndReadAll(sql, params.map(toDuckValue));
      const names = reader.columnNames();
      return reader.getRows().map((row) => {
        const out: Record<string, unknown> = {};
        row.forEach((v, i) => (out[names[i]] = fromDuckValue(v)));
        return out as T;
      });
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.tail.catch(() => undefined);
    this.conn.closeSync();
    this.instance.closeSync();
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

import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { DuckDBInstance } from '@duckdb/node-api';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { EVENT_COLUMNS, IDENTITY_COLUMNS, ITEM_COLUMNS, missingColumns, SESSION_COLUMNS, type Column } from '../../domain/transformed-schema.js';
import { TallyError } from '../errors.js';
import type { ObjectStore } from '../object-store/object-store.port.js';
import { localObjectPaths } from './local-objects.js';
import { rebuildRollups, rollupDdl, sessionSpanDays, type RollupRunner } from './rollups.sql.js';
import type { PartitionLoad, PartitionRef, QueryOptions, SandboxLimits, SandboxResult, SandboxScope, Warehouse, WarehouseTable } from './warehouse.port.js';
import { grantReader, runSandbox, setUpSandbox } from './postgres.sql-sandbox.js';
import { DUCKDB_TYPES, POSTGRES_TYPES } from '../column-types.js';
import type { FxRate } from '../fx/ecb-rates.js';
import { bundledFxRows, FX_TABLE, fxCreateTable, fxInserts, replaceRatesOn } from './fx-rates.sql.js';

export const WAREHOUSE_TABLES: Record<WarehouseTable, readonly Column[]> = {
  events: EVENT_COLUMNS,
  sessions: SESSION_COLUMNS,
  identities: IDENTITY_COLUMNS,
  items: ITEM_COLUMNS,
};

export function tableColumns(table: WarehouseTable): readonly Column[] {
  const columns = WAREHOUSE_TABLES[table];
  if (!columns) throw new TallyError('invalid_argument', `unknown warehouse table ${String(table)}`);
  return columns;
}

export function assertPartition(p: PartitionRef): void {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(p.date)) throw new TallyError('invalid_argument', `partition date must be YYYY-MM-DD, got ${p.date}`);
}

const INT8_OID = 20;
const NUMERIC_OID = 1700;
const DATE_OID = 1082;

/**
 * Result values as plain JS, for this pool only (the metadata DB's `pg` keeps the defaults):
 * BIGINT as a number when safe (else its decimal string), NUMERIC as a number, DATE as its text.
 */
export const plainTypes: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: string) => {
    if (oid === INT8_OID) {
      return (v: string) => {
        const n = Number(v);
        return Number.isSafeInteger(n) ? n : v;
      };
    }
    if (oid === NUMERIC_OID) return (v: string) => Number(v);
    if (oid === DATE_OID) return (v: string) => v;
    return pg.types.getTypeParser(oid, format as 'text');
  }) as pg.CustomTypesConfig['getTypeParser'],
};

export function toPgParam(v: unknown): unknown {
  if (v === undefined || v === null) return null;
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  throw new TallyError('invalid_argument', `unsupported query parameter type ${typeof v}`);
}

export interface PostgresWarehouseOptions {
  url: string;
  /** Where the transformed Parquet objects are read from. */
  store: ObjectStore;
  /** Scratch space for CSV (and objects downloaded from S3) during a load. */
  tempDir?: string;
  poolMax?: number;
}

/**
 * The PostgreSQL warehouse: tables `events` and `sessions` with the transformed-zone columns,
 * indexed on (tenant_id, property_id, local_date). A load reads the partition's Parquet with an
 * in-memory DuckDB, writes it as CSV, COPYs it into a temporary staging table and, in the same
 * transaction, deletes the partition's rows and inserts the staged ones: MVCC readers see the old
 * rows or the new, and are never blocked (README: why not table partitions).
 */
export class PostgresWarehouse implements Warehouse {
  readonly dialect = 'postgres' as const;
  readonly rollups = true;
  private readonly pool: pg.Pool;
  private duck: Promise<DuckDBInstance> | null = null;
  private closed = false;
  private sandbox: Promise<void> | null = null;

  constructor(private readonly opts: PostgresWarehouseOptions) {
    this.pool = new pg.Pool({ connectionString: opts.url, max: opts.poolMax ?? 10, types: plainTypes });
    // an idle client losing its server must not crash the process; the next checkout reconnects
    this.pool.on('error', () => undefined);
  }

  async init(): Promise<void> {
    const client = await this.connect();
    try {
      await client.query('BEGIN');
      // two processes starting at once would race on CREATE TABLE IF NOT EXISTS
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', ['tally.warehouse.init']);
      for (const table of Object.keys(WAREHOUSE_TABLES) as WarehouseTable[]) {
        const cols = tableColumns(table)
          .map((c) => `${c.name} ${POSTGRES_TYPES[c.type]}`)
          .join(', ');
        await client.query(`CREATE TABLE IF NOT EXISTS ${table} (${cols})`);
        // a contract column added since the table was created (e.g. sessions' collected_*), appended as in the contract
        const have = await client.query<{ column_name: string }>(
          'SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1',
          [table],
        );
        for (const c of missingColumns(
          tableColumns(table),
          have.rows.map((r) => r.column_name),
        )) {
          await client.query(`ALTER TABLE ${table} ADD COLUMN ${c.name} ${POSTGRES_TYPES[c.type]}`);
        }
        await client.query(`CREATE INDEX IF NOT EXISTS ${table}_partition_idx ON ${table} (tenant_id, property_id, local_date)`);
      }
      await client.query('CREATE INDEX IF NOT EXISTS sessions_session_key_idx ON sessions (tenant_id, property_id, session_key)');
      await client.query('CREATE INDEX IF NOT EXISTS identities_client_idx ON identities (tenant_id, property_id, client_id)');
      await client.query('CREATE INDEX IF NOT EXISTS items_event_idx ON items (tenant_id, property_id, local_date, event_id)');
      for (const ddl of rollupDdl(POSTGRES_TYPES, true)) await client.query(ddl);
      await client.query(fxCreateTable({ date: 'date', text: 'text', double: 'double precision' }));
      await client.query(`CREATE INDEX IF NOT EXISTS ${FX_TABLE}_idx ON ${FX_TABLE} (rate_date, currency)`);
      const { rows } = await client.query<{ n: number }>(`SELECT count(*) AS n FROM ${FX_TABLE}`);
      if (Number(rows[0].n) === 0) for (const sql of fxInserts(bundledFxRows())) await client.query(sql);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async loadPartition(table: WarehouseTable, partition: PartitionRef, objectKeys: string[]): Promise<{ rows: number }> {
    return this.loadPartitions([{ table, partition, objectKeys }]).then((r) => r[0]);
  }

  /**
   * Every load of the batch in one transaction: each partition's CSV is staged first (outside
   * it); then every partition's advisory lock is taken, in one order (two batches sharing
   * partitions cannot deadlock), the rows swapped partition by partition (the last load of a
   * partition wins, as one by one) and the rollups of every affected day rebuilt; one commit.
   */
  async loadPartitions(loads: readonly PartitionLoad[]): Promise<{ rows: number }[]> {
    for (const l of loads) assertPartition(l.partition);
    const scratch = await mkdtemp(join(this.opts.tempDir ?? tmpdir(), 'tally-pg-load-'));
    try {
      const csvs: (string | null)[] = [];
      for (const [i, l] of loads.entries()) {
        const dir = join(scratch, String(i));
        await mkdir(dir);
        csvs.push(l.objectKeys.length ? await this.parquetToCsv(l.table, tableColumns(l.table), l.partition, [...l.objectKeys], dir) : null);
      }
      const lockKey = (l: PartitionLoad) => `${l.table}/${l.partition.tenantId}/${l.partition.propertyId}/${l.partition.date}`;
      const client = await this.connect();
      try {
        await client.query('BEGIN');
        try {
          // one load per partition at a time: two loads of an empty partition would both insert
          for (const key of [...new Set(loads.map(lockKey))].sort()) await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [key]);
          const rollups: RollupRunner = {
            types: POSTGRES_TYPES,
            run: async (sql, params) => void (await client.query(sql, params)),
            rows: async (sql, params) => (await client.query({ text: sql, values: params, rowMode: 'array' })).rows as unknown[][],
          };
          const spanBefore = await sessionSpanDays(rollups, loads);
          const out: { rows: number }[] = [];
          for (const [i, l] of loads.entries()) out.push(await this.replace(client, l, csvs[i]));
          await rebuildRollups(rollups, loads, spanBefore);
          await client.query('COMMIT');
          return out;
        } catch (err) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw err;
        }
      } finally {
        client.release();
      }
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }

  async replaceRates(published: readonly FxRate[]): Promise<{ rows: number }> {
    return replaceRatesOn(await this.connect(), published);
  }

  /** One partition's swap, inside the caller's transaction. */
  private async replace(client: pg.PoolClient, { table, partition }: PartitionLoad, csv: string | null): Promise<{ rows: number }> {
    const names = tableColumns(table)
      .map((c) => c.name)
      .join(', ');
    let rows = 0;
    const stage = `tally_stage_${table}`;
    if (csv) {
      await client.query(`CREATE TEMP TABLE IF NOT EXISTS ${stage} (LIKE ${table}) ON COMMIT DROP`);
      await client.query(`TRUNCATE ${stage}`);
      await pipeline(createReadStream(csv), client.query(copyFrom(`COPY ${stage} (${names}) FROM STDIN WITH (FORMAT csv)`)));
    }
    await client.query(`DELETE FROM ${table} WHERE tenant_id = $1 AND property_id = $2 AND local_date = CAST($3 AS date)`, [
      partition.tenantId,
      partition.propertyId,
      partition.date,
    ]);
    if (csv) rows = (await client.query(`INSERT INTO ${table} (${names}) SELECT ${names} FROM ${stage}`)).rowCount ?? 0;
    return { rows };
  }

  async query<T = Record<string, unknown>>(sql: string, params: readonly unknown[], opts: QueryOptions = {}): Promise<T[]> {
    if (this.closed) throw new TallyError('unavailable', 'warehouse is closed');
    const values = params.map(toPgParam);
    try {
      if (opts.timeoutMs === undefined) return (await this.pool.query({ text: sql, values })).rows as T[];
      const client = await this.connect();
      try {
        // SET LOCAL: the timeout ends with this transaction, the pooled connection keeps none
        await client.query('BEGIN READ ONLY');
        await client.query(`SET LOCAL statement_timeout = ${Math.max(1, Math.ceil(opts.timeoutMs))}`);
        const res = await client.query({ text: sql, values });
        await client.query('COMMIT');
        return res.rows as T[];
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    } catch (err) {
      throw pgQueryError(err, opts.timeoutMs);
    }
  }

  async sandboxQuery(scope: SandboxScope, sql: string, limits: SandboxLimits): Promise<SandboxResult> {
    await this.sandboxReady();
    const client = await this.connect();
    try {
      return await runSandbox(client, scope, sql, limits);
    } finally {
      client.release();
    }
  }

  /** A read-only LOGIN role for BI tools that sees only `scope`'s rows (`tally warehouse grant`). */
  async grantReader(scope: SandboxScope): Promise<{ role: string; password: string; tables: string[] }> {
    await this.sandboxReady();
    const client = await this.connect();
    try {
      return await grantReader(client, scope);
    } finally {
      client.release();
    }
  }

  /** Row-level security and the `tally_sql` role, set up on first use: a warehouse nobody queries with SQL needs no CREATEROLE. */
  private sandboxReady(): Promise<void> {
    this.sandbox ??= (async () => {
      const client = await this.connect();
      try {
        await client.query('BEGIN');
        await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', ['tally.warehouse.init']);
        await setUpSandbox(client);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw new TallyError(
          'unavailable',
          `The SQL sandbox could not be set up on this warehouse: ${(err as Error).message}`,
          { reason: 'sql_sandbox_setup' },
          { cause: err },
        );
      } finally {
        client.release();
      }
    })();
    this.sandbox.catch(() => (this.sandbox = null));
    return this.sandbox;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
    if (this.duck) (await this.duck).closeSync();
  }

  private async connect(): Promise<pg.PoolClient> {
    if (this.closed) throw new TallyError('unavailable', 'warehouse is closed');
    return this.pool.connect();
  }

  /**
   * The partition's rows as one CSV file (every value quoted, NULL unquoted-empty), read by DuckDB
   * from local Parquet. Objects not on local disk (S3) are downloaded first: DuckDB's httpfs
   * extension is not available offline. Rows outside the partition are refused.
   */
  private async parquetToCsv(table: WarehouseTable, columns: readonly Column[], p: PartitionRef, keys: string[], scratch: string): Promise<string> {
    const paths = await localObjectPaths(this.opts.store, keys, scratch);
    this.duck ??= DuckDBInstance.create(':memory:');
    const conn = await (await this.duck).connect();
    try {
      const source = `read_parquet([${paths.map(sqlString).join(', ')}], union_by_name = true)`;
      const stray = await conn.runAndReadAll(
        `SELECT count(*) FROM ${source} WHERE tenant_id IS DISTINCT FROM $1 OR property_id IS DISTINCT FROM $2
           OR CAST(local_date AS DATE) IS DISTINCT FROM CAST($3 AS DATE)`,
        [p.tenantId, p.propertyId, p.date],
      );
      const strayRows = Number(stray.getRows()[0][0]);
      if (strayRows > 0) {
        throw new TallyError('invalid_argument', `${strayRows} rows of ${table} files are outside partition ${p.tenantId}/${p.propertyId}/${p.date}`);
      }
      const csv = join(scratch, 'rows.csv');
      const select = columns.map((c) => `CAST(${quoteIdent(c.name)} AS ${DUCKDB_TYPES[c.type]}) AS ${quoteIdent(c.name)}`).join(', ');
      await conn.run(`COPY (SELECT ${select} FROM ${source}) TO ${sqlString(csv)} (FORMAT CSV, HEADER false, FORCE_QUOTE *)`);
      return csv;
    } finally {
      conn.closeSync();
    }
  }
}

/**
 * What a report query's failure means to the caller: statement_timeout (57014) is
 * DEADLINE_EXCEEDED; a regular expression PostgreSQL's dialect cannot compile (2201B: `a{300}`,
 * which RE2 takes, is over its repetition limit of 255) is the request's fault.
 */
export function pgQueryError(err: unknown, timeoutMs?: number): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === '57014') {
    return new TallyError(
      'deadline_exceeded',
      `The report took longer than ${timeoutMs ?? 'the'} ms statement timeout.`,
      { reason: 'statement_timeout' },
      { cause: err },
    );
  }
  if (code === '2201B') {
    return new TallyError(
      'invalid_argument',
      `Invalid regular expression for this warehouse: ${(err as Error).message}.`,
      { reason: 'invalid_regex' },
      { cause: err },
    );
  }
  return err;
}

function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

function quoteIdent(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}

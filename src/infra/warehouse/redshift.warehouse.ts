import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { TallyError } from '../errors.js';
import type { ObjectStore } from '../object-store/object-store.port.js';
import { bundledRates, type FxRate } from '../fx/ecb-rates.js';
import { FX_TABLE, fxCreateTable, replaceRatesOn } from './fx-rates.sql.js';
import { assertPartition, plainTypes, tableColumns, toPgParam, WAREHOUSE_TABLES } from './postgres.warehouse.js';
import type { PartitionRef, Warehouse, WarehouseTable } from './warehouse.port.js';
import { REDSHIFT_TYPES } from '../column-types.js';
import { missingColumns } from '../../domain/transformed-schema.js';

export interface Statement {
  text: string;
  values: unknown[];
}

/** The statements of one partition load, in order; `copy` fills the staging table. */
export interface RedshiftLoadPlan {
  stage: string;
  createStage: Statement | null;
  copy: Statement[];
  /** Returns one row `{ n }`: staged rows outside the partition (must be 0). */
  strayCheck: Statement | null;
  /** BEGIN; DELETE the partition; INSERT the staged rows; END. */
  swap: Statement[];
  dropStage: Statement | null;
}

const sql = (text: string, values: unknown[] = []): Statement => ({ text, values });

/**
 * DDL: events and sessions distributed on session_key (the join between them is then local to a
 * slice), identities on client_id (what reports join it on), all sorted on (tenant_id,
 * property_id, local_date), the prefix of every report's filter and of every partition
 * replacement, in place of PostgreSQL's index.
 */
export function redshiftCreateTable(table: WarehouseTable): string {
  const cols = tableColumns(table)
    .map((c) => `${c.name} ${REDSHIFT_TYPES[c.type]}`)
    .join(', ');
  return `CREATE TABLE IF NOT EXISTS ${table} (${cols}) DISTSTYLE KEY DISTKEY (${table === 'identities' ? 'client_id' : 'session_key'}) COMPOUND SORTKEY (tenant_id, property_id, local_date)`;
}

/** COPY takes no bind parameters: its S3 location and role are literals, so they are checked first. */
export function redshiftLoadPlan(table: WarehouseTable, p: PartitionRef, manifestUrl: string | null, iamRole: string, stageSuffix: string): RedshiftLoadPlan {
  tableColumns(table);
  assertPartition(p);
  assertIamRole(iamRole);
  if (!/^[a-z0-9_]{1,40}$/.test(stageSuffix)) throw new TallyError('invalid_argument', `bad staging suffix ${stageSuffix}`);
  const stage = `tally_stage_${table}_${stageSuffix}`;
  const key = [p.tenantId, p.propertyId, p.date];
  const where = 'tenant_id = $1 AND property_id = $2 AND local_date = CAST($3 AS DATE)';
  const swap = [sql('BEGIN'), sql(`DELETE FROM ${table} WHERE ${where}`, key)];
  if (manifestUrl === null) {
    return { stage, createStage: null, copy: [], strayCheck: null, swap: [...swap, sql('END')], dropStage: null };
  }
  if (!/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\/[^'\\\s]+$/.test(manifestUrl)) {
    throw new TallyError('invalid_argument', `not an S3 object URL Redshift can COPY from: ${manifestUrl}`);
  }
  return {
    stage,
    createStage: sql(`CREATE TEMP TABLE ${stage} (LIKE ${table})`),
    copy: [sql(`COPY ${stage} FROM '${manifestUrl}' IAM_ROLE '${iamRole}' FORMAT AS PARQUET MANIFEST`)],
    strayCheck: sql(`SELECT count(*) AS n FROM ${stage} WHERE tenant_id IS NULL OR property_id IS NULL OR local_date IS NULL OR NOT (${where})`, key),
    swap: [...swap, sql(`INSERT INTO ${table} SELECT * FROM ${stage}`), sql('END')],
    dropStage: sql(`DROP TABLE IF EXISTS ${stage}`),
  };
}

/**
 * Runs a load plan on one session (temp tables are per session): stage, check, swap in one
 * transaction. Throws, leaving the partition as it was, when the staged rows are not all of it.
 */
export async function executeLoadPlan(client: pg.ClientBase, plan: RedshiftLoadPlan, p: PartitionRef): Promise<{ rows: number }> {
  const run = (s: Statement) => client.query({ text: s.text, values: s.values.map(toPgParam) });
  try {
    if (plan.createStage) await run(plan.createStage);
    for (const s of plan.copy) await run(s);
    if (plan.strayCheck) {
      const n = Number((await run(plan.strayCheck)).rows[0].n);
      if (n > 0) throw new TallyError('invalid_argument', `${n} staged rows are outside partition ${p.tenantId}/${p.propertyId}/${p.date}`);
    }
    let rows = 0;
    try {
      for (const s of plan.swap) {
        const r = await run(s);
        if (s.text.startsWith('INSERT')) rows = r.rowCount ?? 0;
      }
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
    return { rows };
  } finally {
    if (plan.dropStage) await run(plan.dropStage).catch(() => undefined);
  }
}

export interface RedshiftWarehouseOptions {
  /** postgres://user:password@cluster.region.redshift.amazonaws.com:5439/db */
  url: string;
  /** The S3 object store holding the transformed zone; also where load manifests are written. */
  store: ObjectStore;
  /** The role Redshift assumes to read the bucket. */
  iamRole: string;
  poolMax?: number;
}

/**
 * The Redshift warehouse, through `pg` (Redshift speaks the PostgreSQL protocol). A load writes
 * a COPY manifest listing exactly the partition's objects, COPYs them into a temporary staging
 * table, checks every staged row belongs to the partition, then deletes and inserts in one
 * transaction. Not run against a real Redshift here: see README.
 */
export class RedshiftWarehouse implements Warehouse {
  readonly dialect = 'redshift' as const;
  private readonly pool: pg.Pool;
  private closed = false;

  constructor(private readonly opts: RedshiftWarehouseOptions) {
    assertIamRole(opts.iamRole);
    this.pool = new pg.Pool({ connectionString: opts.url, max: opts.poolMax ?? 5, types: plainTypes });
    this.pool.on('error', () => undefined);
  }

  async init(): Promise<void> {
    for (const table of Object.keys(WAREHOUSE_TABLES) as WarehouseTable[]) {
      await this.query(redshiftCreateTable(table), []);
      // a contract column added since the table was created (e.g. sessions' collected_*); not run against Redshift here
      const have = await this.query<{ column_name: string }>(
        'SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1',
        [table],
      );
      for (const c of missingColumns(
        tableColumns(table),
        have.map((r) => r.column_name),
      )) {
        await this.query(`ALTER TABLE ${table} ADD COLUMN ${c.name} ${REDSHIFT_TYPES[c.type]}`, []);
      }
    }
    await this.query(`${fxCreateTable({ date: 'DATE', text: 'VARCHAR(3)', double: 'DOUBLE PRECISION' })} DISTSTYLE ALL SORTKEY (rate_date)`, []);
    const [{ n }] = await this.query<{ n: number }>(`SELECT count(*) AS n FROM ${FX_TABLE}`, []);
    if (Number(n) === 0) await this.replaceRates(bundledRates());
  }

  /** One transaction: DELETE then INSERT batches (Redshift's TRUNCATE would commit on its own). */
  async replaceRates(published: readonly FxRate[]): Promise<{ rows: number }> {
    return replaceRatesOn(await this.connect(), published);
  }

  async loadPartition(table: WarehouseTable, partition: PartitionRef, objectKeys: string[]): Promise<{ rows: number }> {
    let manifestKey: string | null = null;
    let manifestUrl: string | null = null;
    if (objectKeys.length) {
      manifestKey = `manifests/load/${table}/tenant=${partition.tenantId}/property=${partition.propertyId}/dt=${partition.date}/${randomUUID()}.json`;
      await this.opts.store.put(manifestKey, Buffer.from(JSON.stringify(await this.manifest(objectKeys))));
      manifestUrl = this.opts.store.locate(manifestKey);
    }
    const plan = redshiftLoadPlan(table, partition, manifestUrl, this.opts.iamRole, randomUUID().replace(/-/g, '').slice(0, 12));
    const client = await this.connect();
    try {
      return await executeLoadPlan(client, plan, partition);
    } finally {
      client.release();
      if (manifestKey) await this.opts.store.delete([manifestKey]).catch(() => undefined);
    }
  }

  async query<T = Record<string, unknown>>(text: string, params: readonly unknown[]): Promise<T[]> {
    if (this.closed) throw new TallyError('unavailable', 'warehouse is closed');
    return (await this.pool.query({ text, values: params.map(toPgParam) })).rows as T[];
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  private async connect(): Promise<pg.PoolClient> {
    if (this.closed) throw new TallyError('unavailable', 'warehouse is closed');
    return this.pool.connect();
  }

  /** COPY … FORMAT AS PARQUET MANIFEST needs each object's size; a missing object fails the load here. */
  private async manifest(keys: string[]): Promise<{ entries: { url: string; mandatory: true; meta: { content_length: number } }[] }> {
    const entries = [];
    for (const key of keys) {
      const info = (await this.opts.store.list(key)).find((o) => o.key === key);
      if (!info) throw new TallyError('not_found', `warehouse load: no object ${key}`, { key });
      entries.push({ url: this.opts.store.locate(key), mandatory: true as const, meta: { content_length: info.size } });
    }
    return { entries };
  }
}

function assertIamRole(arn: string): void {
  if (!/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/.test(arn)) throw new TallyError('invalid_argument', `not an IAM role ARN: ${arn}`);
}

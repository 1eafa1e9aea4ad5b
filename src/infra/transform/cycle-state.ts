import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { PropertySettings } from '../../domain/property-settings.js';
import type { TransformedTable } from '../../domain/transformed-schema.js';
import type { ObjectStore } from '../object-store/object-store.port.js';
import { duckdbTransformDialect } from './transform-dialect.js';
import { RAW_FIELDS, sqlString, typed } from './transform.sql.js';

/**
 * The state an incremental cycle carries per property (README: "Incremental cycles"), under
 * `state/transform/tenant=T/property=P/`: `state.json` (cut, dates holding an open file),
 * `carry.parquet` (raw records of the open sessions), `closed_sessions.parquet` and
 * `closed_identities.parquet`. A batch of properties loads and saves every property's state in a
 * few statements: the key tables carry `tenant_id`, `property_id` columns while loaded.
 */

export interface CycleState {
  /** Events before this instant are late: their sessions may be closed. */
  cutMs: number | null;
  /** Local dates holding an `open.parquet`, per table. */
  openDates: Record<TransformedTable, string[]>;
}

export const EMPTY_STATE: CycleState = { cutMs: null, openDates: { events: [], sessions: [], identities: [] } };

export function stateKey(s: Pick<PropertySettings, 'tenantId' | 'propertyId'>, name: string): string {
  return `state/transform/tenant=${s.tenantId}/property=${s.propertyId}/${name}`;
}

export function partitionPrefix(table: TransformedTable, s: Pick<PropertySettings, 'tenantId' | 'propertyId'>, date: string): string {
  return `transformed/${table}/tenant=${s.tenantId}/property=${s.propertyId}/dt=${date}/`;
}

/** The key tables of the state: what a cycle remembers of closed sessions and identity rows. */
export const KEY_TABLES = {
  closed_sessions: 'session_key VARCHAR, end_ms BIGINT',
  closed_identities: 'client_id VARCHAR, user_id VARCHAR, local_date DATE',
} as const;

export interface StoreAccess {
  store: ObjectStore;
  conn: DuckDBConnection;
  stage: string;
  readablePaths(keys: string[]): Promise<string[]>;
}

export interface LoadedStates {
  states: Map<string, CycleState>;
  /** Records carried from the last cycle, as readable paths: Parquet, and JSON as written before. */
  carryPaths: { parquet: string[]; json: string[] };
}

/** The raw records of the open sessions; `carry.ndjson.gz` is how earlier versions wrote them (read, then replaced). */
const CARRY = 'carry.parquet';
const OLD_CARRY = 'carry.ndjson.gz';

export const propertyKey = (s: Pick<PropertySettings, 'tenantId' | 'propertyId'>) => `${s.tenantId}/${s.propertyId}`;

/**
 * Reads every property's state: state.json, the carried records' path, and the key tables into
 * `closed_sessions` / `closed_identities` (with the property's ids as columns). One listing per
 * property; the files themselves are read by one statement per table.
 */
export async function loadStates(ctx: StoreAccess, props: readonly PropertySettings[]): Promise<LoadedStates> {
  const listed = await inParallel(props, async (s) => {
    const names = new Set((await ctx.store.list(stateKey(s, ''))).map((o) => o.key.slice(stateKey(s, '').length)));
    const body = names.has('state.json') ? await ctx.store.get(stateKey(s, 'state.json')) : null;
    const state = body ? (JSON.parse(body.toString('utf8')) as CycleState) : EMPTY_STATE;
    const paths: Record<string, string | null> = {};
    for (const name of [CARRY, OLD_CARRY, ...Object.keys(KEY_TABLES).map((t) => `${t}.parquet`)]) {
      paths[name] = names.has(name) ? ((await ctx.readablePaths([stateKey(s, name)]))[0] ?? null) : null;
    }
    return { s, state, paths };
  });
  for (const [table, cols] of Object.entries(KEY_TABLES)) {
    await ctx.conn.run(`CREATE OR REPLACE TEMP TABLE ${table} (tenant_id VARCHAR, property_id VARCHAR, ${cols})`);
    const files = listed.filter((l) => l.paths[`${table}.parquet`]);
    if (!files.length) continue;
    const byPath = typed(
      duckdbTransformDialect,
      ['path STRING', 'tenant_id STRING', 'property_id STRING'],
      files.map((l) => [l.paths[`${table}.parquet`]!, l.s.tenantId, l.s.propertyId].map(sqlString)),
    );
    const names = cols.split(', ').map((c) => `f.${c.split(' ')[0]}`);
    await ctx.conn.run(`
      INSERT INTO ${table} SELECT p.tenant_id, p.property_id, ${names.join(', ')}
      FROM read_parquet(${list(files.map((l) => l.paths[`${table}.parquet`]!))}, filename = true) f JOIN (${byPath}) p ON p.path = f.filename`);
  }
  return {
    states: new Map(listed.map((l) => [propertyKey(l.s), l.state])),
    carryPaths: {
      parquet: listed.flatMap((l) => (l.paths[CARRY] ? [l.paths[CARRY]] : [])),
      json: listed.flatMap((l) => (l.paths[OLD_CARRY] ? [l.paths[OLD_CARRY]] : [])),
    },
  };
}

/**
 * Writes, for each property of `props`, the carried records (table `carry`), the key tables and
 * then state.json, last. A property whose carry or key table is empty loses that object.
 */
export async function saveStates(ctx: StoreAccess, props: readonly PropertySettings[], states: Map<string, CycleState>): Promise<void> {
  const tables: [string, string, string][] = [
    ['carry', CARRY, '(FORMAT parquet)'],
    ['closed_sessions', 'closed_sessions.parquet', '(FORMAT parquet)'],
    ['closed_identities', 'closed_identities.parquet', '(FORMAT parquet)'],
  ];
  const wanted = new Set(props.map(propertyKey));
  for (const [table, name, format] of tables) {
    const dir = join(ctx.stage, `state-${table}`);
    const columns =
      table === 'carry'
        ? RAW_FIELDS.map(([n]) => n)
        : ['tenant_id', 'property_id', ...KEY_TABLES[table as keyof typeof KEY_TABLES].split(', ').map((c) => c.split(' ')[0])];
    const written = new Set<string>();
    if ((await count(ctx.conn, `SELECT count(*) FROM ${table}`)) > 0) {
      // one statement for every property: a folder per (tenant, property)
      await ctx.conn.run(`
        COPY (SELECT ${columns.join(', ')}, tenant_id AS _t, property_id AS _p FROM ${table})
        TO ${sqlString(dir)} (${format.slice(1, -1)}, PARTITION_BY (_t, _p), FILENAME_PATTERN 'f')`);
      for (const t of await readdir(dir)) {
        for (const p of await readdir(join(dir, t))) {
          const s = { tenantId: t.slice('_t='.length), propertyId: p.slice('_p='.length) };
          if (!wanted.has(propertyKey(s))) continue;
          const [file] = await readdir(join(dir, t, p));
          await ctx.store.put(stateKey(s, name), await readFile(join(dir, t, p, file)));
          written.add(propertyKey(s));
        }
      }
      await rm(dir, { recursive: true, force: true });
    }
    const gone = props.filter((s) => !written.has(propertyKey(s))).map((s) => stateKey(s, name));
    if (table === 'carry') gone.push(...props.map((s) => stateKey(s, OLD_CARRY)));
    if (gone.length) await ctx.store.delete(gone);
  }
  await inParallel(props, async (s) => {
    const json = join(ctx.stage, `state-${s.tenantId}-${s.propertyId}.json`);
    await writeFile(json, JSON.stringify(states.get(propertyKey(s)) ?? EMPTY_STATE));
    await ctx.store.put(stateKey(s, 'state.json'), await readFile(json));
    await rm(json);
  });
}

/** Runs `fn` over `items`, a few at a time (object-store round trips overlap). */
export async function inParallel<T, R>(items: readonly T[], fn: (item: T) => Promise<R>, width = 16): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  return out;
}

export function list(paths: readonly string[]): string {
  return `[${paths.map(sqlString).join(', ')}]`;
}

export async function count(conn: DuckDBConnection, query: string): Promise<number> {
  return Number((await conn.runAndReadAll(query)).getRows()[0][0]);
}

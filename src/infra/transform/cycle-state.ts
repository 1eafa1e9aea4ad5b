import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { PropertySettings } from '../../domain/property-settings.js';
import type { TransformedTable } from '../../domain/transformed-schema.js';
import type { ObjectStore } from '../object-store/object-store.port.js';
import { RAW_FIELDS, readRawJson, sqlString } from './transform.sql.js';
import { TOUCH_FIELDS } from './transform-attribution.sql.js';

/**
 * The state incremental cycles carry (README: "Incremental cycles"), for every property in one
 * set of objects under `state/transform/shared/`, so a cycle over thousands of small properties
 * reads and writes four objects, not four per property: `state.json` (per property: the cut and
 * the dates holding an open file), `carry.parquet` (raw records of the open sessions),
 * `closed_sessions.parquet` and `closed_identities.parquet` (with `tenant_id`, `property_id`), and
 * `touches.parquet` (per user of a property, the latest non-direct session among the closed ones
 * of the last 92 days: what a later direct session takes, GA4's last non-direct click).
 * A property's state written by an earlier version under `state/transform/tenant=T/property=P/`
 * is read once, the first time the property is cycled, and moved into the shared objects.
 */

export interface CycleState {
  /** Events before this instant are late: their sessions may be closed. */
  cutMs: number | null;
  /** Local dates holding an `open.parquet`, per table. */
  openDates: Record<TransformedTable, string[]>;
  /** Names the cycle that wrote this state: an event-id index built by that cycle is current (`cycle-id-index.ts`). */
  token?: string;
}

export const EMPTY_STATE: CycleState = { cutMs: null, openDates: { events: [], sessions: [], identities: [], items: [] } };

const SHARED = 'state/transform/shared/';

/** Where an earlier version kept one property's state. */
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
  /** Every property's state, as read (saved back with the cycled ones replaced). */
  all: Record<string, CycleState>;
  /** Properties whose state was read from the earlier per-property objects (deleted once saved shared). */
  legacy: PropertySettings[];
}

export const propertyKey = (s: Pick<PropertySettings, 'tenantId' | 'propertyId'>) => `${s.tenantId}/${s.propertyId}`;

const FIELDS = RAW_FIELDS.map(([n, t]) => `${n} ${t}`).join(', ');

const TOUCHES = TOUCH_FIELDS.map(([n, t]) => `${n} ${t}`).join(', ');

/**
 * Reads the shared state into tables `shared_carry` (every property's carried records),
 * `closed_sessions` and `closed_identities` (every property's, with its ids), `shared_touches`
 * (every property's last non-direct touches; absent in a state saved before them: none), and the batch's
 * properties' entries of state.json; a property missing there is looked up in the earlier layout.
 */
export async function loadStates(ctx: StoreAccess, props: readonly PropertySettings[]): Promise<LoadedStates> {
  const { conn, store } = ctx;
  const body = await store.get(`${SHARED}state.json`);
  const all = body ? (JSON.parse(body.toString('utf8')) as { properties: Record<string, CycleState> }).properties : {};
  const parquet = async (name: string) => ((await store.list(`${SHARED}${name}`)).length ? ((await ctx.readablePaths([`${SHARED}${name}`]))[0] ?? null) : null);
  await conn.run(`CREATE OR REPLACE TEMP TABLE shared_carry (${FIELDS})`);
  const carry = await parquet('carry.parquet');
  if (carry) await conn.run(`INSERT INTO shared_carry SELECT ${RAW_FIELDS.map(([n]) => n).join(', ')} FROM read_parquet(${sqlString(carry)})`);
  for (const [table, cols] of Object.entries(KEY_TABLES)) {
    await conn.run(`CREATE OR REPLACE TEMP TABLE ${table} (tenant_id VARCHAR, property_id VARCHAR, ${cols})`);
    const path = await parquet(`${table}.parquet`);
    if (path) await conn.run(`INSERT INTO ${table} SELECT * FROM read_parquet(${sqlString(path)}, hive_partitioning = false)`);
  }
  await conn.run(`CREATE OR REPLACE TEMP TABLE shared_touches (${TOUCHES})`);
  const touches = await parquet('touches.parquet');
  if (touches) await conn.run(`INSERT INTO shared_touches SELECT * FROM read_parquet(${sqlString(touches)}, hive_partitioning = false)`);
  const missing = props.filter((s) => !all[propertyKey(s)]);
  const legacy = (await inParallel(missing, (s) => loadLegacy(ctx, s))).filter((s): s is { s: PropertySettings; state: CycleState } => s !== null);
  for (const l of legacy) all[propertyKey(l.s)] = l.state;
  return { states: new Map(props.map((s) => [propertyKey(s), all[propertyKey(s)] ?? EMPTY_STATE])), all, legacy: legacy.map((l) => l.s) };
}

/** One property's state in the earlier per-property layout, added to the loaded tables; null when there is none. */
async function loadLegacy(ctx: StoreAccess, s: PropertySettings): Promise<{ s: PropertySettings; state: CycleState } | null> {
  const body = await ctx.store.get(stateKey(s, 'state.json'));
  if (!body) return null;
  const names = new Set((await ctx.store.list(stateKey(s, ''))).map((o) => o.key.slice(stateKey(s, '').length)));
  const path = async (name: string) => (names.has(name) ? ((await ctx.readablePaths([stateKey(s, name)]))[0] ?? null) : null);
  const ids = `${sqlString(s.tenantId)}, ${sqlString(s.propertyId)}`;
  const json = await path('carry.ndjson.gz');
  if (json) await ctx.conn.run(`INSERT INTO shared_carry ${readRawJson([json])}`);
  for (const table of Object.keys(KEY_TABLES)) {
    const p = await path(`${table}.parquet`);
    if (p) await ctx.conn.run(`INSERT INTO ${table} SELECT ${ids}, * FROM read_parquet(${sqlString(p)}, hive_partitioning = false)`);
  }
  return { s, state: JSON.parse(body.toString('utf8')) as CycleState };
}

/**
 * Writes the shared state: for the properties in `cyc` (the ones that ran) the tables `carry`,
 * `new_closed_sessions`, `new_closed_identities`, `new_touches` and their new entries; every other property's
 * rows and entries as they were. state.json last. Then removes the earlier layout's objects of
 * the properties moved.
 */
export async function saveStates(ctx: StoreAccess, loaded: LoadedStates, states: Map<string, CycleState>): Promise<void> {
  const { conn, store, stage } = ctx;
  const others = (t: string) => `SELECT * FROM ${t} x WHERE NOT EXISTS (SELECT 1 FROM cyc c WHERE c.tenant_id = x.tenant_id AND c.property_id = x.property_id)`;
  const tables: [string, string][] = [
    ['carry.parquet', `${others('shared_carry')} UNION ALL SELECT * FROM carry`],
    ['closed_sessions.parquet', `${others('closed_sessions')} UNION ALL SELECT * FROM new_closed_sessions`],
    ['closed_identities.parquet', `${others('closed_identities')} UNION ALL SELECT * FROM new_closed_identities`],
    ['touches.parquet', `${others('shared_touches')} UNION ALL SELECT * FROM new_touches`],
  ];
  for (const [name, query] of tables) {
    const path = join(stage, `state-${name}`);
    await conn.run(`COPY (${query}) TO ${sqlString(path)} (FORMAT parquet, COMPRESSION zstd)`);
    await store.put(`${SHARED}${name}`, await readFile(path));
    await rm(path);
  }
  const all = { ...loaded.all };
  for (const [k, v] of states) all[k] = v;
  await store.put(`${SHARED}state.json`, Buffer.from(JSON.stringify({ properties: all })));
  for (const s of loaded.legacy) {
    await store.delete(['carry.ndjson.gz', 'closed_sessions.parquet', 'closed_identities.parquet', 'state.json'].map((n) => stateKey(s, n)));
  }
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

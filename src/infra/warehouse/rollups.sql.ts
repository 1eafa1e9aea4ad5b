import { addDays } from '../../domain/time-zone.js';
import type { Column, ColumnType } from '../../domain/transformed-schema.js';
import {
  EVENT_MEASURES,
  FIRST_SESSIONS_COLUMNS,
  FIRST_SESSIONS_TABLE,
  ROLLUP_SETS,
  ROLLUP_TABLES,
  SESSION_MEASURES,
  SESSION_KEY_MEASURE_COLUMNS,
  sessionOrderKey,
  userFlags,
  USERS_SOURCE_COLUMNS,
  type RollupTable,
} from '../../domain/rollups.js';
import type { PartitionRef, WarehouseTable } from './warehouse.port.js';

/**
 * Building the per-day rollups of `src/domain/rollups.ts`, in SQL both DuckDB and PostgreSQL run.
 * Called inside a load's transaction, after its partitions' rows were swapped, so readers see the
 * partitions and their rollups change together (one commit). A batch of loads rebuilds every
 * affected day in one statement per rollup table, from the final rows: the days a load of each
 * partition alone would rebuild, once.
 */
export interface RollupRunner {
  /** The engine's SQL type per column type (for the scratch tables). */
  types: Record<ColumnType, string>;
  run(sql: string, params: unknown[]): Promise<void>;
  /** The rows, each as an array of its columns. */
  rows(sql: string, params: unknown[]): Promise<unknown[][]>;
  /** Insert rollup rows in (tenant, property, day) order: DuckDB's row-group statistics then skip other partitions. */
  clustered?: boolean;
}

/** A partition a load replaced. */
export interface LoadedPartition {
  table: WarehouseTable;
  partition: PartitionRef;
}

const DAY_MS = 86_400_000;
/** Keys per statement: 3 parameters each stay far below PostgreSQL's 65,535. */
const CHUNK = 5_000;

export function rollupDdl(types: Record<ColumnType, string>, withIndexes: boolean): string[] {
  const create = (name: string, columns: readonly Column[]) =>
    `CREATE TABLE IF NOT EXISTS ${name} (${columns.map((c) => `${c.name} ${types[c.type]}`).join(', ')})`;
  return [
    ...ROLLUP_TABLES.flatMap((t) => [
      create(t.name, t.columns),
      ...(withIndexes ? [`CREATE INDEX IF NOT EXISTS ${t.name}_partition_idx ON ${t.name} (tenant_id, property_id, local_date)`] : []),
    ]),
    create(FIRST_SESSIONS_TABLE, FIRST_SESSIONS_COLUMNS),
    ...(withIndexes ? [`CREATE INDEX IF NOT EXISTS ${FIRST_SESSIONS_TABLE}_client_idx ON ${FIRST_SESSIONS_TABLE} (tenant_id, property_id, client_id)`] : []),
  ];
}

const keyOf = (p: PartitionRef) => `${p.tenantId}\u0000${p.propertyId}\u0000${p.date}`;

/**
 * Per sessions partition of `loads`, how many days after its date its sessions' events may lie
 * (a session's events lie on its start date up to its end's date): call before the swap (the old
 * sessions) and after it (the new). Absent: no sessions.
 */
export async function sessionSpanDays(r: RollupRunner, loads: readonly LoadedPartition[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const keys = loads.filter((l) => l.table === 'sessions').map((l) => l.partition);
  for (let i = 0; i < keys.length; i += CHUNK) {
    const chunk = keys.slice(i, i + CHUNK);
    const rows = await r.rows(
      `SELECT s.tenant_id, s.property_id, CAST(s.local_date AS VARCHAR), MAX(s.session_end_ms - s.session_start_ms)
         FROM sessions s JOIN ${keysTable(chunk)} ON s.tenant_id = k.tenant_id AND s.property_id = k.property_id AND s.local_date = k.local_date
        GROUP BY s.tenant_id, s.property_id, s.local_date`,
      chunk.flatMap((k) => [k.tenantId, k.propertyId, k.date]),
    );
    for (const [tenantId, propertyId, date, ms] of rows) {
      // +1: local dates of start and end can differ by one more day than the duration (midnight, DST)
      if (ms !== null) out.set(keyOf({ tenantId: String(tenantId), propertyId: String(propertyId), date: String(date) }), Math.floor(Number(ms) / DAY_MS) + 1);
    }
  }
  return out;
}

/**
 * Rebuilds the rollups the loads touched: an events load its day's users tables; a sessions load
 * its day's sessions tables and the users tables of every day its old (`spanBefore`, from
 * sessionSpanDays before the swap) or new sessions' events lie on. Identities are merged at query
 * time: their loads change no rollup.
 */
export async function rebuildRollups(r: RollupRunner, loads: readonly LoadedPartition[], spanBefore: Map<string, number>): Promise<void> {
  const spanAfter = await sessionSpanDays(r, loads);
  const sessionDays = new Map<string, PartitionRef>();
  const userDays = new Map<string, PartitionRef>();
  for (const { table, partition: p } of loads) {
    if (table === 'events') userDays.set(keyOf(p), p);
    if (table !== 'sessions') continue;
    sessionDays.set(keyOf(p), p);
    const span = Math.max(spanBefore.get(keyOf(p)) ?? 0, spanAfter.get(keyOf(p)) ?? 0);
    for (let i = 0; i <= span; i++) {
      const day = { ...p, date: addDays(p.date, i) };
      userDays.set(keyOf(day), day);
    }
  }
  const match = (t: string) => `${t}.tenant_id = k.tenant_id AND ${t}.property_id = k.property_id AND ${t}.local_date = k.local_date`;
  if (sessionDays.size) {
    await fillDays(r, [...sessionDays.values()]);
    for (const t of ROLLUP_TABLES) {
      if (t.side !== 'sessions') continue;
      await r.run(`DELETE FROM ${t.name} WHERE EXISTS (SELECT 1 FROM ${DAYS} k WHERE ${match(t.name)})`, []);
      await r.run(sessionsInsert(t, match('s')) + clusterBy(r), []);
    }
    await rebuildFirstSessions(r, match);
    await r.run(`DROP TABLE ${DAYS}`, []);
  }
  if (userDays.size === 0) return;
  await fillDays(r, [...userDays.values()]);
  // each day's events joined to their sessions once, then grouped per set; an event's session
  // started at most `days_back` days before the event's day (bounds the sessions scanned)
  await r.run(
    `CREATE TEMP TABLE ${BACK} AS SELECT k.tenant_id, k.property_id, k.local_date,
       CAST(GREATEST(0, FLOOR(MAX(e.event_ms - e.session_start_ms) / ${DAY_MS}.0)) AS INTEGER) + 1 AS days_back
       FROM ${DAYS} k JOIN events e ON ${match('e')} GROUP BY k.tenant_id, k.property_id, k.local_date`,
    [],
  );
  const cols = [
    ...SCRATCH_EVENT_COLUMNS.map((c) => `${c.name} ${r.types[c.type]}`),
    ...SESSION_KEY_MEASURE_COLUMNS.map((c) => `session_${c.name} ${r.types[c.type]}`),
    `session_first ${r.types.string}`,
  ];
  await r.run(`CREATE TEMP TABLE ${SCRATCH} (${cols.join(', ')})`, []);
  // session_first: the order key of the event's session when this is its first event (for us_first)
  const first = `CASE WHEN e.seq_in_session = 1 AND s.is_bot IS NOT TRUE THEN ${sessionOrderKey('s.session_start_ms', 's.session_key')} END`;
  await r.run(
    `INSERT INTO ${SCRATCH} SELECT ${SCRATCH_EVENT_COLUMNS.map((c) => `e.${c.name}`).join(', ')}, ` +
      `${SESSION_KEY_MEASURE_COLUMNS.map((c) => `s.${c.name}`).join(', ')}, ${first} ` +
      `FROM events e JOIN ${BACK} k ON ${match('e')} ` +
      `LEFT JOIN sessions s ON s.tenant_id = e.tenant_id AND s.property_id = e.property_id AND s.session_key = e.session_key ` +
      `AND s.local_date BETWEEN k.local_date - k.days_back AND k.local_date ` +
      `WHERE e.is_bot IS NOT TRUE`,
    [],
  );
  for (const t of ROLLUP_TABLES) {
    if (t.side === 'sessions') continue;
    // a day without events keeps no rows
    await r.run(`DELETE FROM ${t.name} WHERE EXISTS (SELECT 1 FROM ${DAYS} k WHERE ${match(t.name)})`, []);
    await r.run((t.side === 'users' ? usersInsert(t) : sessionKeysInsert(t)) + clusterBy(r), []);
  }
  for (const t of [SCRATCH, BACK, DAYS]) await r.run(`DROP TABLE ${t}`, []);
}

const SCRATCH = 'tally_rollup_scratch';
const CLIENTS = 'tally_rollup_clients';
const DAYS = 'tally_rollup_days';
const BACK = 'tally_rollup_days_back';
const SCRATCH_EVENT_COLUMNS: readonly Column[] = [
  { name: 'tenant_id', type: 'string' as const },
  { name: 'property_id', type: 'string' as const },
  { name: 'local_date', type: 'date' as const },
  ...ROLLUP_SETS.flatMap((s) => [...(s.eventColumns ?? []), ...(s.sessionKeyColumns ?? [])]).map((name) => ({ name, type: 'string' as const })),
  { name: 'session_key', type: 'string' as const },
  ...USERS_SOURCE_COLUMNS,
].filter((c, i, all) => all.findIndex((x) => x.name === c.name) === i);

/**
 * `rollup_first_sessions` of the clients a sessions load of the days in DAYS can change: those
 * with a session on one of those days now (it may be their first) and those whose first session
 * was on one of them (it may be gone), recomputed from every loaded session of their property
 * (non-bot, as newUsers' detail form counts). Clients whose first session lies on another day and
 * who have no session on these days keep theirs: removing or adding sessions elsewhere cannot
 * change their minimum.
 */
async function rebuildFirstSessions(r: RollupRunner, match: (t: string) => string): Promise<void> {
  const f = FIRST_SESSIONS_TABLE;
  const same = (a: string, b: string) => ['tenant_id', 'property_id', 'client_id'].map((c) => `${a}.${c} = ${b}.${c}`).join(' AND ');
  await r.run(
    `CREATE TEMP TABLE ${CLIENTS} AS SELECT f.tenant_id, f.property_id, f.client_id FROM ${f} f JOIN ${DAYS} k ON ${match('f')} ` +
      `UNION SELECT s.tenant_id, s.property_id, s.client_id FROM sessions s JOIN ${DAYS} k ON ${match('s')} WHERE s.client_id IS NOT NULL`,
    [],
  );
  await r.run(`DELETE FROM ${f} WHERE EXISTS (SELECT 1 FROM ${CLIENTS} c WHERE ${same('c', f)})`, []);
  await r.run(
    `INSERT INTO ${f} (${FIRST_SESSIONS_COLUMNS.map((c) => c.name).join(', ')}) ` +
      `SELECT tenant_id, property_id, client_id, local_date, first_session FROM (` +
      `SELECT s.tenant_id, s.property_id, s.client_id, s.local_date, ${sessionOrderKey('s.session_start_ms', 's.session_key')} AS first_session, ` +
      `ROW_NUMBER() OVER (PARTITION BY s.tenant_id, s.property_id, s.client_id ORDER BY s.session_start_ms, s.session_key) AS rn ` +
      `FROM sessions s JOIN ${CLIENTS} c ON ${same('c', 's')} WHERE s.is_bot IS NOT TRUE) firsts WHERE rn = 1`,
    [],
  );
  await r.run(`DROP TABLE ${CLIENTS}`, []);
}

/** `keys` as a derived table `k(tenant_id, property_id, local_date)` of parameters $1…. */
function keysTable(keys: readonly PartitionRef[]): string {
  return `(VALUES ${keys.map((_, i) => `($${3 * i + 1}, $${3 * i + 2}, CAST($${3 * i + 3} AS DATE))`).join(', ')}) AS k(tenant_id, property_id, local_date)`;
}

/** The temp table DAYS holding `days`. */
async function fillDays(r: RollupRunner, days: readonly PartitionRef[]): Promise<void> {
  await r.run(`CREATE TEMP TABLE ${DAYS} (tenant_id ${r.types.string}, property_id ${r.types.string}, local_date ${r.types.date})`, []);
  for (let i = 0; i < days.length; i += CHUNK) {
    const chunk = days.slice(i, i + CHUNK);
    await r.run(
      `INSERT INTO ${DAYS} SELECT * FROM ${keysTable(chunk)}`,
      chunk.flatMap((k) => [k.tenantId, k.propertyId, k.date]),
    );
  }
}

const clusterBy = (r: RollupRunner) => (r.clustered ? ' ORDER BY 1, 2, 3' : '');

function usersInsert(t: RollupTable): string {
  const group = ['e.tenant_id', 'e.property_id', 'e.local_date', ...(t.set.eventColumns ?? []).map((c) => `e.${c}`), 'e.client_id', 'e.user_id'];
  const measures = [...Object.values(EVENT_MEASURES), ...Object.values(userFlags('e.session_engaged', 'e.session_first'))];
  // the scratch table holds exactly the days being rebuilt
  return (
    `INSERT INTO ${t.name} (${t.columns.map((c) => c.name).join(', ')}) SELECT ${[...group, ...measures].join(', ')} ` +
    `FROM ${SCRATCH} e GROUP BY ${group.join(', ')}`
  );
}

/** One row per (day, columns, session) of the scratch's events, with the session's measure columns. */
function sessionKeysInsert(t: RollupTable): string {
  const cols = ['e.tenant_id', 'e.property_id', 'e.local_date', ...(t.set.sessionKeyColumns ?? []).map((c) => `e.${c}`), 'e.session_key'];
  return (
    `INSERT INTO ${t.name} (${t.columns.map((c) => c.name).join(', ')}) ` +
    `SELECT DISTINCT ${[...cols, ...SESSION_KEY_MEASURE_COLUMNS.map((c) => `e.session_${c.name}`)].join(', ')} FROM ${SCRATCH} e`
  );
}

function sessionsInsert(t: RollupTable, onDay: string): string {
  const group = ['s.tenant_id', 's.property_id', 's.local_date', ...(t.set.sessionColumns ?? []).map((c) => `s.${c}`)];
  return (
    `INSERT INTO ${t.name} (${t.columns.map((c) => c.name).join(', ')}) SELECT ${[...group, ...Object.values(SESSION_MEASURES)].join(', ')} ` +
    `FROM sessions s JOIN ${DAYS} k ON ${onDay} WHERE s.is_bot IS NOT TRUE GROUP BY ${group.join(', ')}`
  );
}

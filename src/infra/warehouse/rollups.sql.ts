import { addDays } from '../../domain/time-zone.js';
import type { Column, ColumnType } from '../../domain/transformed-schema.js';
import { EVENT_MEASURES, ROLLUP_SETS, ROLLUP_TABLES, SESSION_MEASURES, userFlags, USERS_SOURCE_COLUMNS, type RollupTable } from '../../domain/rollups.js';
import type { PartitionRef, WarehouseTable } from './warehouse.port.js';

/**
 * Building the per-day rollups of `src/domain/rollups.ts`, in SQL both DuckDB and PostgreSQL run.
 * Called inside a partition load's transaction, after its rows were swapped, so readers see the
 * partition and its rollups change together (one commit).
 */
export interface RollupRunner {
  /** The engine's SQL type per column type (for the scratch table). */
  types: Record<ColumnType, string>;
  run(sql: string, params: unknown[]): Promise<void>;
  /** The first column of the first row, as a number (null when NULL or no row). */
  scalar(sql: string, params: unknown[]): Promise<number | null>;
}

const DAY_MS = 86_400_000;

export function rollupDdl(types: Record<ColumnType, string>, withIndexes: boolean): string[] {
  return ROLLUP_TABLES.flatMap((t) => [
    `CREATE TABLE IF NOT EXISTS ${t.name} (${t.columns.map((c) => `${c.name} ${types[c.type]}`).join(', ')})`,
    ...(withIndexes ? [`CREATE INDEX IF NOT EXISTS ${t.name}_partition_idx ON ${t.name} (tenant_id, property_id, local_date)`] : []),
  ]);
}

/**
 * What a load of `table` for partition `p` changes, to be called before its DELETE: the days
 * of users rollups whose rows read the partition's old sessions (a session's events lie on its
 * start date up to its end's date).
 */
export async function sessionSpanDays(r: RollupRunner, table: WarehouseTable, p: PartitionRef): Promise<number> {
  if (table !== 'sessions') return 0;
  const ms = await r.scalar(
    'SELECT MAX(session_end_ms - session_start_ms) FROM sessions WHERE tenant_id = $1 AND property_id = $2 AND local_date = CAST($3 AS DATE)',
    [p.tenantId, p.propertyId, p.date],
  );
  // +1: local dates of start and end can differ by one more day than the duration (midnight, DST)
  return ms === null ? 0 : Math.floor(ms / DAY_MS) + 1;
}

/**
 * Rebuilds the rollups a load of `table` for `p` touched: an events load its day's users tables;
 * a sessions load its day's sessions tables and the users tables of every day its old
 * (`spanBefore`, from sessionSpanDays before the swap) or new sessions' events lie on.
 * Identities are merged at query time: their loads change no rollup.
 */
export async function rebuildRollups(r: RollupRunner, table: WarehouseTable, p: PartitionRef, spanBefore: number): Promise<void> {
  const key = [p.tenantId, p.propertyId];
  const userDays: string[] = [];
  if (table === 'events') userDays.push(p.date);
  if (table === 'sessions') {
    for (const t of ROLLUP_TABLES) if (t.side === 'sessions') await rebuildDay(r, t, sessionsInsert(t), key, p.date);
    const span = Math.max(spanBefore, await sessionSpanDays(r, table, p));
    for (let i = 0; i <= span; i++) userDays.push(addDays(p.date, i));
  }
  if (userDays.length === 0) return;
  // each day's events joined to their sessions once, then grouped per set
  const cols = [...SCRATCH_EVENT_COLUMNS.map((c) => `${c.name} ${r.types[c.type]}`), `session_engaged ${r.types.boolean}`];
  await r.run(`CREATE TEMP TABLE ${SCRATCH} (${cols.join(', ')})`, []);
  for (const date of userDays) await rebuildUsers(r, key, date);
  await r.run(`DROP TABLE ${SCRATCH}`, []);
}

const SCRATCH = 'tally_rollup_scratch';
const SCRATCH_EVENT_COLUMNS: readonly Column[] = [
  { name: 'tenant_id', type: 'string' as const },
  { name: 'property_id', type: 'string' as const },
  { name: 'local_date', type: 'date' as const },
  ...ROLLUP_SETS.flatMap((s) => s.eventColumns ?? []).map((name) => ({ name, type: 'string' as const })),
  ...USERS_SOURCE_COLUMNS,
].filter((c, i, all) => all.findIndex((x) => x.name === c.name) === i);

async function rebuildUsers(r: RollupRunner, key: string[], date: string): Promise<void> {
  const users = ROLLUP_TABLES.filter((t) => t.side === 'users');
  // the event's session started at most this many days before it (bounds the sessions scanned)
  const ms = await r.scalar('SELECT MAX(event_ms - session_start_ms) FROM events WHERE tenant_id = $1 AND property_id = $2 AND local_date = CAST($3 AS DATE)', [
    ...key,
    date,
  ]);
  if (ms === null) {
    for (const t of users) await rebuildDay(r, t, null, key, date);
    return;
  }
  const daysBack = Math.max(0, Math.floor(ms / DAY_MS)) + 1;
  await r.run(`DELETE FROM ${SCRATCH}`, []);
  await r.run(
    `INSERT INTO ${SCRATCH} SELECT ${SCRATCH_EVENT_COLUMNS.map((c) => `e.${c.name}`).join(', ')}, s.engaged ` +
      `FROM events e LEFT JOIN sessions s ON s.tenant_id = e.tenant_id AND s.property_id = e.property_id AND s.session_key = e.session_key ` +
      `AND s.local_date BETWEEN CAST($3 AS DATE) - ${daysBack} AND CAST($3 AS DATE) ` +
      `WHERE e.tenant_id = $1 AND e.property_id = $2 AND e.local_date = CAST($3 AS DATE) AND e.is_bot IS NOT TRUE`,
    [...key, date],
  );
  for (const t of users) await rebuildDay(r, t, usersInsert(t), key, date);
}

async function rebuildDay(r: RollupRunner, t: RollupTable, insert: string | null, key: string[], date: string): Promise<void> {
  await r.run(`DELETE FROM ${t.name} WHERE tenant_id = $1 AND property_id = $2 AND local_date = CAST($3 AS DATE)`, [...key, date]);
  if (insert) await r.run(insert, [...key, date]);
}

function usersInsert(t: RollupTable): string {
  const group = ['e.tenant_id', 'e.property_id', 'e.local_date', ...(t.set.eventColumns ?? []).map((c) => `e.${c}`), 'e.client_id', 'e.user_id'];
  const measures = [...Object.values(EVENT_MEASURES), ...Object.values(userFlags('e.session_engaged'))];
  // the scratch table holds only this day of this property; the filter keeps rebuildDay's one signature
  return (
    `INSERT INTO ${t.name} (${t.columns.map((c) => c.name).join(', ')}) SELECT ${[...group, ...measures].join(', ')} ` +
    `FROM ${SCRATCH} e WHERE e.tenant_id = $1 AND e.property_id = $2 AND e.local_date = CAST($3 AS DATE) GROUP BY ${group.join(', ')}`
  );
}

function sessionsInsert(t: RollupTable): string {
  const group = ['s.tenant_id', 's.property_id', 's.local_date', ...(t.set.sessionColumns ?? []).map((c) => `s.${c}`)];
  return (
    `INSERT INTO ${t.name} (${t.columns.map((c) => c.name).join(', ')}) SELECT ${[...group, ...Object.values(SESSION_MEASURES)].join(', ')} ` +
    `FROM sessions s WHERE s.tenant_id = $1 AND s.property_id = $2 AND s.local_date = CAST($3 AS DATE) AND s.is_bot IS NOT TRUE GROUP BY ${group.join(', ')}`
  );
}

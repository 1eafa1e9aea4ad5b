import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { IDENTITY_LINK_EVENT } from '../../domain/identity-link.js';
import type { PropertySettings } from '../../domain/property-settings.js';
import { addDays, datesBetween, localDate, startOfLocalDate } from '../../domain/time-zone.js';
import { TRANSFORMED_TABLE_NAMES, TRANSFORMED_TABLES, type TransformedTable } from '../../domain/transformed-schema.js';
import type { ObjectStore } from '../object-store/object-store.port.js';
import type { CycleRequest, CycleResult, WrittenPartition } from './transform-engine.port.js';
import { RAW_FIELDS, copyRows, readRawJson, sqlString } from './transform.sql.js';

/**
 * One incremental cycle on DuckDB (README: "Incremental cycles"). Input: the raw objects archived
 * since the last cycle plus the carried state (the raw records of the sessions still open, as one
 * object); output: rows of the sessions this cycle touched, closed ones appended as a new file
 * per day partition (`c-<cycle>.parquet`), open ones in `open.parquet` (replaced each cycle), and
 * the new state. A late event (before the last cut), a duplicate of an event already written or a
 * client session id of a closed session makes the cycle a rebuild: every date from the day before
 * the earliest such event is re-transformed whole, with the earlier raw objects as context.
 */

const MAX_MS = Number.MAX_SAFE_INTEGER;
const DAY_MS = 86_400_000;
/** Closed session keys are remembered this long after the cut, to catch a client session id reused late. */
const CLOSED_KEY_KEEP_MS = 2 * DAY_MS;

export interface CycleState {
  /** Events before this instant are late: their sessions may be closed. */
  cutMs: number | null;
  /** Local dates holding an `open.parquet`, per table. */
  openDates: Record<TransformedTable, string[]>;
}

export interface CycleContext {
  store: ObjectStore;
  conn: DuckDBConnection;
  stage: string;
  /** A record received at t may have an event time down to t - lateAllowanceMs without being late. */
  lateAllowanceMs: number;
  readablePaths(keys: string[]): Promise<string[]>;
  /** Runs the shared statements over `raw` (transform.sql.ts) for [startMs, endMs). */
  runStatements(settings: PropertySettings, startMs: number, endMs: number, spanMs: [number, number]): Promise<void>;
}

export function stateKey(s: PropertySettings, name: string): string {
  return `state/transform/tenant=${s.tenantId}/property=${s.propertyId}/${name}`;
}

export function partitionPrefix(table: TransformedTable, s: PropertySettings, date: string): string {
  return `transformed/${table}/tenant=${s.tenantId}/property=${s.propertyId}/dt=${date}/`;
}

export async function runCycle(ctx: CycleContext, req: CycleRequest): Promise<CycleResult> {
  const { conn, store, settings: s } = { ...ctx, settings: req.settings };
  const state = await loadState(store, s);
  const timeoutMs = s.sessionTimeoutMinutes * 60_000;
  const own = `tenant_id = ${sqlString(s.tenantId)} AND property_id = ${sqlString(s.propertyId)}`;
  const eventMs = 'coalesce(client_ts, received_at)';

  // the new records and the carried ones, apart until the late check is done
  const fields = RAW_FIELDS.map(([n, t]) => `${n} ${t}`).join(', ');
  await conn.run(`CREATE OR REPLACE TEMP TABLE new_raw (${fields})`);
  await insertJson(conn, 'new_raw', await ctx.readablePaths(req.newKeys));
  await conn.run(`CREATE OR REPLACE TEMP TABLE carry_raw (${fields})`);
  const carryKey = stateKey(s, 'carry.ndjson.gz');
  await insertJson(conn, 'carry_raw', (await store.list(carryKey)).length ? await ctx.readablePaths([carryKey]) : []);
  const rawRead = await scalar(conn, 'SELECT count(*) FROM new_raw');
  await loadKeys(ctx, s);

  // a later copy of an event already written is dropped (counted once); an earlier one, an event
  // before the last cut or a client session id of a closed session are late: they make a rebuild
  let lateMs = req.rebuildFrom ? startOfLocalDate(req.rebuildFrom, s.timeZone) + DAY_MS : null;
  let late = 0;
  let duplicates = 0;
  if (rawRead > 0 && state.cutMs !== null) {
    const d = await dropWrittenCopies(ctx, s);
    duplicates = d.dropped;
    late = d.late;
    if (d.lateMs !== null) lateMs = Math.min(lateMs ?? MAX_MS, d.lateMs);
  }

  if (state.cutMs !== null && rawRead > 0) {
    const r = await row(
      conn,
      `
      SELECT count(*), min(${eventMs}) FROM new_raw
      WHERE ${own} AND (${eventMs} < ${state.cutMs}
        OR (session_id IS NOT NULL AND coalesce(client_id, user_id, event_id) || ':' || session_id IN (SELECT session_key FROM closed_sessions)))`,
    );
    late += Number(r[0]);
    if (r[1] !== null) lateMs = Math.min(lateMs ?? MAX_MS, Number(r[1]));
  }
  // raw = [context | new | carry] by rowid; rows from `freshFrom` on are new or carried. A rebuild
  // re-transforms every date from `from` on, reading the earlier objects from the day before as context.
  const from = lateMs === null ? null : addDays(localDate(lateMs, s.timeZone), -1);
  const startMs = from === null ? 0 : startOfLocalDate(addDays(from, -1), s.timeZone);
  await conn.run(`CREATE OR REPLACE TEMP TABLE raw (${fields})`);
  if (from !== null) {
    // the carried copy is the one kept among the copies read before
    await insertJson(conn, 'raw', await ctx.readablePaths(await req.earlierKeys(startMs, MAX_MS)), 'event_id NOT IN (SELECT event_id FROM carry_raw)');
  }
  const freshFrom = await scalar(conn, 'SELECT count(*) FROM raw');
  await conn.run('INSERT INTO raw SELECT * FROM new_raw');
  await conn.run('INSERT INTO raw SELECT * FROM carry_raw');

  const span = await row(conn, `SELECT min(${eventMs}), max(${eventMs}), max(received_at) FROM raw WHERE ${own}`);
  if (span[0] === null) {
    await saveState(ctx, s, state);
    return { partitions: [], rawRead, eventsWritten: 0, rebuiltFrom: from, late, duplicates };
  }
  await ctx.runStatements(s, startMs, MAX_MS, [Number(span[0]), Number(span[1])]);

  const maxReceived = Number(span[2]);
  const cutMs = Math.max(state.cutMs ?? -MAX_MS, maxReceived - ctx.lateAllowanceMs);
  const fromDate = from === null ? '9999-12-31' : from;
  // sessions of this run: open (may still grow), written (fresh, or dated in the rebuilt range)
  await conn.run(`
    CREATE OR REPLACE TEMP TABLE run_sessions AS
    SELECT session_key, max(event_ms) >= ${cutMs - timeoutMs} AS open, bool_or(rid >= ${freshFrom}) AS fresh,
      max(event_ms) AS end_ms
    FROM facts GROUP BY session_key`);
  await conn.run(`
    CREATE OR REPLACE TEMP VIEW out_events AS
    SELECT o.*, s.open FROM events_out o JOIN run_sessions s USING (session_key)
    WHERE s.fresh OR o.local_date >= DATE ${sqlString(fromDate)}`);
  await conn.run(`
    CREATE OR REPLACE TEMP VIEW out_sessions AS
    SELECT o.*, s.open FROM sessions_out o JOIN run_sessions s USING (session_key)
    WHERE s.fresh OR o.local_date >= DATE ${sqlString(fromDate)}`);
  // items follow their event's session (issue 14)
  await conn.run(`
    CREATE OR REPLACE TEMP VIEW out_items AS
    SELECT o.*, s.open FROM items_out o JOIN run_sessions s USING (session_key)
    WHERE s.fresh OR o.local_date >= DATE ${sqlString(fromDate)}`);
  await conn.run(`
    CREATE OR REPLACE TEMP VIEW out_identities AS
    SELECT o.*, o.linked_ms >= ${cutMs} AS open, e.rid AS rid FROM identities_out o JOIN ev e USING (event_id)
    WHERE (e.rid >= ${freshFrom} OR o.local_date >= DATE ${sqlString(fromDate)})
      AND NOT EXISTS (SELECT 1 FROM closed_identities c WHERE c.client_id = o.client_id AND c.user_id = o.user_id
        AND c.local_date = o.local_date AND c.local_date < DATE ${sqlString(fromDate)})`);

  const written = await writeOutputs(ctx, s, req.cycleId, state, from);
  await conn.run(`
    CREATE OR REPLACE TEMP TABLE closed_sessions AS
    SELECT session_key, end_ms FROM closed_sessions WHERE end_ms >= ${cutMs - CLOSED_KEY_KEEP_MS}
    UNION SELECT session_key, end_ms FROM run_sessions WHERE NOT open AND end_ms >= ${cutMs - CLOSED_KEY_KEEP_MS}`);
  const keepDate = addDays(localDate(cutMs, s.timeZone), -1);
  await conn.run(`
    CREATE OR REPLACE TEMP TABLE closed_identities AS
    SELECT client_id, user_id, local_date FROM closed_identities
    WHERE local_date >= DATE ${sqlString(keepDate)} AND local_date < DATE ${sqlString(fromDate)}
    UNION SELECT client_id, user_id, local_date FROM out_identities WHERE NOT open AND local_date >= DATE ${sqlString(keepDate)}`);
  // carried: every record of an open session, and the record behind each open identity row
  await conn.run(`
    CREATE OR REPLACE TEMP TABLE carry AS
    SELECT ${RAW_FIELDS.map(([n]) => `r.${n}`).join(', ')} FROM raw r
    WHERE r.rowid IN (SELECT f.rid FROM facts f JOIN run_sessions s USING (session_key) WHERE s.open)
       OR r.rowid IN (SELECT rid FROM out_identities WHERE open)
    ORDER BY r.rowid`);
  await saveState(ctx, s, { cutMs, openDates: written.openDates });
  const eventsWritten = written.partitions.filter((p) => p.table === 'events').reduce((n, p) => n + p.rows, 0);
  return { partitions: written.partitions, rawRead, eventsWritten, rebuiltFrom: from, late, duplicates };
}

/**
 * New records with the id of an event already written in a closed file: a later copy loses (it
 * is dropped, so it counts once); an earlier or simultaneous one makes the cycle a rebuild.
 */
async function dropWrittenCopies(ctx: CycleContext, s: PropertySettings): Promise<{ dropped: number; late: number; lateMs: number | null }> {
  const { conn, store } = ctx;
  const span = await row(conn, `SELECT min(coalesce(client_ts, received_at)), max(coalesce(client_ts, received_at)) FROM new_raw`);
  if (span[0] === null) return { dropped: 0, late: 0, lateMs: null };
  const dates = datesBetween(addDays(localDate(Number(span[0]), s.timeZone), -1), addDays(localDate(Number(span[1]), s.timeZone), 1));
  const closedFiles = async (table: TransformedTable) => {
    const keys: string[] = [];
    for (const d of dates) {
      for (const o of await store.list(partitionPrefix(table, s, d))) if (o.key.endsWith('.parquet') && !o.key.endsWith('/open.parquet')) keys.push(o.key);
    }
    return ctx.readablePaths(keys);
  };
  const events = await closedFiles('events');
  const identities = await closedFiles('identities');
  const list = (paths: string[]) => `[${paths.map(sqlString).join(', ')}]`;
  await conn.run(`
    CREATE OR REPLACE TEMP TABLE written_copies AS
    SELECT r.rowid AS rid, r.received_at > w.received_at AS loses, least(coalesce(r.client_ts, r.received_at), w.event_ms) AS event_ms
    FROM new_raw r JOIN ${events.length ? `(SELECT event_id, received_at, event_ms FROM read_parquet(${list(events)}))` : '(SELECT NULL::VARCHAR AS event_id, NULL::BIGINT AS received_at, NULL::BIGINT AS event_ms WHERE false)'} w
      USING (event_id)
    UNION ALL
    SELECT r.rowid, false, least(coalesce(r.client_ts, r.received_at), w.linked_ms)
    FROM new_raw r JOIN ${identities.length ? `(SELECT event_id, linked_ms FROM read_parquet(${list(identities)}))` : '(SELECT NULL::VARCHAR AS event_id, NULL::BIGINT AS linked_ms WHERE false)'} w
      USING (event_id)
    WHERE r.name = ${sqlString(IDENTITY_LINK_EVENT)}`);
  const r = await row(
    conn,
    `SELECT count(*) FILTER (WHERE loses), count(*) FILTER (WHERE NOT loses), min(event_ms) FILTER (WHERE NOT loses) FROM written_copies`,
  );
  await conn.run(`DELETE FROM new_raw WHERE rowid IN (SELECT rid FROM written_copies WHERE loses)`);
  return { dropped: Number(r[0]), late: Number(r[1]), lateMs: r[2] === null ? null : Number(r[2]) };
}

/**
 * Writes closed rows as `c-<cycle>.parquet` and open rows as `open.parquet` per (table, date);
 * on a rebuild, removes every other file of the rebuilt dates; removes `open.parquet` where no
 * row is open any more. Returns each changed partition with its complete file list.
 */
async function writeOutputs(
  ctx: CycleContext,
  s: PropertySettings,
  cycleId: string,
  state: CycleState,
  from: string | null,
): Promise<{ partitions: WrittenPartition[]; openDates: Record<TransformedTable, string[]> }> {
  const { conn, store, stage } = ctx;
  const views = { events: 'out_events', sessions: 'out_sessions', identities: 'out_identities', items: 'out_items' } as const;
  const changed = new Map<string, { table: TransformedTable; date: string }>();
  const openDates = { events: [], sessions: [], identities: [], items: [] } as Record<TransformedTable, string[]>;
  const cycleFile = `c-${cycleId.replace(/[^A-Za-z0-9_-]/g, '_')}.parquet`;
  for (const table of TRANSFORMED_TABLE_NAMES) {
    const { columns, orderBy } = TRANSFORMED_TABLES[table];
    const counts = await conn.runAndReadAll(`SELECT CAST(local_date AS VARCHAR), open, count(*) FROM ${views[table]} GROUP BY ALL`);
    for (const [d, open] of counts.getRows()) {
      const date = String(d);
      const name = open ? 'open.parquet' : cycleFile;
      const path = join(stage, `${table}-${date}-${name}`);
      await conn.run(
        copyRows({
          table: views[table],
          columns,
          where: `local_date = DATE ${sqlString(date)} AND ${open ? '' : 'NOT '}open`,
          orderBy: orderBy.join(', '),
          path,
        }),
      );
      await store.put(partitionPrefix(table, s, date) + name, await readFile(path));
      await rm(path);
      if (open) openDates[table].push(date);
      changed.set(`${table}/${date}`, { table, date });
    }
    const keep = (date: string, key: string) => key.endsWith(`/${cycleFile}`) || (key.endsWith('/open.parquet') && openDates[table].includes(date));
    // open files no longer open
    for (const date of state.openDates[table] ?? []) {
      if (openDates[table].includes(date)) continue;
      await store.delete([partitionPrefix(table, s, date) + 'open.parquet']);
      changed.set(`${table}/${date}`, { table, date });
    }
    if (from !== null) {
      // a rebuild replaces the dates from `from` on whole
      const base = `transformed/${table}/tenant=${s.tenantId}/property=${s.propertyId}/dt=`;
      const stale: string[] = [];
      for (const o of await store.list(base)) {
        const date = o.key.slice(base.length, base.length + 10);
        if (date < from || keep(date, o.key)) continue;
        stale.push(o.key);
        changed.set(`${table}/${date}`, { table, date });
      }
      await store.delete(stale);
    }
  }
  const partitions: WrittenPartition[] = [];
  for (const { table, date } of [...changed.values()].sort((a, b) => (a.date + a.table).localeCompare(b.date + b.table))) {
    const keys = (await store.list(partitionPrefix(table, s, date))).map((o) => o.key).filter((k) => k.endsWith('.parquet'));
    const rows = keys.length ? await scalar(conn, `SELECT count(*) FROM read_parquet([${(await ctx.readablePaths(keys)).map(sqlString).join(', ')}])`) : 0;
    partitions.push({ table, date, keys, rows });
  }
  return { partitions, openDates };
}

/** The file a closed day's partition is compacted into. */
export const COMPACTED_FILE = 'compacted.parquet';

/**
 * Merges the files of one closed day partition (no `open.parquet`; no cycle writes into it any
 * more) into `compacted.parquet`, sorted as the table's files are. Idempotent and crash-safe: the
 * merged file is put whole first; if it is already there beside other files (a run that stopped
 * before removing them), it already holds their rows and only the list changes. The caller
 * records `keys`, then deletes `obsolete`. Null when there is nothing to do.
 */
export async function compactPartition(
  ctx: Pick<CycleContext, 'conn' | 'store' | 'stage' | 'readablePaths'>,
  s: PropertySettings,
  table: TransformedTable,
  date: string,
): Promise<{ keys: string[]; obsolete: string[]; rows: number } | null> {
  const prefix = partitionPrefix(table, s, date);
  const files = (await ctx.store.list(prefix)).map((o) => o.key).filter((k) => k.endsWith('.parquet'));
  const target = prefix + COMPACTED_FILE;
  if (files.some((k) => k.endsWith('/open.parquet'))) return null;
  if (files.length === 0 || (files.length === 1 && files[0] === target)) return null;
  const obsolete = files.filter((k) => k !== target);
  if (!files.includes(target)) {
    const { columns, orderBy } = TRANSFORMED_TABLES[table];
    const path = join(ctx.stage, `compact-${table}-${date}.parquet`);
    const source = `read_parquet([${(await ctx.readablePaths(obsolete)).map(sqlString).join(', ')}], hive_partitioning = false)`;
    await ctx.conn.run(copyRows({ table: source, columns, where: 'true', orderBy: orderBy.join(', '), path }));
    await ctx.store.put(target, await readFile(path));
    await rm(path);
  }
  const [merged] = await ctx.readablePaths([target]);
  const rows = await scalar(ctx.conn, `SELECT count(*) FROM read_parquet(${sqlString(merged)})`);
  return { keys: [target], obsolete, rows };
}

async function loadState(store: ObjectStore, s: PropertySettings): Promise<CycleState> {
  const body = await store.get(stateKey(s, 'state.json'));
  if (!body) return { cutMs: null, openDates: { events: [], sessions: [], identities: [], items: [] } };
  return JSON.parse(body.toString('utf8')) as CycleState;
}

/** The closed-session and closed-identity keys of the state, as tables (empty when none). */
async function loadKeys(ctx: CycleContext, s: PropertySettings): Promise<void> {
  const tables = {
    closed_sessions: 'session_key VARCHAR, end_ms BIGINT',
    closed_identities: 'client_id VARCHAR, user_id VARCHAR, local_date DATE',
  } as const;
  for (const [name, cols] of Object.entries(tables)) {
    const key = stateKey(s, `${name}.parquet`);
    if ((await ctx.store.list(key)).length) {
      const [path] = await ctx.readablePaths([key]);
      await ctx.conn.run(`CREATE OR REPLACE TEMP TABLE ${name} AS SELECT * FROM read_parquet(${sqlString(path)})`);
    } else {
      await ctx.conn.run(`CREATE OR REPLACE TEMP TABLE ${name} (${cols})`);
    }
  }
}

/** Writes the carried records and the key tables, then state.json last. */
async function saveState(ctx: CycleContext, s: PropertySettings, state: CycleState): Promise<void> {
  const { conn, store, stage } = ctx;
  const hasCarry = (await scalar(conn, `SELECT count(*) FROM duckdb_tables() WHERE table_name = 'carry' AND temporary`)) > 0;
  const carryPath = join(stage, 'carry.ndjson.gz');
  if (hasCarry && (await scalar(conn, 'SELECT count(*) FROM carry')) > 0) {
    await conn.run(`COPY carry TO ${sqlString(carryPath)} (FORMAT json, COMPRESSION gzip)`);
    await store.put(stateKey(s, 'carry.ndjson.gz'), await readFile(carryPath));
  } else if (hasCarry) {
    await store.delete([stateKey(s, 'carry.ndjson.gz')]);
  }
  for (const name of ['closed_sessions', 'closed_identities']) {
    const path = join(stage, `${name}.parquet`);
    await conn.run(`COPY ${name} TO ${sqlString(path)} (FORMAT parquet)`);
    await store.put(stateKey(s, `${name}.parquet`), await readFile(path));
  }
  const json = join(stage, 'state.json');
  await writeFile(json, JSON.stringify(state));
  await store.put(stateKey(s, 'state.json'), await readFile(json));
}

async function insertJson(conn: DuckDBConnection, table: string, paths: string[], where = 'true'): Promise<void> {
  if (!paths.length) return;
  await conn.run(`INSERT INTO ${table} ${readRawJson(paths, where)}`);
}

async function row(conn: DuckDBConnection, query: string): Promise<unknown[]> {
  return (await conn.runAndReadAll(query)).getRows()[0];
}

async function scalar(conn: DuckDBConnection, query: string): Promise<number> {
  return Number((await row(conn, query))[0]);
}

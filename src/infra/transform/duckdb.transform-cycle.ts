import { randomUUID } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { IDENTITY_LINK_EVENT } from '../../domain/identity-link.js';
import type { PropertySettings } from '../../domain/property-settings.js';
import { addDays, datesBetween, localDate, startOfLocalDate } from '../../domain/time-zone.js';
import { TRANSFORMED_TABLES, type TransformedTable } from '../../domain/transformed-schema.js';
import { addWritten, indexedCopies, markCurrent, readyIndex } from './cycle-id-index.js';
import { writeOutputs } from './cycle-outputs.js';
import { phaseTimer } from './cycle-timings.js';
import { type CycleState, count, inParallel, list, loadStates, partitionPrefix, propertyKey, saveStates, type StoreAccess } from './cycle-state.js';
import { ATTRIBUTION_PARAMS } from './enrichment-dims.js';
import { propertyParams } from './raw-window.js';
import { loadPriorTouches, lookbackSessionKeys } from './prior-touch.js';
import { LOOKBACK_MS, TOUCH_FIELDS } from './transform-attribution.sql.js';
import type { CycleRequest, CycleResult } from './transform-engine.port.js';
import { duckdbTransformDialect } from './transform-dialect.js';
import { copyRows, num, RAW_FIELDS, readRawJson, sqlString, type TransformParams, typed } from './transform.sql.js';

export { partitionPrefix, stateKey } from './cycle-state.js';
export type { CycleState } from './cycle-state.js';

/**
 * Incremental cycles on DuckDB (README: "Incremental cycles"), for a batch of properties in one
 * run. Input: the raw objects archived since each property's last cycle plus the carried state
 * (the raw records of the sessions still open); output: rows of the sessions this cycle touched,
 * closed ones appended as a new file per day partition (`c-<cycle>.parquet`), open ones in
 * `open.parquet` (replaced each cycle), and the new state. The statements run once over the
 * whole batch, each property's settings joined in as data.
 *
 * A late event (before the last cut), an earlier copy of an event already written or a client
 * session id of a closed session makes the property's cycle a rebuild: every date from the day
 * before the earliest such event is re-transformed whole, with the earlier raw objects as context.
 * A rebuild runs for one property alone: in a batch, such a property is left out and returned in
 * `deferred`, for the caller to run by itself.
 */

const MAX_MS = Number.MAX_SAFE_INTEGER;
const DAY_MS = 86_400_000;
/** Closed session keys are remembered this long after the cut, to catch a client session id reused late. */
const CLOSED_KEY_KEEP_MS = 2 * DAY_MS;
const EVENT_MS = 'coalesce(client_ts, received_at)';

export interface CycleContext extends StoreAccess {
  /** A record received at t may have an event time down to t - lateAllowanceMs without being late. */
  lateAllowanceMs: number;
  /** Runs the shared statements over `raw` (transform.sql.ts). */
  runStatements(params: TransformParams): Promise<void>;
  /** Where each cycle's phase timings go (profiling); none by default. */
  timings?: (line: string) => void;
}

export interface BatchResult {
  results: Map<string, CycleResult>;
  /** Properties whose cycle must rebuild: run each alone. */
  deferred: CycleRequest[];
}

export async function runCycle(ctx: CycleContext, req: CycleRequest): Promise<CycleResult> {
  const r = await runCycles(ctx, [req]);
  return r.results.get(propertyKey(req.settings))!;
}

export async function runCycles(ctx: CycleContext, reqs: readonly CycleRequest[]): Promise<BatchResult> {
  const { conn } = ctx;
  const lap = phaseTimer(ctx.timings);
  const single = reqs.length === 1;
  const props = reqs.map((r) => r.settings);
  const loaded = await loadStates(ctx, props);
  const { states } = loaded;
  lap.mark('load_state');
  const stateOf = (s: PropertySettings) => states.get(propertyKey(s))!;

  // the batch's properties as data: the previous cut and session timeout of each
  const fields = RAW_FIELDS.map(([n, t]) => `${n} ${t}`).join(', ');
  await conn.run(`CREATE OR REPLACE TEMP TABLE cyc AS ${cycTable(props, states)}`);
  // the new records and the carried ones, apart until the late check is done
  await conn.run(`CREATE OR REPLACE TEMP TABLE new_raw (${fields})`);
  await insertJson(conn, 'new_raw', await ctx.readablePaths(reqs.flatMap((r) => r.newKeys)), ownRow);
  await conn.run(`CREATE OR REPLACE TEMP TABLE carry_raw (${fields})`);
  await conn.run(`INSERT INTO carry_raw SELECT * FROM shared_carry WHERE ${ownRow}`);
  const rawRead = await perProperty(conn, `SELECT tenant_id, property_id, count(*) FROM new_raw GROUP BY ALL`);
  lap.mark('read_new');

  // a later copy of an event already written is dropped (counted once); an earlier one, an event
  // before the last cut or a client session id of a closed session are late: they make a rebuild
  const lateMs = new Map<string, number>();
  const minLate = (k: string, ms: number) => lateMs.set(k, Math.min(lateMs.get(k) ?? MAX_MS, ms));
  for (const r of reqs) if (r.rebuildFrom) minLate(propertyKey(r.settings), startOfLocalDate(r.rebuildFrom, r.settings.timeZone) + DAY_MS);
  const copies = await dropWrittenCopies(
    ctx,
    props.filter((s) => stateOf(s).cutMs !== null && rawRead.has(propertyKey(s))),
    new Map(props.map((s) => [propertyKey(s), stateOf(s).token ?? null])),
  );
  lap.mark('dup_check');
  const late = new Map<string, number>();
  const addLate = (k: string, n: number) => late.set(k, (late.get(k) ?? 0) + n);
  for (const [k, c] of copies) {
    addLate(k, c.late);
    if (c.lateMs !== null) minLate(k, c.lateMs);
  }
  const lateRows = await conn.runAndReadAll(`
    SELECT n.tenant_id, n.property_id, count(*), min(${EVENT_MS}) FROM new_raw n JOIN cyc c USING (tenant_id, property_id)
    WHERE c.prev_cut_ms IS NOT NULL AND (${EVENT_MS} < c.prev_cut_ms
      OR (n.session_id IS NOT NULL AND EXISTS (SELECT 1 FROM closed_sessions k WHERE k.tenant_id = n.tenant_id AND k.property_id = n.property_id
        AND k.session_key = coalesce(n.client_id, n.user_id, n.event_id) || ':' || n.session_id)))
    GROUP BY ALL`);
  for (const [t, p, n, ms] of lateRows.getRows()) {
    addLate(`${t}/${p}`, Number(n));
    minLate(`${t}/${p}`, Number(ms));
  }

  lap.mark('late_check');
  // a rebuild runs alone; in a batch the late properties are left for the caller
  const deferred = single ? [] : reqs.filter((r) => lateMs.has(propertyKey(r.settings)));
  const batch = reqs.filter((r) => !deferred.includes(r));
  if (deferred.length) {
    await conn.run(`DELETE FROM cyc WHERE tenant_id || '/' || property_id IN (${deferred.map((r) => sqlString(propertyKey(r.settings))).join(', ')})`);
    for (const t of ['new_raw', 'carry_raw']) await conn.run(`DELETE FROM ${t} WHERE NOT ${ownRow}`);
  }

  // raw = [context | new | carry] by rowid; rows from `freshFrom` on are new or carried. A rebuild
  // (single property) re-transforms every date from `from` on, reading the earlier objects from the day before as context.
  const rebuildMs = single ? (lateMs.get(propertyKey(props[0])) ?? null) : null;
  const from = rebuildMs === null ? null : addDays(localDate(rebuildMs, props[0].timeZone), -1);
  const startMs = from === null ? 0 : startOfLocalDate(addDays(from, -1), props[0].timeZone);
  await conn.run(`CREATE OR REPLACE TEMP TABLE raw (${fields})`);
  if (from !== null) {
    // the carried copy is the one kept among the copies read before
    const context = await ctx.readablePaths(await reqs[0].earlierKeys(startMs, MAX_MS));
    await insertJson(conn, 'raw', context, `${ownRow} AND event_id NOT IN (SELECT event_id FROM carry_raw)`);
  }
  const freshFrom = await count(conn, 'SELECT count(*) FROM raw');
  await conn.run('INSERT INTO raw SELECT * FROM new_raw');
  await conn.run('INSERT INTO raw SELECT * FROM carry_raw');
  lap.mark('assemble_raw');

  // each property's event-time span and new cut; properties without rows keep their state
  const spans = await conn.runAndReadAll(`
    SELECT tenant_id, property_id, min(${EVENT_MS}), max(${EVENT_MS}), max(received_at) FROM raw GROUP BY ALL`);
  const spanOf = new Map(spans.getRows().map(([t, p, lo, hi, rec]) => [`${t}/${p}`, [Number(lo), Number(hi), Number(rec)] as const]));
  const active = batch.map((r) => r.settings).filter((s) => spanOf.has(propertyKey(s)));
  const nowOf = (s: PropertySettings) => batch.find((r) => r.settings === s)?.nowMs;
  const results = new Map<string, CycleResult>();
  const empty = (s: PropertySettings): CycleResult => ({
    partitions: [],
    rawRead: rawRead.get(propertyKey(s)) ?? 0,
    eventsWritten: 0,
    rebuiltFrom: single ? from : null,
    late: late.get(propertyKey(s)) ?? 0,
    duplicates: copies.get(propertyKey(s))?.dropped ?? 0,
  });
  for (const r of batch) results.set(propertyKey(r.settings), empty(r.settings));
  if (!active.length) return { results, deferred };

  const newStates = new Map<string, CycleState>();
  for (const s of active) {
    const prev = stateOf(s).cutMs;
    const [, maxEventMs, maxReceivedMs] = spanOf.get(propertyKey(s))!;
    const cutMs = Math.max(prev ?? -MAX_MS, newCut(ctx.lateAllowanceMs, s, maxEventMs, maxReceivedMs, nowOf(s)));
    newStates.set(propertyKey(s), { ...stateOf(s), cutMs, token: `${reqs[0].cycleId}.${randomUUID().slice(0, 8)}` });
  }
  await conn.run(`
    CREATE OR REPLACE TEMP TABLE cyc AS SELECT c.*, n.cut_ms FROM cyc c JOIN (${typed(
      duckdbTransformDialect,
      ['tenant_id STRING', 'property_id STRING', 'cut_ms BIGINT'],
      active.map((s) => [sqlString(s.tenantId), sqlString(s.propertyId), num(newStates.get(propertyKey(s))!.cutMs!)]),
    )}) n USING (tenant_id, property_id)`);
  // last non-direct click: each user's latest non-direct closed session before the run, from the
  // carried state; a rebuild reads them from the sessions files of the days before its context
  if (from === null) await conn.run(`CREATE OR REPLACE TEMP TABLE prior_touch AS SELECT t.* FROM shared_touches t JOIN cyc c USING (tenant_id, property_id)`);
  else await loadPriorTouches(conn, props[0], await ctx.readablePaths(await lookbackSessionKeys(ctx.store, props[0], startMs)), startMs);
  await ctx.runStatements({
    properties: active.map((s) => {
      const [lo, hi] = spanOf.get(propertyKey(s))!;
      return propertyParams(s, { startMs, endMs: MAX_MS }, [lo, hi + 1]);
    }),
    attributionParams: ATTRIBUTION_PARAMS,
  });
  lap.mark('statements');

  const fromDate = sqlString(from ?? '9999-12-31');
  // sessions of this run: open (may still grow), written (fresh, or dated in the rebuilt range)
  await conn.run(`
    CREATE OR REPLACE TEMP TABLE run_sessions AS
    SELECT f.tenant_id, f.property_id, f.session_key, max(f.event_ms) >= any_value(c.cut_ms) - any_value(c.timeout_ms) AS open,
      bool_or(f.rid >= ${freshFrom}) AS fresh, max(f.event_ms) AS end_ms
    FROM facts f JOIN cyc c USING (tenant_id, property_id) GROUP BY f.tenant_id, f.property_id, f.session_key`);
  // the touches carried on: per user the latest of the prior one and this run's closed non-direct sessions
  await conn.run(`
    CREATE OR REPLACE TEMP TABLE new_touches AS
    SELECT ${TOUCH_FIELDS.map(([n]) => `y.${n}`).join(', ')} FROM (
      SELECT x.*, row_number() OVER (PARTITION BY tenant_id, property_id, user_key ORDER BY touch_ms DESC, tie DESC) AS n FROM (
        SELECT *, '' AS tie FROM prior_touch
        UNION ALL
        SELECT t.tenant_id, t.property_id, t.user_key, t.session_start_ms, t.source, t.medium, t.campaign, t.term, t.content, t.channel_group, t.session_key
        FROM sess_touch t JOIN run_sessions s USING (tenant_id, property_id, session_key)
        WHERE NOT t.is_direct AND NOT s.open AND t.user_key IS NOT NULL) x
    ) y JOIN cyc c USING (tenant_id, property_id)
    WHERE y.n = 1 AND y.touch_ms >= c.cut_ms - ${LOOKBACK_MS + CLOSED_KEY_KEEP_MS}`);
  for (const [view, table] of [
    ['out_events', 'events_out'],
    ['out_sessions', 'sessions_out'],
    // items follow their event's session (issue 14)
    ['out_items', 'items_out'],
  ]) {
    await conn.run(`
      CREATE OR REPLACE TEMP VIEW ${view} AS
      SELECT o.*, s.open FROM ${table} o JOIN run_sessions s USING (tenant_id, property_id, session_key)
      WHERE s.fresh OR o.local_date >= DATE ${fromDate}`);
  }
  await conn.run(`
    CREATE OR REPLACE TEMP VIEW out_identities AS
    SELECT o.*, o.linked_ms >= c.cut_ms AS open, e.rid AS rid
    FROM identities_out o JOIN ev e USING (event_id) JOIN cyc c ON c.tenant_id = o.tenant_id AND c.property_id = o.property_id
    WHERE e.tenant_id = o.tenant_id AND e.property_id = o.property_id
      AND (e.rid >= ${freshFrom} OR o.local_date >= DATE ${fromDate})
      AND NOT EXISTS (SELECT 1 FROM closed_identities k WHERE k.tenant_id = o.tenant_id AND k.property_id = o.property_id
        AND k.client_id = o.client_id AND k.user_id = o.user_id AND k.local_date = o.local_date AND k.local_date < DATE ${fromDate})`);

  lap.mark('run_sessions');
  await addWritten(conn, active, from);
  const written = await writeOutputs(ctx, active, batch[0].cycleId, states, from, lap);
  // closed keys of the properties that ran: the recent ones plus this run's (the others' are saved as they were)
  await conn.run(`
    CREATE OR REPLACE TEMP TABLE new_closed_sessions AS
    SELECT k.tenant_id, k.property_id, k.session_key, k.end_ms FROM closed_sessions k JOIN cyc c USING (tenant_id, property_id)
    WHERE k.end_ms >= c.cut_ms - ${CLOSED_KEY_KEEP_MS}
    UNION SELECT s.tenant_id, s.property_id, s.session_key, s.end_ms FROM run_sessions s JOIN cyc c USING (tenant_id, property_id)
    WHERE NOT s.open AND s.end_ms >= c.cut_ms - ${CLOSED_KEY_KEEP_MS}`);
  const keepDates = typed(
    duckdbTransformDialect,
    ['tenant_id STRING', 'property_id STRING', 'keep_date DATE'],
    active.map((s) => [
      sqlString(s.tenantId),
      sqlString(s.propertyId),
      `DATE ${sqlString(addDays(localDate(newStates.get(propertyKey(s))!.cutMs!, s.timeZone), -1))}`,
    ]),
  );
  await conn.run(`
    CREATE OR REPLACE TEMP TABLE new_closed_identities AS
    SELECT k.tenant_id, k.property_id, k.client_id, k.user_id, k.local_date FROM closed_identities k JOIN (${keepDates}) d USING (tenant_id, property_id)
    WHERE k.local_date >= d.keep_date AND k.local_date < DATE ${fromDate}
    UNION SELECT o.tenant_id, o.property_id, o.client_id, o.user_id, o.local_date FROM out_identities o JOIN (${keepDates}) d USING (tenant_id, property_id)
    WHERE NOT o.open AND o.local_date >= d.keep_date`);
  // carried: every record of an open session, and the record behind each open identity row
  await conn.run(`
    CREATE OR REPLACE TEMP TABLE carry AS
    SELECT ${RAW_FIELDS.map(([n]) => `r.${n}`).join(', ')} FROM raw r
    WHERE r.rowid IN (SELECT f.rid FROM facts f JOIN run_sessions s USING (tenant_id, property_id, session_key) WHERE s.open)
       OR r.rowid IN (SELECT rid FROM out_identities WHERE open)
    ORDER BY r.rowid`);
  lap.mark('closed_keys_carry');
  for (const s of active) newStates.get(propertyKey(s))!.openDates = written.get(propertyKey(s))!.openDates;
  await saveStates(ctx, loaded, newStates);
  await markCurrent(
    conn,
    active.map((s) => {
      const st = newStates.get(propertyKey(s))!;
      return { s, token: st.token!, cutDate: localDate(st.cutMs!, s.timeZone) };
    }),
  );
  lap.mark('save_state');
  lap.done(
    `cycle of ${active.length} properties, ${[...rawRead.values()].reduce((a, b) => a + b, 0)} new records, ${from === null ? 'incremental' : `rebuild from ${from}`}`,
  );
  for (const s of active) {
    const partitions = written.get(propertyKey(s))!.partitions;
    const eventsWritten = partitions.filter((p) => p.table === 'events').reduce((n, p) => n + p.rows, 0);
    results.set(propertyKey(s), { ...empty(s), partitions, eventsWritten });
  }
  return { results, deferred };
}

/**
 * A cycle's cut (before the previous one is taken into account: it never moves back): records
 * received up to `maxReceivedMs` are in, so events before it minus the late allowance are
 * complete. With the wall clock, also `now − allowance` (a record received from now on is late
 * before it), but never past `maxEventMs + timeout + 1`, which already closes every session read:
 * a later backfill's first events are then not late.
 */
export function newCut(
  lateAllowanceMs: number,
  s: Pick<PropertySettings, 'sessionTimeoutMinutes'>,
  maxEventMs: number,
  maxReceivedMs: number,
  nowMs?: number,
): number {
  const byRecords = maxReceivedMs - lateAllowanceMs;
  if (nowMs === undefined) return byRecords;
  return Math.max(byRecords, Math.min(nowMs - lateAllowanceMs, maxEventMs + s.sessionTimeoutMinutes * 60_000 + 1));
}

/** The batch's properties (ids, previous cut, session timeout), as a literal table. */
function cycTable(props: readonly PropertySettings[], states: Map<string, CycleState>): string {
  return typed(
    duckdbTransformDialect,
    ['tenant_id STRING', 'property_id STRING', 'prev_cut_ms BIGINT', 'timeout_ms BIGINT'],
    props.map((s) => {
      const cut = states.get(propertyKey(s))?.cutMs ?? null;
      return [sqlString(s.tenantId), sqlString(s.propertyId), cut === null ? 'NULL' : num(cut), num(s.sessionTimeoutMinutes * 60_000)];
    }),
  );
}

/** A record of a property in `cyc` (raw objects may hold other properties' records). */
const ownRow = `(tenant_id, property_id) IN (SELECT (tenant_id, property_id) FROM cyc)`;

/**
 * New records with the id of an event already written in a closed file of their property: a
 * later copy loses (it is dropped, so it counts once); an earlier or simultaneous one makes the
 * property's cycle a rebuild. Looks for each property's copies on the new records' dates ±1 day
 * in the event-id index (`cycle-id-index.ts`); only dates before what the index covers, and the
 * identities files when identity links arrived, are read from the closed files.
 */
async function dropWrittenCopies(
  ctx: CycleContext,
  props: readonly PropertySettings[],
  tokens: Map<string, string | null>,
): Promise<Map<string, { dropped: number; late: number; lateMs: number | null }>> {
  const { conn, store } = ctx;
  const out = new Map<string, { dropped: number; late: number; lateMs: number | null }>();
  if (!props.length) return out;
  const spans = await perPropertyRows(conn, `SELECT tenant_id, property_id, min(${EVENT_MS}), max(${EVENT_MS}) FROM new_raw GROUP BY ALL`);
  const ranges = props
    .filter((s) => spans.has(propertyKey(s)))
    .map((s) => {
      const [lo, hi] = spans.get(propertyKey(s))!;
      return { s, lo: addDays(localDate(Number(lo), s.timeZone), -1), hi: addDays(localDate(Number(hi), s.timeZone), 1) };
    });
  if (!ranges.length) return out;
  const covered = await readyIndex(
    ctx,
    ranges.map(({ s, lo }) => ({ s, token: tokens.get(propertyKey(s)) ?? null, from: lo })),
  );
  await conn.run(
    `CREATE OR REPLACE TEMP TABLE check_range AS ${typed(
      duckdbTransformDialect,
      ['tenant_id STRING', 'property_id STRING', 'lo DATE', 'hi DATE', 'covered_from DATE'],
      ranges.map(({ s, lo, hi }) => [
        sqlString(s.tenantId),
        sqlString(s.propertyId),
        `DATE ${sqlString(lo)}`,
        `DATE ${sqlString(hi)}`,
        `DATE ${sqlString(covered.get(propertyKey(s)) ?? lo)}`,
      ]),
    )}`,
  );
  const links = await perProperty(conn, `SELECT tenant_id, property_id, count(*) FROM new_raw WHERE name = ${sqlString(IDENTITY_LINK_EVENT)} GROUP BY ALL`);
  const files = { events: [] as string[], identities: [] as string[] };
  await inParallel(ranges, async ({ s, lo, hi }) => {
    const dates = datesBetween(lo, hi);
    const from = covered.get(propertyKey(s)) ?? lo;
    const byTable = {
      // the index holds the events of the dates from `from` on; earlier ones are read from the files
      events: dates.filter((d) => d < from),
      // identity links are few: their copies are looked for in the files, only when some arrived
      identities: links.has(propertyKey(s)) ? dates : [],
    };
    for (const table of ['events', 'identities'] as const) {
      const keys: string[] = [];
      for (const d of byTable[table]) {
        for (const o of await store.list(partitionPrefix(table, s, d))) if (o.key.endsWith('.parquet') && !o.key.endsWith('/open.parquet')) keys.push(o.key);
      }
      files[table].push(...(await ctx.readablePaths(keys)));
    }
  });
  // only the rows of the new records' ids are read past the event_id column
  const newIds = 'event_id IN (SELECT event_id FROM new_raw)';
  const written = files.events.length
    ? `(${indexedCopies()} UNION ALL (SELECT tenant_id, property_id, event_id, received_at, event_ms FROM read_parquet(${list(files.events)}) WHERE ${newIds}))`
    : indexedCopies();
  const identities = files.identities.length
    ? `(SELECT tenant_id, property_id, event_id, linked_ms FROM read_parquet(${list(files.identities)}) WHERE ${newIds})`
    : '(SELECT tenant_id, property_id, event_id, received_at AS linked_ms FROM new_raw WHERE false)';
  await conn.run(`
    CREATE OR REPLACE TEMP TABLE written_copies AS
    SELECT r.rowid AS rid, r.tenant_id, r.property_id, r.received_at > w.received_at AS loses,
      least(coalesce(r.client_ts, r.received_at), w.event_ms) AS event_ms
    FROM new_raw r JOIN ${written} w USING (tenant_id, property_id, event_id)
    UNION ALL
    SELECT r.rowid, r.tenant_id, r.property_id, false, least(coalesce(r.client_ts, r.received_at), w.linked_ms)
    FROM new_raw r JOIN ${identities} w USING (tenant_id, property_id, event_id)
    WHERE r.name = ${sqlString(IDENTITY_LINK_EVENT)}`);
  const rows = await conn.runAndReadAll(`
    SELECT tenant_id, property_id, count(*) FILTER (WHERE loses), count(*) FILTER (WHERE NOT loses), min(event_ms) FILTER (WHERE NOT loses)
    FROM written_copies GROUP BY ALL`);
  for (const [t, p, dropped, late, ms] of rows.getRows()) {
    out.set(`${t}/${p}`, { dropped: Number(dropped), late: Number(late), lateMs: ms === null ? null : Number(ms) });
  }
  await conn.run(`DELETE FROM new_raw WHERE rowid IN (SELECT rid FROM written_copies WHERE loses)`);
  return out;
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
  const rows = await count(ctx.conn, `SELECT count(*) FROM read_parquet(${sqlString(merged)})`);
  return { keys: [target], obsolete, rows };
}

async function insertJson(conn: DuckDBConnection, table: string, paths: string[], where = 'true'): Promise<void> {
  if (!paths.length) return;
  await conn.run(`INSERT INTO ${table} ${readRawJson(paths, where)}`);
}

async function perPropertyRows(conn: DuckDBConnection, query: string): Promise<Map<string, unknown[]>> {
  return new Map((await conn.runAndReadAll(query)).getRows().map(([t, p, ...rest]) => [`${t}/${p}`, rest]));
}

async function perProperty(conn: DuckDBConnection, query: string): Promise<Map<string, number>> {
  return new Map([...(await perPropertyRows(conn, query))].map(([k, [n]]) => [k, Number(n)]));
}

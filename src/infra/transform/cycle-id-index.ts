import type { DuckDBConnection } from '@duckdb/node-api';
import type { PropertySettings } from '../../domain/property-settings.js';
import { addDays } from '../../domain/time-zone.js';
import { inParallel, propertyKey, type StoreAccess } from './cycle-state.js';
import { duckdbTransformDialect } from './transform-dialect.js';
import { sqlString, typed } from './transform.sql.js';

/**
 * The event-id index of incremental cycles (README: "Duplicates"): for every property, each
 * event written in a closed file as (local date, 128-bit hash of its id, received_at, event_ms),
 * kept in the engine's in-memory database between cycles (a table of the database, not of a
 * connection). The duplicate check joins the new records to it instead of reading the closed
 * files, so its cost follows the records that arrived (a hash join built on them), not the day's
 * files. MD5's 128 bits: two ids colliding is about as likely as two random UUIDs colliding.
 *
 * It is a cache of what the store holds: each property's entry names the state it reflects
 * (`CycleState.token`, written by the cycle that last ran the property). A cycle whose state
 * names another token (first cycle in this process, or another process ran the property since)
 * rebuilds the property's entry from its closed event files, once. The rows are added before
 * the files are written and the entry is marked current only after the state is saved, so a
 * cycle that fails in between leaves it to be rebuilt.
 */

const INDEX = 'cycle_id_index';
const META = 'cycle_id_index_meta';
/**
 * Dates kept before the date of the cut. A new record's copy is looked for on its own date ±1, and
 * a record that is not late lies at or after the cut: the day before the cut's date is the first
 * one needed. Older dates are looked for in the files (a late record, which rebuilds anyway).
 */
const KEEP_DAYS = 1;

export async function ensureIndexTables(conn: DuckDBConnection): Promise<void> {
  await conn.run(
    `CREATE TABLE IF NOT EXISTS ${INDEX} (tenant_id VARCHAR, property_id VARCHAR, local_date DATE, h UHUGEINT, received_at BIGINT, event_ms BIGINT)`,
  );
  await conn.run(`CREATE TABLE IF NOT EXISTS ${META} (tenant_id VARCHAR, property_id VARCHAR, token VARCHAR, covered_from DATE)`);
}

/**
 * Makes the index current for `props` (each with the token of its loaded state and the first
 * date it must cover when it is rebuilt) and returns, per property, the first date it covers:
 * dates before it are not indexed and are checked in the files.
 */
export async function readyIndex(
  ctx: StoreAccess,
  props: readonly { s: PropertySettings; token: string | null; from: string }[],
): Promise<Map<string, string>> {
  const { conn, store } = ctx;
  await ensureIndexTables(conn);
  const meta = new Map(
    (await conn.runAndReadAll(`SELECT tenant_id, property_id, token, CAST(covered_from AS VARCHAR) FROM ${META}`))
      .getRows()
      .map(([t, p, token, from]) => [`${t}/${p}`, { token: token === null ? null : String(token), from: String(from) }]),
  );
  const out = new Map<string, string>();
  const stale = props.filter(({ s, token }) => {
    const m = meta.get(propertyKey(s));
    if (m && token !== null && m.token === token) {
      out.set(propertyKey(s), m.from);
      return false;
    }
    return true;
  });
  if (!stale.length) return out;
  // rebuilt from the closed event files of every date from `from` on, in a few statements for the whole batch
  await conn.run(
    `CREATE OR REPLACE TEMP TABLE index_stale AS ${props_(
      stale.map(({ s, from }) => [s, `DATE ${sqlString(from)}`]),
      'covered_from DATE',
    )}`,
  );
  const files = (
    await inParallel(stale, async ({ s, from }) => {
      const base = `transformed/events/tenant=${s.tenantId}/property=${s.propertyId}/dt=`;
      const keys = (await store.list(base))
        .map((o) => o.key)
        .filter((k) => k.endsWith('.parquet') && !k.endsWith('/open.parquet') && k.slice(base.length, base.length + 10) >= from);
      return ctx.readablePaths(keys);
    })
  ).flat();
  const inStale = `(tenant_id, property_id) IN (SELECT (tenant_id, property_id) FROM index_stale)`;
  await conn.run(`DELETE FROM ${INDEX} WHERE ${inStale}`);
  await conn.run(`DELETE FROM ${META} WHERE ${inStale}`);
  if (files.length) {
    await conn.run(`
      INSERT INTO ${INDEX} SELECT f.tenant_id, f.property_id, f.local_date, md5_number(f.event_id), f.received_at, f.event_ms
      FROM read_parquet([${files.map(sqlString).join(', ')}], hive_partitioning = false) f JOIN index_stale x USING (tenant_id, property_id)
      WHERE f.local_date >= x.covered_from`);
  }
  // the entry reflects the files of the state as loaded (a property then left for a run of its own keeps it)
  const loaded = props_(
    stale.map(({ s, token }) => [s, token === null ? 'NULL' : sqlString(token)]),
    'token VARCHAR',
  );
  await conn.run(
    `INSERT INTO ${META} SELECT x.tenant_id, x.property_id, t.token, x.covered_from FROM index_stale x JOIN (${loaded}) t USING (tenant_id, property_id)`,
  );
  for (const { s, from } of stale) out.set(propertyKey(s), from);
  return out;
}

/** Rows (tenant_id, property_id, <extra>) as a literal table. */
function props_(rows: [Pick<PropertySettings, 'tenantId' | 'propertyId'>, string][], extra: string): string {
  return typed(
    duckdbTransformDialect,
    ['tenant_id STRING', 'property_id STRING', extra],
    rows.map(([s, v]) => [sqlString(s.tenantId), sqlString(s.propertyId), v]),
  );
}

/**
 * The written events sharing an id with a new record, as `w(tenant_id, property_id, event_id,
 * received_at, event_ms)`, on the dates of each property's check range (table `check_range`:
 * lo, hi, and covered_from, the first date the index covers).
 */
export function indexedCopies(): string {
  return `
    (SELECT n.tenant_id, n.property_id, n.event_id, i.received_at, i.event_ms
     FROM (SELECT DISTINCT tenant_id, property_id, event_id FROM new_raw) n JOIN check_range c USING (tenant_id, property_id)
     JOIN ${INDEX} i ON i.tenant_id = n.tenant_id AND i.property_id = n.property_id AND i.h = md5_number(n.event_id)
       AND i.local_date BETWEEN greatest(c.lo, c.covered_from) AND c.hi)`;
}

/**
 * Before a cycle's files are written: the events it writes closed join the index (a rebuild
 * first drops its dates), and the entries of the cycle's properties are dirty until
 * `markCurrent`: a cycle that fails in between leaves them to be rebuilt.
 */
export async function addWritten(conn: DuckDBConnection, props: readonly PropertySettings[], from: string | null): Promise<void> {
  await ensureIndexTables(conn);
  const inBatch = `(tenant_id, property_id) IN (SELECT (tenant_id, property_id) FROM cyc)`;
  await conn.run(`UPDATE ${META} SET token = NULL WHERE ${inBatch}`);
  if (from !== null && props.length) await conn.run(`DELETE FROM ${INDEX} WHERE ${inBatch} AND local_date >= DATE ${sqlString(from)}`);
  await conn.run(`INSERT INTO ${INDEX} SELECT tenant_id, property_id, local_date, md5_number(event_id), received_at, event_ms FROM out_events WHERE NOT open`);
}

/** After the state is saved: each cycled property's entry reflects its new token; dates long before the cut are dropped. */
export async function markCurrent(conn: DuckDBConnection, props: readonly { s: PropertySettings; token: string; cutDate: string }[]): Promise<void> {
  if (!props.length) return;
  await conn.run(
    `CREATE OR REPLACE TEMP TABLE index_keep AS ${props_(
      props.map(({ s, cutDate }) => [s, `DATE ${sqlString(addDays(cutDate, -KEEP_DAYS))}`]),
      'keep DATE',
    )}`,
  );
  await conn.run(
    `CREATE OR REPLACE TEMP TABLE index_token AS ${props_(
      props.map(({ s, token }) => [s, sqlString(token)]),
      'token VARCHAR',
    )}`,
  );
  await conn.run(`
    DELETE FROM ${INDEX} i USING index_keep k, ${META} m
    WHERE i.tenant_id = k.tenant_id AND i.property_id = k.property_id AND m.tenant_id = k.tenant_id AND m.property_id = k.property_id
      AND m.covered_from < k.keep AND i.local_date < k.keep`);
  await conn.run(`
    UPDATE ${META} m SET covered_from = greatest(m.covered_from, k.keep), token = t.token FROM index_keep k, index_token t
    WHERE m.tenant_id = k.tenant_id AND m.property_id = k.property_id AND t.tenant_id = k.tenant_id AND t.property_id = k.property_id`);
}

/** A property's files were rewritten outside a cycle (`transform()`): its entry is rebuilt at its next cycle. */
export async function forgetIndex(conn: DuckDBConnection, s: Pick<PropertySettings, 'tenantId' | 'propertyId'>): Promise<void> {
  await ensureIndexTables(conn);
  await conn.run(`DELETE FROM ${META} WHERE tenant_id = ${sqlString(s.tenantId)} AND property_id = ${sqlString(s.propertyId)}`);
}

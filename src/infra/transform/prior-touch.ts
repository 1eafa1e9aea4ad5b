import type { DuckDBConnection } from '@duckdb/node-api';
import type { PropertySettings } from '../../domain/property-settings.js';
import { datesBetween, localDate } from '../../domain/time-zone.js';
import type { ObjectStore } from '../object-store/object-store.port.js';
import { inParallel, list, partitionPrefix } from './cycle-state.js';
import { isDirectSql, LOOKBACK_MS, TOUCH_FIELDS, TRAFFIC_COLUMNS } from './transform-attribution.sql.js';
import { sqlString } from './transform-dialect.js';

/**
 * The `prior_touch` table the transform statements read (transform-attribution.sql.ts): each
 * user's latest non-direct session that started in the lookback before a run's window, read from
 * the property's transformed sessions of those days (every file of each day partition: part-0,
 * cycle files, open, compacted). A full `transform()` and a rebuilding cycle read it so; a normal
 * cycle takes it from its carried state instead (`touches.parquet`, cycle-state.ts).
 */

const FIELDS = TOUCH_FIELDS.map(([n, t]) => `${n} ${t}`).join(', ');

/** An empty `prior_touch` (or another table with the touch columns). */
export const createTouchTable = (table = 'prior_touch'): string => `CREATE OR REPLACE TEMP TABLE ${table} (${FIELDS})`;

/** The keys of the property's sessions files of the local dates holding [startMs - lookback, startMs). */
export async function lookbackSessionKeys(store: ObjectStore, s: PropertySettings, startMs: number): Promise<string[]> {
  const dates = datesBetween(localDate(startMs - LOOKBACK_MS, s.timeZone), localDate(startMs - 1, s.timeZone));
  const keys = await inParallel(dates, async (d) =>
    (await store.list(partitionPrefix('sessions', s, d))).map((o) => o.key).filter((k) => k.endsWith('.parquet')),
  );
  return keys.flat();
}

/**
 * Fills `prior_touch` from sessions files (local paths): per user key the latest non-direct
 * session starting in [startMs - lookback, startMs). A file written before the sessions table had
 * `collected_*` holds the session's own source in `source` … `channel_group`.
 */
export async function loadPriorTouches(conn: DuckDBConnection, s: PropertySettings, paths: readonly string[], startMs: number): Promise<void> {
  await conn.run(createTouchTable());
  if (!paths.length) return;
  const files = `read_parquet(${list(paths)}, union_by_name = true, hive_partitioning = false)`;
  const names = new Set((await conn.runAndReadAll(`DESCRIBE SELECT * FROM ${files}`)).getRows().map((r) => String(r[0])));
  const own = (c: string) => (names.has('collected_source') ? `CASE WHEN collected_source IS NULL THEN ${c} ELSE collected_${c} END` : c);
  await conn.run(`
    INSERT INTO prior_touch
    SELECT ${TOUCH_FIELDS.map(([n]) => n).join(', ')} FROM (
      SELECT x.*, row_number() OVER (PARTITION BY tenant_id, property_id, user_key ORDER BY touch_ms DESC, session_key DESC) AS n
      FROM (
        SELECT tenant_id, property_id, coalesce(client_id, user_id) AS user_key, session_start_ms AS touch_ms, session_key,
          ${TRAFFIC_COLUMNS.map((c) => `${own(c)} AS ${c}`).join(', ')}
        FROM ${files}
        WHERE tenant_id = ${sqlString(s.tenantId)} AND property_id = ${sqlString(s.propertyId)}
          AND session_start_ms >= ${startMs - LOOKBACK_MS} AND session_start_ms < ${startMs}
      ) x
      WHERE user_key IS NOT NULL AND NOT ${isDirectSql('source', 'medium')}
    ) y WHERE n = 1`);
}

import { readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { PropertySettings } from '../../domain/property-settings.js';
import { TRANSFORMED_TABLE_NAMES, TRANSFORMED_TABLES, type TransformedTable } from '../../domain/transformed-schema.js';
import { DUCKDB_TYPES } from '../column-types.js';
import type { PhaseTimer } from './cycle-timings.js';
import { type CycleState, count, inParallel, list, partitionPrefix, propertyKey, type StoreAccess } from './cycle-state.js';
import type { ObjectStore } from '../object-store/object-store.port.js';
import type { WrittenPartition } from './transform-engine.port.js';
import { sqlString } from './transform.sql.js';

/** Partitions one cycle may write: two files per property and date, of up to 2,000 properties (the job's batch) over a few dates. */
const MAX_OPEN_FILES = 1_000_000;

/** Row counts of the transformed files a process has seen, by store and (key, size, modification time). */
const countsByStore = new WeakMap<ObjectStore, Map<string, number>>();
/** Files remembered per store before the counts start over (about 100 bytes each). */
const MAX_COUNTED = 500_000;
/** A cycle's closed file and a compacted file are written once under their name. */
const IMMUTABLE = /\/(c-[^/]*|compacted)\.parquet$/;

function rowCounts(store: ObjectStore): Map<string, number> {
  let m = countsByStore.get(store);
  if (!m) countsByStore.set(store, (m = new Map()));
  return m;
}

const VIEWS = { events: 'out_events', sessions: 'out_sessions', identities: 'out_identities', items: 'out_items' } as const;

/**
 * Writes the cycle's rows of every property of the batch: closed rows as `c-<cycle>.parquet`,
 * open rows as `open.parquet`, per (table, property, local date), each table in one statement
 * (DuckDB's partitioned COPY, every file sorted by the table's order). On a rebuild (`from`, a
 * single property only) removes every other file of the rebuilt dates; removes `open.parquet`
 * where no row is open any more. Returns, per property, each changed partition with its complete
 * file list and row count, and the dates now holding an open file.
 */
export async function writeOutputs(
  ctx: StoreAccess,
  props: readonly PropertySettings[],
  cycleId: string,
  states: Map<string, CycleState>,
  from: string | null,
  lap?: PhaseTimer,
): Promise<Map<string, { partitions: WrittenPartition[]; openDates: Record<TransformedTable, string[]> }>> {
  const { conn, store, stage } = ctx;
  const cycleFile = `c-${cycleId.replace(/[^A-Za-z0-9_-]/g, '_')}.parquet`;
  const byProperty = new Map(props.map((s) => [propertyKey(s), s]));
  const changed = new Map(props.map((s) => [propertyKey(s), new Map<string, { table: TransformedTable; date: string }>()]));
  const openDates = new Map(props.map((s) => [propertyKey(s), { events: [], sessions: [], identities: [], items: [] } as Record<TransformedTable, string[]>]));

  for (const table of TRANSFORMED_TABLE_NAMES) {
    const { columns, orderBy } = TRANSFORMED_TABLES[table];
    const dir = join(stage, `out-${table}`);
    if ((await count(conn, `SELECT count(*) FROM ${VIEWS[table]}`)) > 0) {
      // every partition's file stays open until the end: DuckDB would otherwise close one past
      // 100 open files or flush one past its row threshold and start a second file
      await conn.run(`SET partitioned_write_max_open_files = ${MAX_OPEN_FILES}`);
      await conn.run(`SET partitioned_write_flush_threshold = ${2 ** 40}`);
      await conn.run(`
        COPY (
          SELECT ${columns.map((c) => `CAST("${c.name}" AS ${DUCKDB_TYPES[c.type]}) AS "${c.name}"`).join(', ')},
            tenant_id AS _t, property_id AS _p, CAST(local_date AS VARCHAR) AS _d, open AS _o
          FROM ${VIEWS[table]} ORDER BY ${orderBy.join(', ')}
        ) TO ${sqlString(dir)} (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (_t, _p, _d, _o), FILENAME_PATTERN 'f')`);
      const files: { s: PropertySettings; date: string; open: boolean; path: string }[] = [];
      for (const t of await readdir(dir)) {
        for (const p of await readdir(join(dir, t))) {
          const s = byProperty.get(`${t.slice(3)}/${p.slice(3)}`);
          if (!s) throw new Error(`cycle output for a property outside the batch: ${t}/${p}`);
          for (const d of await readdir(join(dir, t, p))) {
            for (const o of await readdir(join(dir, t, p, d))) {
              const written = await readdir(join(dir, t, p, d, o));
              // one file per partition (the settings below): a second one would be rows left behind
              if (written.length !== 1) throw new Error(`partitioned write gave ${written.length} files for ${t}/${p}/${d}/${o}`);
              const [file] = written;
              files.push({ s, date: d.slice(3), open: o === '_o=true', path: join(dir, t, p, d, o, file) });
            }
          }
        }
      }
      await inParallel(files, async (f) => {
        await store.put(partitionPrefix(table, f.s, f.date) + (f.open ? 'open.parquet' : cycleFile), await readFile(f.path));
      });
      for (const f of files) {
        if (f.open) openDates.get(propertyKey(f.s))![table].push(f.date);
        changed.get(propertyKey(f.s))!.set(`${table}/${f.date}`, { table, date: f.date });
      }
      await rm(dir, { recursive: true, force: true });
      lap?.mark(`write_${table}`);
    }
    for (const s of props) {
      const open = openDates.get(propertyKey(s))![table];
      const touched = changed.get(propertyKey(s))!;
      // open files no longer open
      const closedNow = (states.get(propertyKey(s))?.openDates[table] ?? []).filter((d) => !open.includes(d));
      if (closedNow.length) await store.delete(closedNow.map((d) => partitionPrefix(table, s, d) + 'open.parquet'));
      for (const date of closedNow) touched.set(`${table}/${date}`, { table, date });
      if (from !== null) {
        // a rebuild replaces the dates from `from` on whole
        const keep = (date: string, key: string) => key.endsWith(`/${cycleFile}`) || (key.endsWith('/open.parquet') && open.includes(date));
        const base = `transformed/${table}/tenant=${s.tenantId}/property=${s.propertyId}/dt=`;
        const stale: string[] = [];
        for (const o of await store.list(base)) {
          const date = o.key.slice(base.length, base.length + 10);
          if (date < from || keep(date, o.key)) continue;
          stale.push(o.key);
          touched.set(`${table}/${date}`, { table, date });
        }
        await store.delete(stale);
      }
    }
  }

  lap?.mark('remove_stale');
  // every changed partition's complete file list, and its rows from the files' metadata (read once per file version: a
  // partition holds a file per cycle, and on S3 reading a footer means fetching the file)
  const counts = rowCounts(store);
  const parts = (
    await inParallel(props, async (s) =>
      inParallel([...changed.get(propertyKey(s))!.values()], async ({ table, date }) => {
        const objects = (await store.list(partitionPrefix(table, s, date))).filter((o) => o.key.endsWith('.parquet'));
        return { s, table, date, keys: objects.map((o) => o.key), versions: objects.map((o) => `${o.key}|${o.size}|${o.lastModified}`) };
      }),
    )
  ).flat();
  const unknown = [...new Set(parts.flatMap((p) => p.versions.filter((v) => !counts.has(v))))];
  const found = new Map<string, number>();
  if (unknown.length) {
    const paths = await inParallel(unknown, async (v) => (await ctx.readablePaths([v.slice(0, v.indexOf('|'))]))[0]);
    const present = paths.filter((p): p is string => p !== undefined); // a file removed since it was listed counts 0
    const r = present.length ? await conn.runAndReadAll(`SELECT file_name, sum(num_rows) FROM parquet_file_metadata(${list(present)}) GROUP BY ALL`) : null;
    const byPath = new Map((r?.getRows() ?? []).map(([f, n]) => [String(f), Number(n)]));
    if (counts.size + unknown.length > MAX_COUNTED) counts.clear();
    unknown.forEach((v, i) => {
      const n = paths[i] === undefined ? 0 : (byPath.get(paths[i]) ?? 0);
      found.set(v, n);
      // only files never rewritten under their name are remembered (an open file is replaced each cycle)
      if (IMMUTABLE.test(v.slice(0, v.indexOf('|')))) counts.set(v, n);
    });
  }
  lap?.mark('list_and_count');
  const out = new Map(props.map((s) => [propertyKey(s), { partitions: [] as WrittenPartition[], openDates: openDates.get(propertyKey(s))! }]));
  for (const p of parts.sort((a, b) => (a.date + a.table).localeCompare(b.date + b.table))) {
    const rows = p.versions.reduce((n, v) => n + (counts.get(v) ?? found.get(v) ?? 0), 0);
    out.get(propertyKey(p.s))!.partitions.push({ table: p.table, date: p.date, keys: p.keys, rows });
  }
  return out;
}

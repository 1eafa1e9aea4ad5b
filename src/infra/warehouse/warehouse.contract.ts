import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { FIRST_SESSIONS_TABLE, ROLLUP_TABLES } from '../../domain/rollups.js';
import { TRANSFORMED_TABLES } from '../../domain/transformed-schema.js';
import { generateProperty, writeParquetPartitions, type Fixture, type WrittenPartition } from '../../query/report-fixture.testkit.js';
import { TallyError } from '../errors.js';
import type { Warehouse } from './warehouse.port.js';

/**
 * The contract every Warehouse passes. `open(objectRoot)` returns a new, empty warehouse (not yet
 * initialised) that reads object keys relative to `objectRoot`. Call inside a describe.
 */
export function warehouseContract(open: (objectRoot: string) => Promise<Warehouse>): void {
  let root: string;
  let fx: Fixture;
  let v1: WrittenPartition[];
  let v2: WrittenPartition[];

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'tally-wh-contract-'));
    fx = generateProperty('t1', 'p1', 7, 25);
    v1 = await writeParquetPartitions(fx, root);
    // a re-run of the transform with other rows for the same partitions, under v2/
    v2 = (await writeParquetPartitions(generateProperty('t1', 'p1', 8, 10), join(root, 'v2'))).map((p) => ({ ...p, key: `v2/${p.key}` }));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const ready = async () => {
    const wh = await open(root);
    await wh.init();
    return wh;
  };
  const ref = (p: WrittenPartition) => ({ tenantId: p.tenantId, propertyId: p.propertyId, date: p.date });
  const countOn = async (wh: Warehouse, date: string) =>
    (await wh.query<{ n: number }>('SELECT count(*) AS n FROM events WHERE local_date = CAST($1 AS DATE)', [date]))[0].n;
  // the fixture has no items partitions (item rows are covered by the transform tests)
  const rowsOf = (f: Fixture, p: WrittenPartition) => (p.table === 'items' ? [] : f[p.table]).filter((r) => r.local_date === p.date).length;
  const loadAll = async (wh: Warehouse, parts: WrittenPartition[]) => {
    for (const p of parts) await wh.loadPartition(p.table, ref(p), [p.key]);
  };

  it('init creates events, sessions and identities with exactly the transformed-zone columns, and is idempotent', async () => {
    const wh = await ready();
    await wh.init();
    for (const [table, { columns: cols }] of Object.entries(TRANSFORMED_TABLES)) {
      const got = await wh.query<{ column_name: string }>(
        `SELECT column_name FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position`,
        [table],
      );
      expect(got.map((c) => c.column_name)).toEqual(cols.map((c) => c.name));
    }
    await wh.close();
  });

  it('loads partitions; loading the same partition again leaves the same rows; values are plain JS', async () => {
    const wh = await ready();
    await loadAll(wh, v1);
    const snapshot = () => wh.query('SELECT * FROM events ORDER BY event_id', []);
    const first = await snapshot();
    expect(first).toHaveLength(fx.events.length);
    expect((await wh.query<{ n: number }>('SELECT count(*) AS n FROM sessions', []))[0].n).toBe(fx.sessions.length);
    for (const p of v1) expect((await wh.loadPartition(p.table, ref(p), [p.key])).rows).toBe(rowsOf(fx, p));
    expect(await snapshot()).toEqual(first);

    // dates as YYYY-MM-DD, BIGINT as numbers, booleans, NULLs, doubles
    for (const e of [fx.events[0], fx.events.find((x) => x.page_title === null)!]) {
      expect((await wh.query('SELECT * FROM events WHERE event_id = $1', [e.event_id]))[0]).toEqual({ ...e });
    }
    const s = fx.sessions.find((x) => x.duration_s % 1 !== 0)!;
    expect((await wh.query('SELECT * FROM sessions WHERE session_key = $1', [s.session_key]))[0]).toEqual({ ...s });
    await wh.close();
  });

  it('replaces a partition whole; a failed load leaves the old rows; an empty key list empties it', async () => {
    const wh = await ready();
    await loadAll(wh, v1);
    const target = v1.find((p) => p.table === 'events')!;
    const other = v1.find((p) => p.table === 'events' && p.date !== target.date)!;
    const before = await countOn(wh, target.date);
    const otherBefore = await countOn(wh, other.date);

    await expect(wh.loadPartition('events', ref(target), [target.key, 'transformed/events/missing.parquet'])).rejects.toThrow();
    expect(await countOn(wh, target.date)).toBe(before);
    // a file holding rows of another date is refused
    await expect(wh.loadPartition('events', ref(target), [other.key])).rejects.toBeInstanceOf(TallyError);
    expect(await countOn(wh, target.date)).toBe(before);

    const replacement = v2.find((p) => p.table === 'events' && p.date === target.date)!;
    const { rows } = await wh.loadPartition('events', ref(target), [replacement.key]);
    expect(rows).toBe(rowsOf(generateProperty('t1', 'p1', 8, 10), replacement));
    expect(await countOn(wh, target.date)).toBe(rows);
    expect(await countOn(wh, other.date)).toBe(otherBefore);

    expect((await wh.loadPartition('events', ref(target), [])).rows).toBe(0);
    expect(await countOn(wh, target.date)).toBe(0);
    expect(await countOn(wh, other.date)).toBe(otherBefore);
    await wh.close();
  });

  it('loads a partition of several files (an incremental transform writes one per cycle) as their union', async () => {
    const wh = await ready();
    const a = v1.find((p) => p.table === 'events')!;
    const b = v2.find((p) => p.table === 'events' && p.date === a.date)!;
    const { rows } = await wh.loadPartition('events', ref(a), [a.key, b.key]);
    expect(rows).toBe(rowsOf(fx, a) + rowsOf(generateProperty('t1', 'p1', 8, 10), b));
    expect(await countOn(wh, a.date)).toBe(rows);
    // the next cycle's file list replaces the partition whole
    expect((await wh.loadPartition('events', ref(a), [b.key])).rows).toBe(rowsOf(generateProperty('t1', 'p1', 8, 10), b));
    await wh.close();
  });

  it('loads a batch in one transaction: the rows and rollups of its loads one by one; a failing load leaves the whole batch as it was', async () => {
    const single = await ready();
    const batched = await ready();
    expect(batched.loadPartitions).toBeDefined();
    await loadAll(single, v1);
    const rows = await batched.loadPartitions!(v1.map((p) => ({ table: p.table, partition: ref(p), objectKeys: [p.key] })));
    expect(rows.map((r) => r.rows)).toEqual(v1.map((p) => rowsOf(fx, p)));
    const everything = async (wh: Warehouse) => {
      const out: Record<string, string[]> = {};
      for (const t of [...Object.keys(TRANSFORMED_TABLES), ...ROLLUP_TABLES.map((r) => r.name), FIRST_SESSIONS_TABLE]) {
        out[t] = (await wh.query(`SELECT * FROM ${t}`, [])).map((r) => JSON.stringify(r)).sort();
      }
      return out;
    };
    const expected = await everything(single);
    expect(expected.rollup_date_users.length).toBeGreaterThan(0);
    expect(expected[FIRST_SESSIONS_TABLE].length).toBeGreaterThan(0);
    expect(await everything(batched)).toEqual(expected);

    // the second load's file holds another date's rows: the first load's swap is undone with it
    const events = v1.filter((p) => p.table === 'events');
    const replacement = v2.find((p) => p.table === 'events' && p.date === events[0].date)!;
    await expect(
      batched.loadPartitions!([
        { table: 'events', partition: ref(events[0]), objectKeys: [replacement.key] },
        { table: 'events', partition: ref(events[1]), objectKeys: [events[2].key] },
      ]),
    ).rejects.toBeInstanceOf(TallyError);
    expect(await everything(batched)).toEqual(expected);
    await single.close();
    await batched.close();
  });

  it('readers querying in a loop during reloads see the old partition or the new, never a mix', async () => {
    const wh = await ready();
    await loadAll(wh, v1);
    const a = v1.filter((p) => p.table === 'events').sort((x, y) => rowsOf(fx, y) - rowsOf(fx, x))[0];
    const b = v2.find((p) => p.table === 'events' && p.date === a.date)!;
    const probe = () => countOn(wh, a.date);
    const nA = await probe();
    await wh.loadPartition('events', ref(a), [b.key]);
    const nB = await probe();
    expect(nA).not.toBe(nB);

    let loading = true;
    const seen: number[] = [];
    const reader = (async () => {
      while (loading) seen.push(await probe());
    })();
    for (let i = 0; i < 6; i++) await wh.loadPartition('events', ref(a), [i % 2 ? b.key : a.key]);
    loading = false;
    await reader;
    expect(seen.length).toBeGreaterThanOrEqual(6);
    expect(seen.filter((n) => n !== nA && n !== nB)).toEqual([]);
    expect(await probe()).toBe(nB);
    await wh.close();
  });

  it('binds $n parameters and returns BIGINT, DATE, DECIMAL, booleans and NULL as plain JS', async () => {
    const wh = await ready();
    const [row] = await wh.query(
      `SELECT CAST($1 AS BIGINT) AS small, CAST('9007199254740993' AS BIGINT) AS big, SUM(x) AS total, DATE '2024-02-29' AS d,
              CAST(1.25 AS DECIMAL(5,2)) AS dec, CAST($2 AS VARCHAR) AS s, CAST($3 AS BOOLEAN) AS b, CAST(NULL AS VARCHAR) AS n
         FROM (SELECT CAST(5 AS BIGINT) AS x) AS one`,
      [42, "it's; --", true],
    );
    expect(row).toEqual({ small: 42, big: '9007199254740993', total: 5, d: '2024-02-29', dec: 1.25, s: "it's; --", b: true, n: null });
    await expect(wh.loadPartition('events', { tenantId: 't', propertyId: 'p', date: '2024/01/01' }, [])).rejects.toBeInstanceOf(TallyError);
    await wh.close();
    await expect(wh.query('SELECT 1', [])).rejects.toBeInstanceOf(TallyError);
  });
}

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TRANSFORMED_TABLES } from '../../domain/transformed-schema.js';
import { generateProperty, writeParquetPartitions, type Fixture, type WrittenPartition } from '../../query/report-fixture.testkit.js';
import { TallyError } from '../errors.js';
import { DuckDbWarehouse } from './duckdb.warehouse.js';

let dir: string;
let fx: Fixture;
let parts: WrittenPartition[];
let v2: WrittenPartition[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tally-wh-'));
  fx = generateProperty('t1', 'p1', 7, 25);
  parts = await writeParquetPartitions(fx, join(dir, 'v1'));
  // a re-run of the transform with different rows for the same partitions
  v2 = await writeParquetPartitions(generateProperty('t1', 'p1', 8, 10), join(dir, 'v2'));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function open(path = ':memory:', root = join(dir, 'v1')) {
  const wh = await DuckDbWarehouse.open({ path, resolve: (k) => join(root, k) });
  await wh.init();
  return wh;
}

const ref = (p: WrittenPartition) => ({ tenantId: p.tenantId, propertyId: p.propertyId, date: p.date });
const countOn = async (wh: DuckDbWarehouse, table: string, date: string) =>
  (await wh.query<{ n: number }>(`SELECT count(*) AS n FROM ${table} WHERE local_date = CAST($1 AS DATE)`, [date]))[0].n;

describe('DuckDbWarehouse', () => {
  it('creates events, sessions and identities with exactly the transformed-zone columns', async () => {
    const wh = await open();
    await wh.init(); // idempotent
    for (const [table, { columns: cols }] of Object.entries(TRANSFORMED_TABLES)) {
      const got = await wh.query<{ column_name: string; data_type: string }>(
        `SELECT column_name, data_type FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position`,
        [table],
      );
      expect(got.map((c) => c.column_name)).toEqual(cols.map((c) => c.name));
      const types = { string: 'VARCHAR', int: 'INTEGER', bigint: 'BIGINT', double: 'DOUBLE', boolean: 'BOOLEAN', date: 'DATE' };
      expect(got.map((c) => c.data_type)).toEqual(cols.map((c) => types[c.type]));
    }
    expect(wh.dialect).toBe('duckdb');
    await wh.close();
  });

  // the sessions contract gained collected_* (last non-direct click): a warehouse created before
  // them refused every new sessions file ("table sessions has 33 columns but 39 values")
  it('adds the contract columns a table created earlier lacks, at the end, and then loads new files', async () => {
    const path = join(dir, 'older.duckdb');
    const added = TRANSFORMED_TABLES.sessions.columns.filter((c) => c.name.startsWith('collected_'));
    const old = await open(path);
    for (const c of added) await old.query(`ALTER TABLE sessions DROP COLUMN ${c.name}`, []);
    await old.close();
    const wh = await open(path);
    const got = await wh.query<{ column_name: string }>(
      `SELECT column_name FROM information_schema.columns WHERE table_name = 'sessions' ORDER BY ordinal_position`,
      [],
    );
    expect(got.map((c) => c.column_name)).toEqual(TRANSFORMED_TABLES.sessions.columns.map((c) => c.name));
    const p = parts.find((x) => x.table === 'sessions')!;
    expect(await wh.loadPartition('sessions', ref(p), [p.key])).toEqual({ rows: fx.sessions.filter((s) => s.local_date === p.date).length });
    await wh.close();
  });

  it('loads partitions; loading the same partition twice leaves the same rows', async () => {
    const wh = await open();
    for (const p of parts) await wh.loadPartition(p.table, ref(p), [p.key]);
    const snapshot = async () => wh.query('SELECT * FROM events ORDER BY event_id', []);
    const first = await snapshot();
    expect(first).toHaveLength(fx.events.length);
    const sessions = (await wh.query<{ n: number }>('SELECT count(*) AS n FROM sessions', []))[0].n;
    expect(sessions).toBe(fx.sessions.length);

    for (const p of parts) {
      const { rows } = await wh.loadPartition(p.table, ref(p), [p.key]);
      const expected = (p.table === 'items' ? [] : fx[p.table]).filter((r) => r.local_date === p.date).length;
      expect(rows).toBe(expected);
    }
    expect(await snapshot()).toEqual(first);

    // values come back as plain JS: dates as YYYY-MM-DD, BIGINT as numbers
    const e = fx.events[0];
    const [row] = await wh.query<Record<string, unknown>>('SELECT * FROM events WHERE event_id = $1', [e.event_id]);
    expect(row).toEqual({ ...e });
    await wh.close();
  });

  it('replaces a partition whole, and a failed load leaves the old rows', async () => {
    const wh = await open();
    for (const p of parts) await wh.loadPartition(p.table, ref(p), [p.key]);
    const target = parts.find((p) => p.table === 'events')!;
    const other = parts.find((p) => p.table === 'events' && p.date !== target.date)!;
    const before = await countOn(wh, 'events', target.date);
    const otherBefore = await countOn(wh, 'events', other.date);

    // one good file and one missing: nothing of the attempt may remain
    await expect(wh.loadPartition('events', ref(target), [target.key, 'transformed/events/missing.parquet'])).rejects.toThrow();
    expect(await countOn(wh, 'events', target.date)).toBe(before);

    // a file holding rows of another date is refused, in the same transaction
    await expect(wh.loadPartition('events', ref(target), [other.key])).rejects.toBeInstanceOf(TallyError);
    expect(await countOn(wh, 'events', target.date)).toBe(before);

    await wh.close();

    // the replacement from the v2 run: exactly its rows, other partitions untouched
    const replacement = v2.find((p) => p.table === 'events' && p.date === target.date)!;
    const mixed = await DuckDbWarehouse.open({ path: join(dir, 'mixed.duckdb'), resolve: (k) => join(dir, k) });
    await mixed.init();
    await mixed.loadPartition('events', ref(target), [`v1/${target.key}`]);
    await mixed.loadPartition('events', ref(other), [`v1/${other.key}`]);
    const expectedV2 = (await mixed.query<{ n: number }>(`SELECT count(*) AS n FROM read_parquet($1)`, [join(dir, 'v2', replacement.key)]))[0].n;

    // queries issued while the load runs see the old rows or the new, never a mix
    const load = mixed.loadPartition('events', ref(target), [`v2/${replacement.key}`]);
    const during = await Promise.all([countOn(mixed, 'events', target.date), countOn(mixed, 'events', target.date)]);
    expect((await load).rows).toBe(expectedV2);
    for (const n of during) expect([before, expectedV2]).toContain(n);
    expect(await countOn(mixed, 'events', target.date)).toBe(expectedV2);
    expect(await countOn(mixed, 'events', other.date)).toBe(otherBefore);

    // empty key list: the partition becomes empty
    await mixed.loadPartition('events', ref(target), []);
    expect(await countOn(mixed, 'events', target.date)).toBe(0);
    await mixed.close();

    // a file database keeps its rows across reopen
    const reopened = await DuckDbWarehouse.open({ path: join(dir, 'mixed.duckdb'), resolve: (k) => join(dir, k) });
    expect(await countOn(reopened, 'events', other.date)).toBe(otherBefore);
    await reopened.close();
  });

  it('binds $n parameters and converts BIGINT, HUGEINT, DATE and DECIMAL values', async () => {
    const wh = await open();
    const [row] = await wh.query<Record<string, unknown>>(
      `SELECT CAST($1 AS BIGINT) AS small, CAST('9007199254740993' AS BIGINT) AS big, SUM(x) AS huge, DATE '2024-02-29' AS d,
              CAST(1.25 AS DECIMAL(5,2)) AS dec, $2 AS s, $3 AS b, NULL AS n FROM (SELECT CAST(5 AS BIGINT) AS x)`,
      [42, "it's", true],
    );
    expect(row).toEqual({ small: 42, big: '9007199254740993', huge: 5, d: '2024-02-29', dec: 1.25, s: "it's", b: true, n: null });
    await expect(wh.loadPartition('events', { tenantId: 't', propertyId: 'p', date: '2024/01/01' }, [])).rejects.toBeInstanceOf(TallyError);
    await wh.close();
    await expect(wh.query('SELECT 1', [])).rejects.toBeInstanceOf(TallyError);
  });
});

describe('DuckDbWarehouse statement timeout', () => {
  it('interrupts a query past its timeout with deadline_exceeded; other readers and the connection keep working', async () => {
    const wh = await open();
    try {
      const slow = wh.query('SELECT count(*) AS n FROM range(10000000000) a WHERE a.range % 7 = 3', [], { timeoutMs: 200 });
      // another reader is not blocked behind the slow one
      expect(await wh.query('SELECT 42 AS x', [])).toEqual([{ x: 42 }]);
      const t0 = Date.now();
      await expect(slow).rejects.toMatchObject({ code: 'deadline_exceeded' });
      expect(Date.now() - t0).toBeLessThan(10_000);
      for (let i = 0; i < 4; i++) expect(await wh.query('SELECT 1 AS one', [], { timeoutMs: 5_000 })).toEqual([{ one: 1 }]);
    } finally {
      await wh.close();
    }
  }, 30_000);
});

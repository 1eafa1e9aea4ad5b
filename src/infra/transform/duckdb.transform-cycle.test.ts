import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PropertySettings } from '../../domain/property-settings.js';
import type { RawEvent } from '../../domain/raw-event.js';
import { addDays, datesBetween, localDate, startOfLocalDate } from '../../domain/time-zone.js';
import { TRANSFORMED_TABLE_NAMES, type TransformedTable } from '../../domain/transformed-schema.js';
import { FolderObjectStore } from '../object-store/folder.object-store.js';
import { DuckDbTransformEngine } from './duckdb.transform-engine.js';
import { generatedRawEvents, RawZoneWriter } from './raw-zone.fixture.js';
import type { CycleResult, WrittenPartition } from './transform-engine.port.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const ZONE = 'Europe/Berlin';
const START = '2024-03-29'; // the DST switch (03-31) is inside
const DAYS = 3;
const SLICES = 10;

const settings: PropertySettings = {
  tenantId: 't1',
  propertyId: 'p1',
  timeZone: ZONE,
  currencyCode: 'EUR',
  sessionTimeoutMinutes: 30,
  engagedSessionSeconds: 10,
  keyEvents: ['purchase', 'sign_up'],
};

let dir: string;
let reader: DuckDBInstance;
let conn: DuckDBConnection;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tally-cycle-test-'));
  reader = await DuckDBInstance.create(':memory:');
  conn = await reader.connect();
});

afterAll(async () => {
  conn?.closeSync();
  reader?.closeSync();
  await rm(dir, { recursive: true, force: true });
});

/** The golden traffic in receipt order, plus late events and copies that arrive in later slices. */
function dataset(): RawEvent[] {
  const events = [...generatedRawEvents({ tenantId: 't1', propertyId: 'p1' }, { seed: 5, startDate: START, days: DAYS, timeZone: ZONE, visitorsPerDay: 120 })];
  const base = events[0];
  const day = (d: string, h: number) => startOfLocalDate(d, ZONE) + h * HOUR;
  const extra: RawEvent[] = [];
  const mk = (over: Partial<RawEvent>): RawEvent => ({ ...base, session_id: null, user_id: null, params: {}, ...over }) as RawEvent;
  const d1 = addDays(START, 1);
  // a late event (client time 30 h before receipt) that joins a session written cycles ago
  const first = events.find((e) => localDate(e.received_at, ZONE) === d1 && e.client_id !== null)!;
  extra.push(mk({ event_id: 'late-1', client_id: first.client_id, client_ts: (first.client_ts ?? first.received_at) + 5 * MIN, received_at: (first.client_ts ?? first.received_at) + 30 * HOUR, name: 'scroll' }));
  // copies of written events, received later: one with its client time, one without (event time = its own receipt)
  const copied = events.filter((e) => localDate(e.received_at, ZONE) === START).slice(10, 12);
  extra.push({ ...copied[0], received_at: copied[0].received_at + 20 * HOUR, title: 'a later copy' });
  extra.push({ ...copied[1], client_ts: null, received_at: copied[1].received_at + 26 * HOUR, title: 'a later copy' });
  // a session across midnight whose events arrive in different cycles, and a link between ids
  const night = day(d1, 23) + 50 * MIN;
  for (let i = 0; i < 4; i++) extra.push(mk({ event_id: `night-${i}`, client_id: 'night', client_ts: null, received_at: night + i * 7 * MIN }));
  extra.push(mk({ event_id: 'link-1', client_id: 'night', user_id: 'u-1', name: 'tally_identity_link', client_ts: null, received_at: night + 30 * MIN, params: { user_id: 'u-1', client_id: 'night' } }));
  return [...events, ...extra].sort((a, b) => a.received_at - b.received_at);
}

async function writeSlice(store: FolderObjectStore, events: RawEvent[], partition: number): Promise<string[]> {
  const before = new Set((await store.list('raw/')).map((o) => o.key));
  const w = new RawZoneWriter(store, partition);
  for (const e of events) await w.add(e);
  await w.flush();
  return (await store.list('raw/')).map((o) => o.key).filter((k) => !before.has(k));
}

async function loadTables(store: FolderObjectStore, name: string, partitions: Map<string, WrittenPartition>): Promise<Record<TransformedTable, string>> {
  const out = {} as Record<TransformedTable, string>;
  for (const table of TRANSFORMED_TABLE_NAMES) {
    const files = [...partitions.values()].filter((p) => p.table === table).flatMap((p) => p.keys.map((k) => store.locate(k)));
    out[table] = `${name}_${table}`;
    await conn.run(`CREATE OR REPLACE TABLE ${out[table]} AS SELECT * FROM read_parquet([${files.map((f) => `'${f}'`).join(', ')}], hive_partitioning = false)`);
  }
  return out;
}

async function rows(sql: string): Promise<Record<string, unknown>[]> {
  return (await conn.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
}

describe('incremental cycles', () => {
  it('give exactly the rows of one big cycle when the golden dataset arrives in 10 slices', async () => {
    const all = dataset();
    const dates = datesBetween(localDate(all[0].received_at - 3 * HOUR, ZONE), localDate(all[all.length - 1].received_at, ZONE));

    const bigStore = new FolderObjectStore(join(dir, 'big'));
    await writeSlice(bigStore, all, 0);
    const big = new DuckDbTransformEngine(bigStore, { tempDir: dir, threads: 2 });
    const whole = await big.transform({ settings, dates });
    await big.close();
    const bigTables = await loadTables(bigStore, 'big', new Map(whole.partitions.map((p) => [`${p.table}/${p.date}`, p])));

    const store = new FolderObjectStore(join(dir, 'inc'));
    const engine = new DuckDbTransformEngine(store, { tempDir: dir, threads: 2 });
    const current = new Map<string, WrittenPartition>();
    const earlier: string[] = [];
    const results: CycleResult[] = [];
    const size = Math.ceil(all.length / SLICES);
    for (let i = 0; i < SLICES; i++) {
      const newKeys = await writeSlice(store, all.slice(i * size, (i + 1) * size), i + 1);
      const r = await engine.cycle({ settings, newKeys, earlierKeys: async () => [...earlier], cycleId: String(i + 1).padStart(4, '0') });
      earlier.push(...newKeys);
      for (const p of r.partitions) current.set(`${p.table}/${p.date}`, p);
      results.push(r);
    }
    await engine.close();
    const incTables = await loadTables(store, 'inc', current);

    // the cases were really exercised: late events rebuilt, later copies were dropped, sessions spanned cycles
    expect(results.some((r) => r.rebuiltFrom !== null)).toBe(true);
    expect(results.filter((r) => r.rebuiltFrom === null).length).toBeGreaterThanOrEqual(3);
    // a later copy of a written event is dropped without a rebuild
    expect(results.some((r) => r.duplicates > 0 && r.rebuiltFrom === null)).toBe(true);
    expect(results.reduce((n, r) => n + r.rawRead, 0)).toBe(all.length);
    for (const table of TRANSFORMED_TABLE_NAMES) {
      const [a, b] = [bigTables[table], incTables[table]];
      expect(await rows(`SELECT * FROM (FROM ${a} EXCEPT ALL FROM ${b}) LIMIT 3`), `${table} only in the big cycle`).toEqual([]);
      expect(await rows(`SELECT * FROM (FROM ${b} EXCEPT ALL FROM ${a}) LIMIT 3`), `${table} only in the cycles`).toEqual([]);
      expect(await rows(`SELECT count(*) AS n FROM ${b}`)).toEqual(await rows(`SELECT count(*) AS n FROM ${a}`));
    }
    const night = await rows(`SELECT count(*) AS n, count(DISTINCT local_date) AS d FROM ${incTables.events} WHERE client_id = 'night'`);
    expect(night).toEqual([{ n: '4', d: '2' }]);
    const copies = await rows(`SELECT count(*) AS n FROM ${incTables.events} WHERE page_title = 'a later copy'`);
    expect(copies).toEqual([{ n: '0' }]);
  }, 300_000);
});

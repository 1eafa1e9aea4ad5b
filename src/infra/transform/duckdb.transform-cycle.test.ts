import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PropertySettings } from '../../domain/property-settings.js';
import type { RawEvent } from '../../domain/raw-event.js';
import { addDays, datesBetween, localDate, startOfLocalDate } from '../../domain/time-zone.js';
import { TRANSFORMED_TABLE_NAMES, TRANSFORMED_TABLES, type TransformedTable } from '../../domain/transformed-schema.js';
import { FolderObjectStore } from '../object-store/folder.object-store.js';
import { DuckDbTransformEngine } from './duckdb.transform-engine.js';
import { generatedRawEvents, RawZoneWriter } from './raw-zone.testkit.js';
import type { CycleResult, WrittenPartition } from './transform-engine.port.js';
import { DUCKDB_TYPES } from '../column-types.js';

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
function dataset(propertyId = 'p1', seed = 5, visitorsPerDay = 120): RawEvent[] {
  const events = [...generatedRawEvents({ tenantId: 't1', propertyId }, { seed, startDate: START, days: DAYS, timeZone: ZONE, visitorsPerDay })];
  const base = events[0];
  const day = (d: string, h: number) => startOfLocalDate(d, ZONE) + h * HOUR;
  const extra: RawEvent[] = [];
  const mk = (over: Partial<RawEvent>): RawEvent => ({ ...base, session_id: null, user_id: null, params: {}, ...over }) as RawEvent;
  const d1 = addDays(START, 1);
  // a late event (client time 30 h before receipt) that joins a session written cycles ago
  const first = events.find((e) => localDate(e.received_at, ZONE) === d1 && e.client_id !== null)!;
  extra.push(
    mk({
      event_id: 'late-1',
      client_id: first.client_id,
      client_ts: (first.client_ts ?? first.received_at) + 5 * MIN,
      received_at: (first.client_ts ?? first.received_at) + 30 * HOUR,
      name: 'scroll',
    }),
  );
  // copies of written events, received later: one with its client time, one without (event time = its own receipt)
  const copied = events.filter((e) => localDate(e.received_at, ZONE) === START).slice(10, 12);
  extra.push({ ...copied[0], received_at: copied[0].received_at + 20 * HOUR, title: 'a later copy' });
  extra.push({ ...copied[1], client_ts: null, received_at: copied[1].received_at + 26 * HOUR, title: 'a later copy' });
  // a session across midnight whose events arrive in different cycles, and a link between ids
  const night = day(d1, 23) + 50 * MIN;
  for (let i = 0; i < 4; i++) extra.push(mk({ event_id: `night-${i}`, client_id: 'night', client_ts: null, received_at: night + i * 7 * MIN }));
  // ...one of them a purchase with e-commerce items: the items table follows its session through the cycles
  const items = [
    { item_id: 'sku-1', item_name: 'Tent', price: 120, quantity: 1 },
    { item_id: 'sku-2', price: 9.5, quantity: 2 },
  ];
  Object.assign(extra[extra.length - 2], { name: 'purchase', params: { currency: 'EUR', value: 139, transaction_id: 'T-night', items } });
  extra.push(
    mk({
      event_id: 'link-1',
      client_id: 'night',
      user_id: 'u-1',
      name: 'tally_identity_link',
      client_ts: null,
      received_at: night + 30 * MIN,
      params: { user_id: 'u-1', client_id: 'night' },
    }),
  );
  // last non-direct click (issue 14): an organic visit, then direct ones on the next days (their
  // touch carried across cycles); and direct visits re-derived when an organic one arrives late
  const google = 'https://www.google.com/';
  const d2 = addDays(START, 2);
  const home = `${new URL(base.url!).origin}/`;
  extra.push(mk({ event_id: 'lnd-1', client_id: 'lnd-user', client_ts: null, received_at: day(START, 9), url: home, referrer: google }));
  extra.push(mk({ event_id: 'lnd-2', client_id: 'lnd-user', client_ts: null, received_at: day(d1, 9), url: home, referrer: null }));
  extra.push(mk({ event_id: 'lnd-3', client_id: 'lnd-user', client_ts: null, received_at: day(d2, 9), url: home, referrer: null }));
  extra.push(mk({ event_id: 'lnd-late-2', client_id: 'lnd-late', client_ts: null, received_at: day(d1, 15), url: home, referrer: null }));
  extra.push(mk({ event_id: 'lnd-late-3', client_id: 'lnd-late', client_ts: null, received_at: day(d2, 15), url: home, referrer: null }));
  extra.push(mk({ event_id: 'lnd-late-1', client_id: 'lnd-late', client_ts: day(START, 15), received_at: day(d2, 16), url: home, referrer: google }));
  return [...events, ...extra].sort((a, b) => a.received_at - b.received_at);
}

async function writeSlice(store: FolderObjectStore, events: RawEvent[], partition: number, prefix = 'raw/'): Promise<string[]> {
  const before = new Set((await store.list(prefix)).map((o) => o.key));
  const w = new RawZoneWriter(store, partition);
  for (const e of events) await w.add(e);
  await w.flush();
  return (await store.list(prefix)).map((o) => o.key).filter((k) => !before.has(k));
}

async function loadTables(store: FolderObjectStore, name: string, partitions: Map<string, WrittenPartition>): Promise<Record<TransformedTable, string>> {
  const out = {} as Record<TransformedTable, string>;
  for (const table of TRANSFORMED_TABLE_NAMES) {
    const files = [...partitions.values()].filter((p) => p.table === table).flatMap((p) => p.keys.map((k) => store.locate(k)));
    out[table] = `${name}_${table}`;
    await conn.run(
      files.length
        ? `CREATE OR REPLACE TABLE ${out[table]} AS SELECT * FROM read_parquet([${files.map((f) => `'${f}'`).join(', ')}], hive_partitioning = false)`
        : `CREATE OR REPLACE TABLE ${out[table]} (${TRANSFORMED_TABLES[table].columns.map((c) => `${c.name} ${DUCKDB_TYPES[c.type]}`).join(', ')})`,
    );
  }
  return out;
}

async function rows(sql: string): Promise<Record<string, unknown>[]> {
  return (await conn.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
}

/** A folder store whose objects DuckDB cannot read in place (as on S3): the engine fetches copies into its stage. */
class RemoteLikeStore extends FolderObjectStore {
  override locate(key: string): string {
    return `remote://${key}`;
  }
}

describe('incremental cycles', () => {
  it(
    'give exactly the rows of one big cycle when the golden dataset arrives in 10 slices',
    () => slicedEqualsWhole('inc', (d) => new FolderObjectStore(d)),
    300_000,
  );

  // the copies of closed files read to drop re-sent events were named by their index alone, so the
  // identities files overwrote the events files of the same call (DuckDB: "event_ms not found")
  it(
    'give the same rows on a store DuckDB cannot read in place (S3): every fetched copy keeps its own file',
    () => slicedEqualsWhole('remote', (d) => new RemoteLikeStore(d)),
    300_000,
  );

  async function slicedEqualsWhole(name: string, storeAt: (dir: string) => FolderObjectStore) {
    const all = dataset();
    const dates = datesBetween(localDate(all[0].received_at - 3 * HOUR, ZONE), localDate(all[all.length - 1].received_at, ZONE));

    const bigStore = new FolderObjectStore(join(dir, `big-${name}`));
    await writeSlice(bigStore, all, 0);
    const big = new DuckDbTransformEngine(bigStore, { tempDir: dir, threads: 2 });
    const whole = await big.transform({ settings, dates });
    await big.close();
    const bigTables = await loadTables(bigStore, `big_${name}`, new Map(whole.partitions.map((p) => [`${p.table}/${p.date}`, p])));

    const store = storeAt(join(dir, name));
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
    const incTables = await loadTables(new FolderObjectStore(join(dir, name)), name, current);

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
    // last non-direct click: the direct visits took the organic source, a carried one and a late one
    const lnd = await rows(
      `SELECT client_id, source, channel_group, collected_source FROM ${incTables.sessions} WHERE client_id LIKE 'lnd-%' ORDER BY client_id, session_start_ms`,
    );
    const organic = (c: string, own: string) => ({ client_id: c, source: 'google', channel_group: 'Organic Search', collected_source: own });
    expect(lnd).toEqual([
      organic('lnd-late', 'google'),
      organic('lnd-late', '(direct)'),
      organic('lnd-late', '(direct)'),
      organic('lnd-user', 'google'),
      organic('lnd-user', '(direct)'),
      organic('lnd-user', '(direct)'),
    ]);
    const inherited = await rows(`SELECT count(*) AS n FROM ${incTables.sessions} WHERE source <> collected_source AND client_id NOT LIKE 'lnd-%'`);
    expect(Number(inherited[0].n)).toBeGreaterThan(0); // 26 of the generator's returning visits

    await engine.close();
  }

  it('give each property exactly its own rows when many properties share one cycle (settings as data, late ones alone)', async () => {
    // p1 the golden dataset (late events: its cycles rebuild alone); p2 the same traffic (same client
    // and event ids) under other settings; p3 other traffic in UTC
    const props: PropertySettings[] = [
      settings,
      { ...settings, propertyId: 'p2', timeZone: 'America/New_York', sessionTimeoutMinutes: 10, engagedSessionSeconds: 30, keyEvents: ['page_view'] },
      { ...settings, propertyId: 'p3', timeZone: 'UTC', keyEvents: [] },
    ];
    const data = new Map([
      ['p1', dataset('p1')],
      ['p2', dataset('p2').filter((e) => !e.event_id.startsWith('late-'))],
      ['p3', dataset('p3', 9, 40).filter((e) => !e.event_id.startsWith('late-') && e.title !== 'a later copy')],
    ]);
    const store = new FolderObjectStore(join(dir, 'batch'));
    const engine = new DuckDbTransformEngine(store, { tempDir: dir, threads: 2 });
    const current = new Map<string, Map<string, WrittenPartition>>(props.map((s) => [s.propertyId, new Map()]));
    const earlier = new Map<string, string[]>(props.map((s) => [s.propertyId, []]));
    const results: CycleResult[][] = [];
    for (let i = 0; i < SLICES; i++) {
      const requests = [];
      for (const s of props) {
        const all = data.get(s.propertyId)!;
        const size = Math.ceil(all.length / SLICES);
        const newKeys = await writeSlice(store, all.slice(i * size, (i + 1) * size), i + 1, `raw/tenant=t1/property=${s.propertyId}/`);
        const before = [...earlier.get(s.propertyId)!];
        earlier.get(s.propertyId)!.push(...newKeys);
        requests.push({ settings: s, newKeys, earlierKeys: async () => before, cycleId: String(i + 1).padStart(4, '0') });
      }
      const r = await engine.cycleMany(requests);
      r.forEach((x, j) => x.partitions.forEach((p) => current.get(props[j].propertyId)!.set(`${p.table}/${p.date}`, p)));
      results.push(r);
    }
    await engine.close();
    // some cycles rebuilt a property (alone), others ran all three in one batch
    expect(results.some((r) => r[0].rebuiltFrom !== null)).toBe(true);
    expect(results.some((r) => r.every((x) => x.rebuiltFrom === null))).toBe(true);

    for (const s of props) {
      const all = data.get(s.propertyId)!;
      const bigStore = new FolderObjectStore(join(dir, `batch-big-${s.propertyId}`));
      await writeSlice(bigStore, all, 0);
      const dates = datesBetween(localDate(all[0].received_at - 3 * HOUR, s.timeZone), localDate(all[all.length - 1].received_at, s.timeZone));
      const big = new DuckDbTransformEngine(bigStore, { tempDir: dir, threads: 2 });
      const whole = await big.transform({ settings: s, dates });
      await big.close();
      const a = await loadTables(bigStore, `big_${s.propertyId}`, new Map(whole.partitions.map((p) => [`${p.table}/${p.date}`, p])));
      const b = await loadTables(store, `batch_${s.propertyId}`, current.get(s.propertyId)!);
      for (const table of TRANSFORMED_TABLE_NAMES) {
        expect(await rows(`SELECT * FROM (FROM ${a[table]} EXCEPT ALL FROM ${b[table]}) LIMIT 3`), `${s.propertyId} ${table} only in its own run`).toEqual([]);
        expect(await rows(`SELECT * FROM (FROM ${b[table]} EXCEPT ALL FROM ${a[table]}) LIMIT 3`), `${s.propertyId} ${table} only in the batch`).toEqual([]);
        expect(Number((await rows(`SELECT count(*) AS n FROM ${b[table]}`))[0].n)).toBeGreaterThan(0);
      }
    }
  }, 300_000);

  it('append a file per cycle to a day partition without touching earlier ones; compaction merges them, idempotently', async () => {
    const store = new FolderObjectStore(join(dir, 'compact'));
    const engine = new DuckDbTransformEngine(store, { tempDir: dir, threads: 2, lateAllowanceMs: 0 });
    const t0 = startOfLocalDate('2024-05-02', ZONE) + 9 * HOUR;
    const base = [
      ...generatedRawEvents({ tenantId: 't1', propertyId: 'p1' }, { seed: 1, startDate: '2024-05-02', days: 1, timeZone: ZONE, visitorsPerDay: 5 }),
    ][0];
    const mk = (i: number, client: string, t: number): RawEvent =>
      ({ ...base, event_id: `x-${i}`, client_id: client, session_id: null, client_ts: null, received_at: t, params: {} }) as RawEvent;
    // hour by hour, one visitor per hour: each cycle closes the previous hour's session
    const current = new Map<string, WrittenPartition>();
    const earlier: string[] = [];
    const all: RawEvent[] = [];
    for (let c = 0; c < 4; c++) {
      const events = [mk(2 * c, `v${c}`, t0 + c * HOUR), mk(2 * c + 1, `v${c}`, t0 + c * HOUR + 5 * MIN)];
      all.push(...events);
      const newKeys = await writeSlice(store, events, c + 1);
      const before = new Map((await store.list('transformed/')).map((o) => [o.key, o.lastModified]));
      const r = await engine.cycle({ settings, newKeys, earlierKeys: async () => [...earlier], cycleId: `000${c}` });
      earlier.push(...newKeys);
      expect(r.rebuiltFrom).toBeNull();
      for (const p of r.partitions) current.set(`${p.table}/${p.date}`, p);
      // closed files of earlier cycles are never rewritten
      for (const o of await store.list('transformed/'))
        if (before.has(o.key) && !o.key.endsWith('/open.parquet')) expect(o.lastModified).toBe(before.get(o.key));
    }
    const events = current.get('events/2024-05-02')!;
    expect(events.keys.map((k) => k.slice(k.lastIndexOf('/') + 1))).toEqual(['c-0001.parquet', 'c-0002.parquet', 'c-0003.parquet', 'open.parquet']);
    expect(await engine.compact(settings, 'events', '2024-05-02')).toBeNull(); // still open: not closed

    // the last visitor's session closes once later traffic moves the cut past it
    const later = mk(99, 'late-visitor', t0 + 6 * HOUR);
    all.push(later);
    const r = await engine.cycle({ settings, newKeys: await writeSlice(store, [later], 9), earlierKeys: async () => [...earlier], cycleId: '0009' });
    for (const p of r.partitions) current.set(`${p.table}/${p.date}`, p);
    const p = current.get('events/2024-05-02')!;
    expect(p.keys.some((k) => k.endsWith('/open.parquet'))).toBe(true); // the later visitor's
    const bigStore = new FolderObjectStore(join(dir, 'compact-big'));
    await writeSlice(bigStore, all, 0);
    const big = new DuckDbTransformEngine(bigStore, { tempDir: dir, threads: 2 });
    const whole = await big.transform({ settings, dates: ['2024-05-02'] });
    await big.close();
    const bigTables = await loadTables(bigStore, 'cbig', new Map(whole.partitions.map((w) => [`${w.table}/${w.date}`, w])));

    // make the day closed: its last session moves into the closed files, then compaction merges them
    const close = mk(100, 'next-day', t0 + 30 * HOUR);
    all.push(close);
    const r2 = await engine.cycle({ settings, newKeys: await writeSlice(store, [close], 10), earlierKeys: async () => [...earlier], cycleId: '0010' });
    for (const w of r2.partitions) current.set(`${w.table}/${w.date}`, w);
    const day = current.get('events/2024-05-02')!;
    expect(day.keys.length).toBeGreaterThan(1);
    expect(day.keys.some((k) => k.endsWith('/open.parquet'))).toBe(false);
    const compacted = new Map(current);
    for (const table of TRANSFORMED_TABLE_NAMES) {
      const w = current.get(`${table}/2024-05-02`);
      if (!w) continue;
      const c = await engine.compact(settings, table, '2024-05-02');
      if (w.keys.length <= 1) {
        expect(c).toBeNull();
        continue;
      }
      expect(c!.rows).toBe(w.rows);
      expect(c!.keys).toEqual([`transformed/${table}/tenant=t1/property=p1/dt=2024-05-02/compacted.parquet`]);
      await store.delete(c!.obsolete);
      compacted.set(`${table}/2024-05-02`, { ...w, keys: c!.keys });
      expect(await engine.compact(settings, table, '2024-05-02')).toBeNull();
    }
    // a run stopped before deleting the old files is finished by the next, without a second copy of the rows
    await store.put(day.keys[0], (await bigStore.get(whole.partitions.find((w) => w.table === 'events')!.keys[0]))!);
    const again = await engine.compact(settings, 'events', '2024-05-02');
    expect(again).toEqual({ keys: compacted.get('events/2024-05-02')!.keys, obsolete: [day.keys[0]], rows: day.rows });
    await store.delete(again!.obsolete);
    await engine.close();

    const t = await loadTables(store, 'compacted', new Map([...compacted].filter(([k]) => k.endsWith('/2024-05-02'))));
    for (const table of TRANSFORMED_TABLE_NAMES) {
      const [a, b] = [bigTables[table], t[table]];
      expect(await rows(`SELECT * FROM (FROM ${a} EXCEPT ALL FROM ${b}) UNION ALL SELECT * FROM (FROM ${b} EXCEPT ALL FROM ${a}) LIMIT 3`), table).toEqual([]);
    }
  }, 120_000);

  // the duplicate check read the event_id column of every closed file of the new records' dates ±1
  // day each cycle, so a cycle's cost grew with the day; it now joins them to the event-id index
  it('find written copies through the event-id index without reading closed files, and after another process cycled', async () => {
    const store = new FolderObjectStore(join(dir, 'index'));
    const s = { ...settings, timeZone: 'UTC' };
    const [a, b] = [0, 1].map(() => new DuckDbTransformEngine(store, { tempDir: dir, threads: 2, lateAllowanceMs: 0 }));
    const base = [
      ...generatedRawEvents({ tenantId: 't1', propertyId: 'p1' }, { seed: 3, startDate: '2024-05-01', days: 1, timeZone: 'UTC', visitorsPerDay: 5 }),
    ][0];
    const at = (d: string, h: number) => Date.parse(`${d}T00:00:00Z`) + h * HOUR;
    const mk = (id: string, client: string, t: number, received = t): RawEvent =>
      ({ ...base, event_id: id, client_id: client, session_id: null, client_ts: t, received_at: received, params: {} }) as RawEvent;
    const earlier: string[] = [];
    let n = 0;
    const cycle = async (engine: DuckDbTransformEngine, events: RawEvent[]) => {
      const newKeys = await writeSlice(store, events, ++n);
      const r = await engine.cycle({ settings: s, newKeys, earlierKeys: async () => [...earlier], cycleId: String(n).padStart(4, '0') });
      earlier.push(...newKeys);
      expect(r.rebuiltFrom).toBeNull();
      return r;
    };
    await cycle(a, [mk('a-1', 'a', at('2024-05-01', 10)), mk('a-2', 'a', at('2024-05-01', 10) + MIN)]);
    await cycle(a, [mk('c-1', 'c', at('2024-05-02', 9))]); // closes a's session: written to 05-01's closed file
    const [day1] = (await store.list('transformed/events/tenant=t1/property=p1/dt=2024-05-01/')).map((o) => o.key);
    const body = (await store.get(day1))!;
    // a closed file of a date in the check range that cannot be read: the check must not need it
    await store.put(day1, Buffer.from('not parquet'));
    expect((await cycle(a, [mk('d-1', 'd', at('2024-05-02', 10))])).duplicates).toBe(0);
    await store.put(day1, body);
    // another process (b, its index cold) drops a later copy of a's event, and writes d's session
    expect((await cycle(b, [mk('e-1', 'e', at('2024-05-02', 11)), mk('a-1', 'a', at('2024-05-01', 10), at('2024-05-02', 11))])).duplicates).toBe(1);
    // a's index missed what b wrote: its state names b's cycle, so a rebuilds the index and drops the copy
    expect((await cycle(a, [mk('f-1', 'f', at('2024-05-02', 12)), mk('d-1', 'd', at('2024-05-02', 10), at('2024-05-02', 12))])).duplicates).toBe(1);
    await a.close();
    await b.close();
    const files = (await store.list('transformed/events/')).map((o) => `'${store.locate(o.key)}'`);
    expect(await rows(`SELECT event_id, count(*) AS n FROM read_parquet([${files.join(', ')}]) GROUP BY ALL HAVING count(*) > 1`)).toEqual([]);
  }, 120_000);

  it('runs one cycle of a property at a time: two runs over the same objects leave every event once', async () => {
    const store = new FolderObjectStore(join(dir, 'twice'));
    const engine = new DuckDbTransformEngine(store, { tempDir: dir, threads: 2 });
    const events = [
      ...generatedRawEvents({ tenantId: 't1', propertyId: 'p1' }, { seed: 9, startDate: '2024-06-03', days: 1, timeZone: ZONE, visitorsPerDay: 30 }),
    ];
    const newKeys = await writeSlice(store, events, 1);
    const request = { settings, newKeys, earlierKeys: async () => [] as string[] };
    const [a, b] = await Promise.all([engine.cycle({ ...request, cycleId: '0001' }), engine.cycle({ ...request, cycleId: '0002' })]);
    await engine.close();
    const current = new Map<string, WrittenPartition>();
    for (const p of [...a.partitions, ...b.partitions]) current.set(`${p.table}/${p.date}`, p);
    const t = await loadTables(store, 'twice', current);
    expect(await rows(`SELECT count(*) - count(DISTINCT event_id) AS extra FROM ${t.events}`)).toEqual([{ extra: '0' }]);
    expect(await rows(`SELECT count(*) - count(DISTINCT session_key) AS extra FROM ${t.sessions}`)).toEqual([{ extra: '0' }]);
  }, 60_000);

  it('moves a state written in the earlier per-property layout into the shared objects, carrying its open session on', async () => {
    const t0 = startOfLocalDate('2024-07-01', ZONE) + 10 * HOUR;
    const base = [
      ...generatedRawEvents({ tenantId: 't1', propertyId: 'p1' }, { seed: 2, startDate: '2024-07-01', days: 1, timeZone: ZONE, visitorsPerDay: 3 }),
    ][0];
    const mk = (i: number, t: number): RawEvent =>
      ({ ...base, event_id: `m-${i}`, client_id: 'mover', session_id: null, client_ts: null, received_at: t, params: {} }) as RawEvent;
    const runs: Record<string, Record<TransformedTable, string>> = {};
    for (const mode of ['shared', 'legacy']) {
      const store = new FolderObjectStore(join(dir, `legacy-${mode}`));
      const engine = new DuckDbTransformEngine(store, { tempDir: dir, threads: 2, lateAllowanceMs: 0 });
      const first = await writeSlice(store, [mk(1, t0), mk(2, t0 + 5 * MIN)], 1);
      const current = new Map<string, WrittenPartition>();
      for (const p of (await engine.cycle({ settings, newKeys: first, earlierKeys: async () => [], cycleId: '0001' })).partitions)
        current.set(`${p.table}/${p.date}`, p);
      if (mode === 'legacy') {
        // the state as the earlier version wrote it: per property, the carry as gzip NDJSON, key tables without ids
        const shared = (k: string) => store.locate(`state/transform/shared/${k}`);
        const legacy = (k: string) => store.locate(`state/transform/tenant=t1/property=p1/${k}`);
        const state = JSON.parse((await store.get('state/transform/shared/state.json'))!.toString('utf8')).properties['t1/p1'];
        expect(state.openDates.events).toEqual(['2024-07-01']);
        await store.put('state/transform/tenant=t1/property=p1/state.json', Buffer.from(JSON.stringify(state)));
        await conn.run(`COPY (FROM read_parquet('${shared('carry.parquet')}')) TO '${legacy('carry.ndjson.gz')}' (FORMAT json, COMPRESSION gzip)`);
        expect(await rows(`SELECT count(*) AS n FROM read_json('${legacy('carry.ndjson.gz')}')`)).toEqual([{ n: '2' }]);
        await conn.run(`COPY (SELECT session_key, end_ms FROM read_parquet('${shared('closed_sessions.parquet')}')) TO '${legacy('closed_sessions.parquet')}'`);
        await conn.run(
          `COPY (SELECT client_id, user_id, local_date FROM read_parquet('${shared('closed_identities.parquet')}')) TO '${legacy('closed_identities.parquet')}'`,
        );
        await store.delete(['state.json', 'carry.parquet', 'closed_sessions.parquet', 'closed_identities.parquet'].map((k) => `state/transform/shared/${k}`));
      }
      // the session goes on in the next cycle, and a later visit closes it
      const second = await writeSlice(store, [mk(3, t0 + 12 * MIN), { ...mk(4, t0 + 3 * HOUR), client_id: 'later' }], 2);
      const r = await engine.cycle({ settings, newKeys: second, earlierKeys: async () => first, cycleId: '0002' });
      await engine.close();
      expect(r.rebuiltFrom).toBeNull();
      for (const p of r.partitions) current.set(`${p.table}/${p.date}`, p);
      runs[mode] = await loadTables(store, `moved_${mode}`, current);
      expect((await store.list('state/transform/tenant=')).map((o) => o.key)).toEqual([]);
      expect(await rows(`SELECT events, session_key FROM ${runs[mode].sessions} WHERE client_id = 'mover'`)).toEqual([
        { events: 3, session_key: `mover:${t0}` },
      ]);
    }
    for (const table of TRANSFORMED_TABLE_NAMES) {
      expect(await rows(`SELECT * FROM (FROM ${runs.shared[table]} EXCEPT ALL FROM ${runs.legacy[table]}) LIMIT 3`)).toEqual([]);
      expect(await rows(`SELECT * FROM (FROM ${runs.legacy[table]} EXCEPT ALL FROM ${runs.shared[table]}) LIMIT 3`)).toEqual([]);
    }
  }, 60_000);
});

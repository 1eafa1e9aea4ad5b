import { describe, expect, it } from 'vitest';
import { TallyError } from '../errors.js';
import type { ObjectStore } from '../object-store/object-store.port.js';
import { DuckDbTransformEngine, offsetSegments } from './duckdb.transform-engine.js';
import { MIN, dir, store, engine, at, settingsFor, ev, archive, read, useTransformEngine } from './duckdb.transform-engine.testkit.js';

useTransformEngine();

describe('offsetSegments', () => {
  it('lists the offset changes of a DST zone at the exact instant', () => {
    const segs = offsetSegments('America/New_York', at('2024-03-09T05:00:00Z'), at('2024-03-12T04:00:00Z'));
    expect(segs.slice(1)).toEqual([[at('2024-03-10T07:00:00Z'), -4 * 60 * MIN]]);
    expect(segs[0][1]).toBe(-5 * 60 * MIN);
    expect(offsetSegments('Asia/Kolkata', at('2024-06-01T00:00:00Z'), at('2024-06-05T00:00:00Z'))).toEqual([[Number.MIN_SAFE_INTEGER, 330 * MIN]]);
  });
});

describe('DuckDbTransformEngine, edge partitions', () => {
  it('refuses a malformed date or an unknown time zone', async () => {
    const refused = (e: unknown) => e instanceof TallyError && e.code === 'invalid_argument';
    await expect(engine.transform({ settings: settingsFor('x'), dates: ['2024-02-30'] })).rejects.toSatisfy(refused);
    await expect(engine.transform({ settings: settingsFor('x'), dates: ['24-1-1'] })).rejects.toSatisfy(refused);
    await expect(engine.transform({ settings: settingsFor('x', { timeZone: 'Mars/Olympus' }), dates: ['2024-01-01'] })).rejects.toSatisfy(refused);
    expect(await engine.transform({ settings: settingsFor('x'), dates: [] })).toEqual({
      partitions: [],
      rawRead: 0,
      eventsWritten: 0,
    });
  });

  it('replaces a stale partition with an empty one when the date has no events', async () => {
    const P = 'empty';
    const key = `transformed/events/tenant=t1/property=${P}/dt=2024-05-01/part-0.parquet`;
    await store.put(key, Buffer.from('stale'));
    await archive([ev(P, { t: at('2024-05-02T12:00:00Z') })]);
    const res = await engine.transform({ settings: settingsFor(P), dates: ['2024-05-01'] });
    expect(res.partitions.map((p) => [p.table, p.date, p.rows])).toEqual([
      ['events', '2024-05-01', 0],
      ['sessions', '2024-05-01', 0],
      ['identities', '2024-05-01', 0],
    ]);
    expect(res.rawRead).toBe(1);
    expect(res.eventsWritten).toBe(0);
    expect(await read('events', P, '2024-05-01')).toEqual([]);
    expect(await read('sessions', P, '2024-05-01')).toEqual([]);
    expect(await store.get(`transformed/events/tenant=t1/property=${P}/dt=2024-05-02/part-0.parquet`)).toBeNull();
  });

  it('downloads raw objects when the store has no local paths (as with S3)', async () => {
    const P = 'remote';
    await archive([ev(P, { t: at('2024-05-01T12:00:00Z'), event_id: 'r-1' })]);
    // the folder store seen through a port whose locations are not local paths
    const remote: ObjectStore = {
      put: (k, b) => store.put(k, b),
      get: (k) => store.get(k),
      list: (p) => store.list(p),
      delete: (k) => store.delete(k),
      locate: (k) => `s3://bucket/${k}`,
      close: async () => {},
    };
    const remoteEngine = new DuckDbTransformEngine(remote, { tempDir: dir });
    try {
      const res = await remoteEngine.transform({ settings: settingsFor(P), dates: ['2024-05-01'] });
      expect([res.rawRead, res.eventsWritten]).toEqual([1, 1]);
      expect((await read('events', P, '2024-05-01')).map((r) => r.event_id)).toEqual(['r-1']);
    } finally {
      await remoteEngine.close();
    }
  });

  it('writes empty partitions when the property has no raw data at all', async () => {
    const res = await engine.transform({ settings: settingsFor('nothing'), dates: ['2024-05-01'] });
    expect(res.rawRead).toBe(0);
    expect(await read('sessions', 'nothing', '2024-05-01')).toEqual([]);
  });

  it('puts events on local dates and hours across both DST switches (America/New_York)', async () => {
    const P = 'dst';
    const cases: [string, string, number][] = [
      // [UTC instant, expected local date, expected local hour]
      ['2024-03-10T04:59:59Z', '2024-03-09', 23],
      ['2024-03-10T05:00:00Z', '2024-03-10', 0],
      ['2024-03-10T06:30:00Z', '2024-03-10', 1],
      ['2024-03-10T07:00:00Z', '2024-03-10', 3],
      ['2024-03-11T03:59:59Z', '2024-03-10', 23],
      ['2024-03-11T04:00:00Z', '2024-03-11', 0],
      ['2024-11-03T05:30:00Z', '2024-11-03', 1],
      ['2024-11-03T06:30:00Z', '2024-11-03', 1],
      ['2024-11-04T04:59:59Z', '2024-11-03', 23],
      ['2024-11-04T05:00:00Z', '2024-11-04', 0],
    ];
    await archive(cases.map(([iso], i) => ev(P, { t: at(iso), client_id: `dst-${i}`, event_id: `dst-${i}` })));
    const settings = settingsFor(P, { timeZone: 'America/New_York' });
    const res = await engine.transform({ settings, dates: ['2024-03-10', '2024-11-03'] });
    expect(res.partitions.filter((p) => p.table === 'events').map((p) => [p.date, p.rows])).toEqual([
      ['2024-03-10', 4],
      ['2024-11-03', 3],
    ]);
    for (const date of ['2024-03-10', '2024-11-03']) {
      const rows = await read('events', P, date);
      const expected = cases.map(([, d, h], i) => [`dst-${i}`, d, h]).filter(([, d]) => d === date);
      expect(rows.map((r) => [r.event_id, r.local_date, r.local_hour])).toEqual(expected);
      const sessions = await read('sessions', P, date);
      expect(sessions.map((s) => [s.client_id, s.local_date, s.local_hour])).toEqual(expected.map(([id, d, h]) => [id, d, h]));
    }
    expect(await store.get(`transformed/events/tenant=t1/property=${P}/dt=2024-03-09/part-0.parquet`)).toBeNull();
  });
});

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { PropertySettings } from '../../domain/property-settings.js';
import type { RawEvent } from '../../domain/raw-event.js';
import { FolderObjectStore } from '../object-store/folder.object-store.js';
import { DuckDbTransformEngine } from './duckdb.transform-engine.js';
import { at, dir, engine, ev, query, type Row, settingsFor, store, useTransformEngine } from './duckdb.transform-engine.testkit.js';
import { RawZoneWriter } from './raw-zone.testkit.js';
import type { CycleResult } from './transform-engine.port.js';

/**
 * GA4's last non-direct click (issue 14): a direct session takes its user's latest non-direct
 * session's source within 90 days, across day partitions, runs and incremental cycles, never
 * across users, properties or tenants; late data re-derives the later sessions.
 */

useTransformEngine();

const GOOGLE = 'https://www.google.com/';
const HOUR = 3_600_000;
const traffic = (r: Row) => [r.source, r.medium, r.channel_group];
const collected = (r: Row) => [r.collected_source, r.collected_medium, r.collected_channel_group];
const ORGANIC = ['google', 'organic', 'Organic Search'];
const DIRECT = ['(direct)', '(none)', 'Direct'];

/** Every row of a table of one property, from all its files (part-0, cycle files, open). */
function rows(s: FolderObjectStore, table: 'sessions' | 'events', tenantId: string, propertyId: string, where = 'true'): Promise<Row[]> {
  const glob = join(s.locate(`transformed/${table}/tenant=${tenantId}/property=${propertyId}`), '**', '*.parquet');
  return query(
    `SELECT * FROM read_parquet('${glob}', hive_partitioning = false) WHERE ${where} ORDER BY ${table === 'sessions' ? 'session_start_ms' : 'event_ms'}`,
  );
}

/** Sessions of one client, keyed by local date. */
async function byDate(s: FolderObjectStore, tenantId: string, propertyId: string, clientId: string): Promise<Record<string, Row>> {
  return Object.fromEntries((await rows(s, 'sessions', tenantId, propertyId, `client_id = '${clientId}'`)).map((r) => [String(r.local_date), r]));
}

describe('last non-direct click, one transform per run', () => {
  it('gives direct sessions the user’s organic source for 90 days, across runs; no other user, property or tenant', async () => {
    const P = 'lnd';
    await writeRaw(store, [
      ev(P, { t: at('2024-01-01T10:00:00Z'), client_id: 'c-a', referrer: GOOGLE }),
      ev(P, { t: at('2024-01-02T10:00:00Z'), client_id: 'c-a', event_id: 'a-day2' }),
      ev(P, { t: at('2024-01-03T10:00:00Z'), client_id: 'c-a' }),
      ev(P, { t: at('2024-01-02T11:00:00Z'), client_id: 'c-b' }),
      // exactly 90 days after the organic session, then 91 days
      ev(P, { t: at('2024-03-31T10:00:00Z'), client_id: 'c-a' }),
      ev(P, { t: at('2024-04-01T10:00:00Z'), client_id: 'c-a' }),
      // the same client id in another property of the tenant, and in another tenant's property of the same id
      ev('other', { t: at('2024-01-02T10:00:00Z'), client_id: 'c-a' }),
      { ...ev(P, { t: at('2024-01-02T10:00:00Z'), client_id: 'c-a' }), tenant_id: 't2' },
    ]);
    // days 1-3 in one run: the window itself
    await engine.transform({ settings: settingsFor(P), dates: ['2024-01-01', '2024-01-02', '2024-01-03'] });
    let a = await byDate(store, 't1', P, 'c-a');
    expect(traffic(a['2024-01-01'])).toEqual(ORGANIC);
    for (const d of ['2024-01-02', '2024-01-03']) {
      expect(traffic(a[d]), d).toEqual(ORGANIC);
      expect(a[d].campaign).toEqual(a['2024-01-01'].campaign);
      // the session's own source stays beside it; the first session's is its own
      expect(collected(a[d]), d).toEqual(DIRECT);
    }
    expect(collected(a['2024-01-01'])).toEqual(ORGANIC);
    const [e] = await rows(store, 'events', 't1', P, `event_id = 'a-day2'`);
    expect([e.session_source, e.session_medium, e.session_channel_group]).toEqual(ORGANIC);
    expect(traffic((await byDate(store, 't1', P, 'c-b'))['2024-01-02'])).toEqual(DIRECT);

    // later runs, one day each: the touch comes from the earlier days' sessions files
    await engine.transform({ settings: settingsFor(P), dates: ['2024-03-31'] });
    await engine.transform({ settings: settingsFor(P), dates: ['2024-04-01'] });
    a = await byDate(store, 't1', P, 'c-a');
    expect(traffic(a['2024-03-31'])).toEqual(ORGANIC);
    expect(traffic(a['2024-04-01'])).toEqual(DIRECT);

    await engine.transform({ settings: settingsFor('other'), dates: ['2024-01-02'] });
    await engine.transform({ settings: settingsFor(P, { tenantId: 't2' }), dates: ['2024-01-02'] });
    expect(traffic((await byDate(store, 't1', 'other', 'c-a'))['2024-01-02'])).toEqual(DIRECT);
    expect(traffic((await byDate(store, 't2', P, 'c-a'))['2024-01-02'])).toEqual(DIRECT);
  });

  it('keeps a non-direct session’s own source, and follows the latest non-direct one', async () => {
    const P = 'latest';
    await writeRaw(store, [
      ev(P, { t: at('2024-02-01T10:00:00Z'), client_id: 'c-l', referrer: GOOGLE }),
      ev(P, { t: at('2024-02-02T10:00:00Z'), client_id: 'c-l', url: 'https://shop.example/?utm_source=news&utm_medium=email&utm_campaign=feb' }),
      ev(P, { t: at('2024-02-03T10:00:00Z'), client_id: 'c-l' }),
    ]);
    await engine.transform({ settings: settingsFor(P), dates: ['2024-02-01', '2024-02-02', '2024-02-03'] });
    const l = await byDate(store, 't1', P, 'c-l');
    expect(traffic(l['2024-02-02'])).toEqual(['news', 'email', 'Email']);
    expect([...traffic(l['2024-02-03']), l['2024-02-03'].campaign]).toEqual(['news', 'email', 'Email', 'feb']);
  });
});

describe('last non-direct click, incremental cycles', () => {
  it('carries each user’s touch between cycles, per tenant and property in one batch', async () => {
    const s = new FolderObjectStore(join(dir, 'cycles'));
    const cycler = new DuckDbTransformEngine(s, { tempDir: dir, threads: 2 });
    const props = [settingsFor('cyc'), settingsFor('cyc', { tenantId: 't2' }), settingsFor('cyc2')];
    const run = runner(s, cycler);
    const day1 = at('2024-05-01T10:00:00Z');
    const mk = (p: PropertySettings, t: number, over: Partial<RawEvent> = {}): RawEvent => ({ ...ev(p.propertyId, { t, ...over }), tenant_id: p.tenantId });
    // cycle 1: the organic session (still open); cycle 2: other traffic closes it (into the carried touches)
    await run(props, [mk(props[0], day1, { client_id: 'c-a', referrer: GOOGLE })]);
    await run(
      props,
      props.map((p) => mk(p, day1 + 3 * HOUR, { client_id: 'filler' })),
    );
    // cycle 3, a day later: the same client id, direct, in all three properties
    const results = await run(
      props,
      props.map((p) => mk(p, day1 + 24 * HOUR, { client_id: 'c-a' })),
    );
    expect(results.every((r) => r.rebuiltFrom === null)).toBe(true);
    expect(traffic((await byDate(s, 't1', 'cyc', 'c-a'))['2024-05-02'])).toEqual(ORGANIC);
    expect(traffic((await byDate(s, 't2', 'cyc', 'c-a'))['2024-05-02'])).toEqual(DIRECT);
    expect(traffic((await byDate(s, 't1', 'cyc2', 'c-a'))['2024-05-02'])).toEqual(DIRECT);
    const touches = await query(`SELECT tenant_id, property_id, user_key FROM read_parquet('${s.locate('state/transform/shared/touches.parquet')}')`);
    expect(touches).toEqual([{ tenant_id: 't1', property_id: 'cyc', user_key: 'c-a' }]);
    await cycler.close();
  });

  it('re-derives later days when a late non-direct session arrives, as a full re-transform does', async () => {
    const s = new FolderObjectStore(join(dir, 'late'));
    const cycler = new DuckDbTransformEngine(s, { tempDir: dir, threads: 2 });
    const p = settingsFor('late');
    const run = runner(s, cycler);
    const day2 = at('2024-06-02T10:00:00Z');
    await run([p], [ev('late', { t: day2, client_id: 'c-x' })]);
    await run([p], [ev('late', { t: day2 + 24 * HOUR, client_id: 'c-x' }), ev('late', { t: day2 + 27 * HOUR, client_id: 'filler' })]);
    let x = await byDate(s, 't1', 'late', 'c-x');
    expect([traffic(x['2024-06-02']), traffic(x['2024-06-03'])]).toEqual([DIRECT, DIRECT]);

    // an organic session of 06-01 received on 06-03: late, the cycle rebuilds from the day before it
    const late = { ...ev('late', { t: day2 + 28 * HOUR, client_id: 'c-x', referrer: GOOGLE }), client_ts: day2 - 24 * HOUR };
    const [r] = await run([p], [late]);
    expect(r.rebuiltFrom).toBe('2024-05-31');
    x = await byDate(s, 't1', 'late', 'c-x');
    expect(Object.keys(x)).toEqual(['2024-06-01', '2024-06-02', '2024-06-03']);
    for (const d of Object.keys(x)) expect(traffic(x[d]), d).toEqual(ORGANIC);

    // the same raw objects in one full transform give the same sessions
    const whole = new FolderObjectStore(join(dir, 'late-whole'));
    await writeRaw(whole, run.all);
    const big = new DuckDbTransformEngine(whole, { tempDir: dir, threads: 2 });
    await big.transform({ settings: p, dates: ['2024-06-01', '2024-06-02', '2024-06-03'] });
    const cols = 'session_key, source, medium, campaign, channel_group, collected_source, collected_channel_group';
    const strip = (r: Row[]) => r.map((y) => Object.fromEntries(cols.split(', ').map((c) => [c, y[c]])));
    expect(strip(await rows(s, 'sessions', 't1', 'late'))).toEqual(strip(await rows(whole, 'sessions', 't1', 'late')));
    await big.close();
    await cycler.close();
  });
});

async function writeRaw(s: FolderObjectStore, events: RawEvent[], partition = 0): Promise<string[]> {
  const before = new Set((await s.list('raw/')).map((o) => o.key));
  const w = new RawZoneWriter(s, partition);
  for (const e of [...events].sort((a, b) => a.received_at - b.received_at)) await w.add(e);
  await w.flush();
  return (await s.list('raw/')).map((o) => o.key).filter((k) => !before.has(k));
}

/** Runs one cycle of the given properties over `events` (written as new raw objects); remembers every event. */
function runner(s: FolderObjectStore, cycler: DuckDbTransformEngine) {
  let n = 0;
  const earlier: string[] = [];
  const run = async (props: PropertySettings[], events: RawEvent[]): Promise<CycleResult[]> => {
    run.all.push(...events);
    const keys = await writeRaw(s, events, ++n);
    const cycleId = String(n).padStart(4, '0');
    const own = (p: PropertySettings) => (k: string) => k.includes(`/tenant=${p.tenantId}/property=${p.propertyId}/`);
    const results = await cycler.cycleMany(
      props.map((p) => ({ settings: p, newKeys: keys.filter(own(p)), earlierKeys: async () => earlier.filter(own(p)), cycleId })),
    );
    earlier.push(...keys);
    return results;
  };
  run.all = [] as RawEvent[];
  return run;
}

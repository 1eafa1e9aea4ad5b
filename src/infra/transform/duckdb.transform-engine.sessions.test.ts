import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { botVerdict } from '../../domain/enrichment/bot.js';
import type { RawEvent } from '../../domain/raw-event.js';
import { TRANSFORMED_TABLE_NAMES, TRANSFORMED_TABLES, type TransformedTable } from '../../domain/transformed-schema.js';
import { FolderObjectStore } from '../object-store/folder.object-store.js';
import { DuckDbTransformEngine } from './duckdb.transform-engine.js';
import type { TransformResult } from './transform-engine.port.js';
import { DUCKDB_TYPES } from '../column-types.js';
import {
  MIN,
  GOOGLEBOT,
  SITE,
  dir,
  store,
  engine,
  at,
  settingsFor,
  ev,
  archive,
  type Row,
  query,
  partPath,
  read,
  useTransformEngine,
} from './duckdb.transform-engine.testkit.js';

useTransformEngine();

describe('DuckDbTransformEngine', () => {
  // Property "main", UTC: most scenarios, transformed once for 2024-03-10 .. 2024-03-12.
  const P = 'main';
  const DATES = ['2024-03-10', '2024-03-11', '2024-03-12'];
  let result: TransformResult;
  const progress: [number, number][] = [];
  const counts = { raw: 0, events: 0 };

  beforeAll(async () => {
    const base = at('2024-03-10T10:00:00Z');
    const events: RawEvent[] = [
      // dedup: same event in two objects; the earliest receipt wins
      ev(P, { t: base, event_id: 'dup-1', client_id: 'c-dup', title: 'first copy' }),
      // dedup tie on receipt time: the smallest record wins
      ev(P, { t: base, event_id: 'tie-1', client_id: 'c-tie', title: 'b-title' }),
      // bot: flagged and kept
      ev(P, { t: base + 5 * MIN, client_id: 'c-bot', ua: GOOGLEBOT, url: `${SITE}/bot-page` }),
      // midnight crossing: one session from 23:50 on the 10th
      ev(P, { t: at('2024-03-10T23:50:00Z'), client_id: 'c-mid', event_id: 'mid-1', url: `${SITE}/late` }),
      ev(P, { t: at('2024-03-10T23:58:00Z'), client_id: 'c-mid', event_id: 'mid-2', name: 'scroll' }),
      ev(P, { t: at('2024-03-11T00:10:00Z'), client_id: 'c-mid', event_id: 'mid-3', url: `${SITE}/after-midnight` }),
      // client session ids: kept across a 2 h gap, split when the id changes
      ev(P, { t: base, client_id: 'c-sid', session_id: '111' }),
      ev(P, { t: base + 120 * MIN, client_id: 'c-sid', session_id: '111' }),
      ev(P, { t: base + 121 * MIN, client_id: 'c-sid', session_id: '222' }),
      // timeout: a gap of exactly 30 min continues, 30 min + 1 ms splits
      ev(P, { t: base, client_id: 'c-gap', event_id: 'gap-1' }),
      ev(P, { t: base + 30 * MIN, client_id: 'c-gap', event_id: 'gap-2' }),
      ev(P, { t: base + 60 * MIN + 1, client_id: 'c-gap', event_id: 'gap-3' }),
      // late: happened on the 11th, received 50 h later (stored under the receipt hour)
      ev(P, {
        t: at('2024-03-13T02:00:00Z'),
        client_ts: at('2024-03-11T00:00:00Z'),
        client_id: 'c-late',
        event_id: 'late-1',
      }),
      // engaged rules
      ev(P, { t: base, client_id: 'eng-none' }),
      ev(P, { t: base, client_id: 'eng-10s' }),
      ev(P, { t: base + 10_000, client_id: 'eng-10s', name: 'scroll' }),
      ev(P, { t: base, client_id: 'eng-11s' }),
      ev(P, { t: base + 11_000, client_id: 'eng-11s', name: 'scroll' }),
      ev(P, { t: base, client_id: 'eng-2pv', url: `${SITE}/a` }),
      ev(P, { t: base + 1000, client_id: 'eng-2pv', url: `${SITE}/b` }),
      ev(P, { t: base, client_id: 'eng-key' }),
      ev(P, { t: base, client_id: 'eng-key', name: 'purchase', url: null }),
      ev(P, { t: base, client_id: 'eng-flag-s', name: 'user_engagement', params: { session_engaged: '1' } }),
      ev(P, { t: base, client_id: 'eng-flag-n', name: 'user_engagement', params: { session_engaged: 1 } }),
      // landing / exit pages and entrance / exit flags
      ev(P, { t: base, client_id: 'c-path', name: 'user_engagement', url: null, event_id: 'path-1' }),
      ev(P, { t: base + 1000, client_id: 'c-path', url: `${SITE}/a`, event_id: 'path-2' }),
      ev(P, { t: base + 2000, client_id: 'c-path', url: `${SITE}/b?x=1`, event_id: 'path-3' }),
      ev(P, { t: base + 3000, client_id: 'c-path', name: 'click', event_id: 'path-4' }),
      ev(P, {
        t: base + 4000,
        client_id: 'c-path',
        url: `${SITE}/c`,
        event_id: 'path-5',
        params: { engagement_time_msec: 1500 },
      }),
      ev(P, {
        t: base + 5000,
        client_id: 'c-path',
        name: 'scroll',
        event_id: 'path-6',
        params: { engagement_time_msec: '250' },
      }),
      ev(P, { t: base, client_id: 'c-nopv', name: 'user_engagement', url: null }),
      // attribution from the first event
      ev(P, { t: base, client_id: 'c-google', referrer: 'https://www.google.com/', event_id: 'g-1' }),
      ev(P, {
        t: base + MIN,
        client_id: 'c-google',
        referrer: 'https://www.bing.com/',
        url: `${SITE}/p2`,
        event_id: 'g-2',
      }),
      ev(P, {
        t: base,
        client_id: 'c-utm',
        url: `${SITE}/landing?utm_source=newsletter&utm_medium=email&utm_campaign=spring`,
        event_id: 'u-1',
      }),
      ev(P, { t: base + MIN, client_id: 'c-utm', url: `${SITE}/next`, event_id: 'u-2' }),
      ev(P, { t: base, client_id: 'c-direct', event_id: 'd-1' }),
      ev(P, { t: base, client_id: 'c-self', referrer: `${SITE}/elsewhere`, url: `${SITE}/x`, event_id: 's-1' }),
      ev(P, {
        t: base,
        client_id: 'c-param',
        name: 'session_start',
        url: null,
        params: { campaign_source: 'partner', campaign_medium: 'affiliate', campaign_name: 'p1', engagement_time_msec: 7 },
      }),
      ev(P, { t: base, client_id: 'c-gclid', url: `${SITE}/?gclid=abc`, referrer: 'https://www.google.com/' }),
      // identity: anonymous, then an explicit link (not an event), then signed in on two days
      ev(P, { t: base, client_id: 'c-anon', event_id: 'id-1' }),
      ev(P, {
        t: base + MIN,
        client_id: 'c-anon',
        user_id: 'user-9',
        name: 'tally_identity_link',
        event_id: 'id-link',
        protocol: 'segment',
        params: { user_id: 'user-9', client_id: 'c-anon', link_kind: 'identify', source_protocol: 'segment' },
      }),
      ev(P, { t: base + 2 * MIN, client_id: 'c-anon', user_id: 'user-9', event_id: 'id-2' }),
      ev(P, { t: base + 3 * MIN, client_id: 'c-anon', user_id: 'user-9', event_id: 'id-3', name: 'scroll' }),
      ev(P, { t: at('2024-03-11T09:00:00Z'), client_id: 'c-anon', user_id: 'user-9', event_id: 'id-4' }),
      // a link to a client that sent nothing in the window, and one without a client id (dropped)
      ev(P, {
        t: base,
        client_id: 'c-elsewhere',
        name: 'tally_identity_link',
        event_id: 'id-alias',
        protocol: 'posthog',
        params: { user_id: 'user-9', client_id: 'c-old-device', link_kind: 'alias', source_protocol: 'posthog' },
      }),
      ev(P, {
        t: base,
        client_id: null,
        name: 'tally_identity_link',
        event_id: 'id-broken',
        params: { user_id: 'user-9', link_kind: 'identify' },
      }),
    ];
    await archive(events, 0);
    // the retried copy of dup-1, received later, in another object
    const retry = ev(P, { t: base + 3 * MIN, event_id: 'dup-1', client_id: 'c-dup', title: 'second copy' });
    const tie = ev(P, { t: base, event_id: 'tie-1', client_id: 'c-tie', title: 'a-title' });
    await archive([retry, events[0], tie], 1);
    counts.raw = events.length + 3;
    counts.events = events.filter((e) => e.name !== 'tally_identity_link').length;
    result = await engine.transform({ settings: settingsFor(P), dates: DATES }, (d, t) => progress.push([d, t]));
  });

  it('reads every raw line and writes one partition of each table per date', async () => {
    expect(result.rawRead).toBe(counts.raw);
    expect(result.partitions.map((p) => `${p.table}:${p.date}`).sort()).toEqual(DATES.flatMap((d) => TRANSFORMED_TABLE_NAMES.map((t) => `${t}:${d}`)).sort());
    for (const p of result.partitions) {
      const rows = await read(p.table, P, p.date);
      expect(rows.length).toBe(p.rows);
      expect(p.keys).toEqual([`transformed/${p.table}/tenant=t1/property=${P}/dt=${p.date}/part-0.parquet`]);
    }
    expect(result.eventsWritten).toBe(counts.events);
    const last = progress.at(-1)!;
    expect(last[0]).toBe(last[1]);
    expect(progress.map(([d]) => d)).toEqual(progress.map((_, i) => i + 1));
  });

  it('writes exactly the contract columns, in order, with their types', async () => {
    const types = DUCKDB_TYPES;
    for (const [table, { columns }] of Object.entries(TRANSFORMED_TABLES) as [TransformedTable, (typeof TRANSFORMED_TABLES)[TransformedTable]][]) {
      const described = await query(`DESCRIBE SELECT * FROM read_parquet('${partPath(table, P, '2024-03-10')}', hive_partitioning = false)`);
      expect(described.map((c) => c.column_name)).toEqual(columns.map((c) => c.name));
      expect(described.map((c) => c.column_type)).toEqual(columns.map((c) => types[c.type]));
    }
  });

  it('keeps identity links out of events and sessions, and writes each linked pair once a day', async () => {
    const linkEvents = await read('events', P, '2024-03-10', `event_name = 'tally_identity_link'`);
    expect(linkEvents).toEqual([]);
    const anon = await read('events', P, '2024-03-10', `client_id = 'c-anon'`);
    expect(anon.map((e) => [e.event_id, e.seq_in_session])).toEqual([
      ['id-1', 1],
      ['id-2', 2],
      ['id-3', 3],
    ]);
    const sessions = await read('sessions', P, '2024-03-10', `client_id = 'c-anon'`);
    expect(sessions.map((x) => [x.events, x.user_id])).toEqual([[3, 'user-9']]);

    const links = (d: string) => read('identities', P, d, 'true ORDER BY client_id, user_id');
    const strip = (rows: Row[]) =>
      rows.map(({ client_id, user_id, linked_ms, link_kind, source_protocol, event_id }) => ({
        client_id,
        user_id,
        linked_ms: Number(linked_ms),
        link_kind,
        source_protocol,
        event_id,
      }));
    const base = at('2024-03-10T10:00:00Z');
    expect(strip(await links('2024-03-10'))).toEqual([
      { client_id: 'c-anon', user_id: 'user-9', linked_ms: base + MIN, link_kind: 'identify', source_protocol: 'segment', event_id: 'id-link' },
      { client_id: 'c-old-device', user_id: 'user-9', linked_ms: base, link_kind: 'alias', source_protocol: 'posthog', event_id: 'id-alias' },
    ]);
    expect(strip(await links('2024-03-11'))).toEqual([
      { client_id: 'c-anon', user_id: 'user-9', linked_ms: at('2024-03-11T09:00:00Z'), link_kind: 'event', source_protocol: 'gtag', event_id: 'id-4' },
    ]);
    expect(result.partitions.find((p) => p.table === 'identities' && p.date === '2024-03-10')?.rows).toBe(2);
  });

  it('keeps one copy of a duplicated event: the earliest received', async () => {
    const rows = await read('events', P, '2024-03-10', `event_id = 'dup-1'`);
    expect(rows).toHaveLength(1);
    expect(rows[0].page_title).toBe('first copy');
    expect(Number(rows[0].received_at)).toBe(at('2024-03-10T10:00:00Z'));
    const tie = await read('events', P, '2024-03-10', `event_id = 'tie-1'`);
    expect(tie.map((r) => r.page_title)).toEqual(['a-title']);
  });

  it('flags bot events and keeps them', async () => {
    const [row] = await read('events', P, '2024-03-10', `client_id = 'c-bot'`);
    expect(row.is_bot).toBe(true);
    expect(row.bot_reason).toBe(botVerdict(GOOGLEBOT, 'request').reason);
    const [session] = await read('sessions', P, '2024-03-10', `client_id = 'c-bot'`);
    expect(session.is_bot).toBe(true);
    const humans = await read('events', P, '2024-03-10', `client_id = 'c-direct'`);
    expect(humans[0].is_bot).toBe(false);
    expect(humans[0].browser).toBe('Chrome');
  });

  it('keeps a session that crosses midnight whole, on its start date', async () => {
    const start = at('2024-03-10T23:50:00Z');
    const sessions10 = await read('sessions', P, '2024-03-10', `client_id = 'c-mid'`);
    expect(sessions10).toHaveLength(1);
    expect(sessions10[0].session_key).toBe(`c-mid:${start}`);
    expect(sessions10[0].events).toBe(3);
    expect(sessions10[0].duration_s).toBe(20 * 60);
    expect(sessions10[0].exit_page).toBe('/after-midnight');
    expect(await read('sessions', P, '2024-03-11', `client_id = 'c-mid'`)).toHaveLength(0);

    const next = await read('events', P, '2024-03-11', `client_id = 'c-mid'`);
    expect(next.map((r) => [r.event_id, r.session_key, r.seq_in_session, Number(r.session_start_ms)])).toEqual([['mid-3', `c-mid:${start}`, 3, start]]);
    expect(next[0].local_date).toBe('2024-03-11');
    expect(next[0].local_hour).toBe(0);
  });

  it('uses the day before as context when only the later day is transformed', async () => {
    const other = new FolderObjectStore(join(dir, 'store'));
    const single = new DuckDbTransformEngine(other, { tempDir: dir });
    try {
      const res = await single.transform({ settings: settingsFor(P), dates: ['2024-03-11'] });
      expect(res.partitions.map((p) => p.date)).toEqual(['2024-03-11', '2024-03-11', '2024-03-11']);
      const rows = await read('events', P, '2024-03-11', `event_id = 'mid-3'`);
      expect(rows[0].session_key).toBe(`c-mid:${at('2024-03-10T23:50:00Z')}`);
      expect(rows[0].is_entrance).toBe(false);
    } finally {
      await single.close();
    }
  });

  it("respects the client's session id", async () => {
    const sessions = await read('sessions', P, '2024-03-10', `client_id = 'c-sid'`);
    expect(sessions.map((s) => [s.session_key, s.events]).sort()).toEqual([
      ['c-sid:111', 2],
      ['c-sid:222', 1],
    ]);
  });

  it('splits a session only when the gap exceeds the timeout', async () => {
    const base = at('2024-03-10T10:00:00Z');
    const rows = await read('events', P, '2024-03-10', `client_id = 'c-gap'`);
    const byId = Object.fromEntries(rows.map((r) => [r.event_id, r]));
    expect(byId['gap-1'].session_key).toBe(`c-gap:${base}`);
    expect(byId['gap-2'].session_key).toBe(`c-gap:${base}`);
    expect(byId['gap-2'].seq_in_session).toBe(2);
    expect(byId['gap-3'].session_key).toBe(`c-gap:${base + 60 * MIN + 1}`);
    expect(byId['gap-3'].seq_in_session).toBe(1);
  });

  it('places a late event on its event-time day', async () => {
    const rows = await read('events', P, '2024-03-11', `event_id = 'late-1'`);
    expect(rows).toHaveLength(1);
    expect(Number(rows[0].event_ms)).toBe(at('2024-03-11T00:00:00Z'));
    expect(Number(rows[0].received_at)).toBe(at('2024-03-13T02:00:00Z'));
    expect(await read('events', P, '2024-03-12', `event_id = 'late-1'`)).toHaveLength(0);
  });

  it('applies each engaged-session rule', async () => {
    const sessions = await read('sessions', P, '2024-03-10', `client_id LIKE 'eng-%'`);
    const engaged = Object.fromEntries(sessions.map((s) => [s.client_id, s.engaged]));
    expect(engaged).toEqual({
      'eng-none': false,
      'eng-10s': false,
      'eng-11s': true,
      'eng-2pv': true,
      'eng-key': true,
      'eng-flag-s': true,
      'eng-flag-n': true,
    });
    const key = sessions.find((s) => s.client_id === 'eng-key')!;
    expect([key.key_events, key.page_views, key.events]).toEqual([1, 1, 2]);
  });

  it('derives landing and exit pages, entrance and exit flags, sequence and engagement time', async () => {
    const rows = await read('events', P, '2024-03-10', `client_id = 'c-path'`);
    rows.sort((a, b) => Number(a.seq_in_session) - Number(b.seq_in_session));
    expect(rows.map((r) => [r.event_id, r.seq_in_session, r.is_entrance, r.is_exit, r.is_page_view])).toEqual([
      ['path-1', 1, false, false, false],
      ['path-2', 2, true, false, true],
      ['path-3', 3, false, false, true],
      ['path-4', 4, false, false, false],
      ['path-5', 5, false, true, true],
      ['path-6', 6, false, false, false],
    ]);
    expect(rows.map((r) => Number(r.engagement_time_ms))).toEqual([0, 0, 0, 0, 1500, 250]);
    expect(rows[2].page_path).toBe('/b');
    const [s] = await read('sessions', P, '2024-03-10', `client_id = 'c-path'`);
    expect([s.landing_page, s.exit_page, s.page_views, s.events, Number(s.engagement_time_ms)]).toEqual(['/a', '/c', 3, 6, 1750]);
    const [none] = await read('sessions', P, '2024-03-10', `client_id = 'c-nopv'`);
    expect([none.landing_page, none.exit_page, none.page_views]).toEqual(['(not set)', '(not set)', 0]);
  });

  it('attributes each session from its first event', async () => {
    const sessions = await read('sessions', P, '2024-03-10', `client_id IN ('c-google', 'c-utm', 'c-direct', 'c-self', 'c-param', 'c-gclid')`);
    const by = Object.fromEntries(sessions.map((s) => [s.client_id, s]));
    expect([by['c-google'].source, by['c-google'].medium, by['c-google'].channel_group]).toEqual(['google', 'organic', 'Organic Search']);
    expect([by['c-utm'].source, by['c-utm'].medium, by['c-utm'].campaign, by['c-utm'].channel_group]).toEqual(['newsletter', 'email', 'spring', 'Email']);
    expect(by['c-utm'].landing_page_query).toContain('utm_source=newsletter');
    expect([by['c-param'].source, by['c-param'].medium, by['c-param'].campaign, by['c-param'].channel_group]).toEqual([
      'partner',
      'affiliate',
      'p1',
      'Affiliates',
    ]);
    expect([by['c-gclid'].source, by['c-gclid'].medium, by['c-gclid'].channel_group]).toEqual(['google', 'cpc', 'Paid Search']);
    for (const c of ['c-direct', 'c-self']) {
      expect([by[c].source, by[c].medium, by[c].channel_group]).toEqual(['(direct)', '(none)', 'Direct']);
    }

    const events = await read('events', P, '2024-03-10', `client_id IN ('c-google', 'c-utm')`);
    const e = Object.fromEntries(events.map((r) => [r.event_id, r]));
    expect([e['g-2'].session_source, e['g-2'].session_medium, e['g-2'].page_referrer]).toEqual(['google', 'organic', 'https://www.bing.com/']);
    expect([e['u-1'].utm_source, e['u-1'].utm_medium, e['u-1'].utm_campaign]).toEqual(['newsletter', 'email', 'spring']);
    expect([e['u-2'].utm_source, e['u-2'].session_source, e['u-2'].session_campaign]).toEqual([null, 'newsletter', 'spring']);
  });

  it('gives byte-identical files when run again, also from a fresh engine', async () => {
    const before = await Promise.all(result.partitions.map((p) => store.get(p.keys[0])));
    const again = await engine.transform({ settings: settingsFor(P), dates: DATES });
    const fresh = new DuckDbTransformEngine(store, { tempDir: dir, threads: 1 });
    try {
      await fresh.transform({ settings: settingsFor(P), dates: DATES });
    } finally {
      await fresh.close();
    }
    expect(again.partitions).toEqual(result.partitions);
    const after = await Promise.all(result.partitions.map((p) => store.get(p.keys[0])));
    after.forEach((buf, i) => expect(buf!.equals(before[i]!), result.partitions[i].keys[0]).toBe(true));
  });
});

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { PropertySettings } from '../../src/domain/property-settings.js';
import type { RawEvent } from '../../src/domain/raw-event.js';
import { TRANSFORMED_TABLE_NAMES, type TransformedTable } from '../../src/domain/transformed-schema.js';
import { addDays, startOfLocalDate } from '../../src/domain/time-zone.js';
import { FolderObjectStore } from '../../src/infra/object-store/folder.object-store.js';
import { DuckDbTransformEngine } from '../../src/infra/transform/duckdb.transform-engine.js';
import { RawZoneWriter, writeGeneratedTraffic } from '../../src/infra/transform/raw-zone.testkit.js';
import { SparkTransformEngine } from '../../src/infra/transform/spark.transform-engine.js';
import type { TransformEngine, TransformResult } from '../../src/infra/transform/transform-engine.port.js';
import { describeWithService } from '../support/services.js';
import { DEFAULT_CHANNEL_RULES } from '../../src/domain/enrichment/channel-group.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';
const IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1';
const GOOGLEBOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';
const ZONE = 'Europe/Berlin';
/** The DST switch (2024-03-31 02:00 -> 03:00 local) lies inside the generated days. */
const START = '2024-03-29';
const DAYS = 4;

function settingsFor(propertyId: string): PropertySettings {
  return {
    tenantId: 't1',
    propertyId,
    timeZone: ZONE,
    currencyCode: 'EUR',
    sessionTimeoutMinutes: 30,
    engagedSessionSeconds: 10,
    keyEvents: ['purchase', 'sign_up'],
  };
}

let seq = 0;
function raw(propertyId: string, t: number, over: Partial<RawEvent> = {}): RawEvent {
  return {
    event_id: `edge-${++seq}`,
    tenant_id: 't1',
    property_id: propertyId,
    protocol: 'native',
    received_at: t,
    client_ts: null,
    name: 'page_view',
    client_id: 'edge-c1',
    user_id: null,
    session_id: null,
    url: 'https://shop.example.com/',
    referrer: null,
    title: 'Home',
    ua: CHROME,
    ua_source: 'payload',
    ip_trunc: '203.0.113.0',
    ip_source: 'payload',
    country: 'DE',
    region: 'DE-BE',
    city: 'Berlin',
    language: 'de-de',
    screen: '1920x1080',
    consent: null,
    params: {},
    user_props: {},
    ...over,
  };
}

/** Hand-made cases the generator does not produce (or not reliably), each with a known answer. */
function edgeCases(propertyId: string): RawEvent[][] {
  const day = (d: string, hhmm: string) => {
    const [h, m] = hhmm.split(':').map(Number);
    return startOfLocalDate(d, ZONE) + h * HOUR + m * MIN;
  };
  const e = (t: number, over: Partial<RawEvent> = {}) => raw(propertyId, t, over);
  const d1 = addDays(START, 1);
  const first: RawEvent[] = [];
  const second: RawEvent[] = [];
  // duplicates across objects: same id, the later copy received later (loses) or at the same ms
  // with other content (the smaller record text wins)
  const dupT = day(d1, '10:00');
  first.push(e(dupT, { event_id: 'dup-a', client_id: 'dup', title: 'first copy' }));
  second.push(e(dupT + 5_000, { event_id: 'dup-a', client_id: 'dup', title: 'later copy' }));
  first.push(e(dupT + MIN, { event_id: 'dup-b', client_id: 'dup', title: 'B zz', params: { n: 2 } }));
  second.push(e(dupT + MIN, { event_id: 'dup-b', client_id: 'dup', title: 'B aa', params: { n: 1 } }));
  second.push(e(dupT + MIN, { event_id: 'dup-b', client_id: 'dup', title: 'B aa', params: { n: 1 } }));
  // a bot by user agent, one by an empty request user agent, and a server-side event without one
  first.push(e(day(d1, '11:00'), { client_id: 'bot', ua: GOOGLEBOT }));
  first.push(e(day(d1, '11:01'), { client_id: 'bot2', ua: '', ua_source: 'request' }));
  first.push(e(day(d1, '11:02'), { client_id: 'server', ua: null, ua_source: 'none' }));
  // a late event (client time 50 h before receipt), with a client session id
  first.push(e(day(d1, '12:00') + 50 * HOUR, { client_ts: day(d1, '12:00'), client_id: 'late', session_id: '1711800000' }));
  // a session across local midnight, then one split by the timeout (31 min), on a phone
  for (const [i, t] of [day(d1, '23:50'), day(d1, '23:58') + 5 * MIN, day(addDays(d1, 1), '00:10')].entries()) {
    first.push(e(t, { client_id: 'night', ua: IPHONE, url: `https://shop.example.com/p/${i}?utm_source=news&utm_medium=email` }));
  }
  first.push(e(day(addDays(d1, 1), '00:41') + 1, { client_id: 'night', ua: IPHONE, name: 'scroll' }));
  // DST: events either side of the 02:00 -> 03:00 jump, one session
  const jump = startOfLocalDate('2024-03-31', ZONE) + 2 * HOUR; // 01:00 UTC
  first.push(e(jump - 10 * MIN, { client_id: 'dst', referrer: 'https://www.google.com/' }));
  first.push(e(jump + 10 * MIN, { client_id: 'dst', name: 'purchase', params: { engagement_time_msec: '1500' } }));
  // client session ids mixed with id-less events of the same client
  first.push(e(day(d1, '15:00'), { client_id: 'mix', session_id: 's1', params: { gclid: 'abc', session_engaged: '1' } }));
  first.push(e(day(d1, '15:05'), { client_id: 'mix', name: 'click', params: { engagement_time_msec: 12.7 } }));
  first.push(e(day(d1, '15:06'), { client_id: 'mix', session_id: 's1', name: 'sign_up', params: { session_engaged: 1 } }));
  // last non-direct click: organic, then direct the next day (Organic Search), and a direct visit by a user id alone
  first.push(e(day(d1, '10:30'), { client_id: 'lnd', referrer: 'https://www.google.com/' }));
  first.push(e(day(addDays(d1, 1), '10:30'), { client_id: 'lnd' }));
  first.push(e(day(addDays(d1, 1), '16:00'), { client_id: null, user_id: 'u-9' }));
  // no client id: user id, then event id as the client key; no url; campaign params in params
  first.push(e(day(d1, '16:00'), { client_id: null, user_id: 'u-9', url: null, params: { campaign_source: 'partner', campaign_medium: 'cpc', source: 7 } }));
  first.push(e(day(d1, '16:00'), { client_id: null, user_id: null, referrer: 'https://news.example.org/x' }));
  // JSON text DuckDB re-serializes: control characters, exponents, unicode, odd engagement values
  first.push(
    e(day(d1, '17:00'), {
      client_id: 'json',
      title: 'tab\there \u0001 "quoted" é 😀',
      params: { big: 1e21, small: 1e-7, ctl: 'a\u001fb\u000b', text: 'x:1e+21', engagement_time_msec: '1e3', nested: { a: [1, 'b', null] } },
      user_props: { tier: 'gold\u001b', score: -2.5e-8 },
      consent: { ad_storage: 'granted' },
    }),
  );
  first.push(e(day(d1, '17:01'), { client_id: 'json', params: { engagement_time_msec: 'NaN', session_engaged: true } }));
  first.push(e(day(d1, '17:02'), { client_id: 'json', params: { engagement_time_msec: -40 } }));
  // identity: an explicit link (not an event), an event carrying both ids, a link without a client
  first.push(e(day(d1, '18:00'), { client_id: 'anon', event_id: 'id-a' }));
  first.push(
    e(day(d1, '18:01'), {
      client_id: 'anon',
      user_id: 'u-7',
      name: 'tally_identity_link',
      event_id: 'id-link',
      protocol: 'segment',
      params: { user_id: 'u-7', client_id: 'anon', link_kind: 'identify', source_protocol: 'segment' },
    }),
  );
  first.push(e(day(d1, '18:02'), { client_id: 'anon', user_id: 'u-7', event_id: 'id-b' }));
  first.push(e(day(d1, '18:03'), { client_id: 'anon', user_id: 'u-7', event_id: 'id-c' }));
  first.push(e(day(d1, '18:04'), { client_id: null, name: 'tally_identity_link', params: { user_id: 'u-7' } }));
  // e-commerce items (issue 14): text and numeric ids, numeric text, no quantity, an item's own
  // currency, a non-array items value, a non-object element
  first.push(
    e(day(d1, '19:00'), {
      client_id: 'shop',
      event_id: 'shop-1',
      name: 'purchase',
      params: {
        currency: 'eur',
        value: 42.5,
        items: [
          { item_id: 'SKU-1', item_name: 'Tent', item_brand: 'Trail', item_category: 'Camping', item_category5: 'Big', price: 30, quantity: 1 },
          { item_id: 77, item_name: 'Stove', price: '12.5', coupon: 'SUMMER', item_list_name: 'Related', promotion_name: 'P1', currency: 'usd' },
          'not an object',
        ],
      },
    }),
  );
  first.push(e(day(d1, '19:01'), { client_id: 'shop', event_id: 'shop-2', name: 'view_item', params: { items: 'SKU-1' } }));
  // outside the window (ignored) and right at its edges
  first.push(e(startOfLocalDate(addDays(START, -1), ZONE) - 1, { client_id: 'edge' }));
  first.push(e(startOfLocalDate(addDays(START, -1), ZONE), { client_id: 'edge' }));
  return [first, second];
}

interface Output {
  result: TransformResult;
  tables: Record<TransformedTable, string>;
}

describeWithService('transform parity: DuckDB and Spark give identical rows', 'spark', 'SPARK_SUBMIT', (sparkSubmit) => {
  let dir: string;
  let store: FolderObjectStore;
  let db: DuckDBInstance;
  let conn: DuckDBConnection;
  let duck: DuckDbTransformEngine;
  let spark: SparkTransformEngine;
  const dates = Array.from({ length: DAYS }, (_, i) => addDays(START, i));

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tally-parity-'));
    store = new FolderObjectStore(join(dir, 'store'));
    db = await DuckDBInstance.create(':memory:');
    conn = await db.connect();
    duck = new DuckDbTransformEngine(store, { tempDir: dir, threads: 2 });
    spark = new SparkTransformEngine(store, {
      sparkSubmit,
      master: 'local[2]',
      jars: process.env.SPARK_JARS,
      driverMemory: '2g',
      shufflePartitions: 4,
      tempDir: dir,
    });
  });

  afterAll(async () => {
    conn?.closeSync();
    db?.closeSync();
    await duck?.close();
    await spark?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Runs one engine and copies its partitions into tables `<name>_<table>`. */
  async function run(engine: TransformEngine, settings: PropertySettings, name: string): Promise<Output> {
    const result = await engine.transform({ settings, dates });
    const tables = { events: `${name}_events`, sessions: `${name}_sessions`, identities: `${name}_identities`, items: `${name}_items` };
    for (const table of TRANSFORMED_TABLE_NAMES) {
      const files = result.partitions.filter((p) => p.table === table).flatMap((p) => p.keys.map((k) => store.locate(k)));
      expect(files).toHaveLength(dates.length);
      await conn.run(
        `CREATE OR REPLACE TABLE ${tables[table]} AS SELECT * FROM read_parquet([${files.map((f) => `'${f}'`).join(', ')}], hive_partitioning = false)`,
      );
    }
    return { result, tables };
  }

  async function rows(sql: string): Promise<Record<string, unknown>[]> {
    return (await conn.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
  }

  async function expectIdentical(a: Output, b: Output): Promise<void> {
    expect(b.result).toEqual(a.result);
    for (const table of TRANSFORMED_TABLE_NAMES) {
      const [x, y] = [a.tables[table], b.tables[table]];
      const types = async (t: string) => (await rows(`DESCRIBE ${t}`)).map((r) => `${r.column_name} ${r.column_type}`);
      expect(await types(y)).toEqual(await types(x));
      expect(await rows(`SELECT * FROM (FROM ${x} EXCEPT ALL FROM ${y}) LIMIT 5`), `${table} only in DuckDB`).toEqual([]);
      expect(await rows(`SELECT * FROM (FROM ${y} EXCEPT ALL FROM ${x}) LIMIT 5`), `${table} only in Spark`).toEqual([]);
    }
  }

  it('on the golden dataset plus hand-made edge cases', async () => {
    const settings = settingsFor('p-golden');
    await writeGeneratedTraffic(
      store,
      { tenantId: 't1', propertyId: 'p-golden' },
      {
        seed: 3,
        startDate: START,
        days: DAYS,
        timeZone: ZONE,
        visitorsPerDay: 150,
      },
    );
    const [first, second] = edgeCases('p-golden');
    const w1 = new RawZoneWriter(store, 7);
    for (const e of first) await w1.add(e);
    await w1.flush();
    const w2 = new RawZoneWriter(store, 8);
    for (const e of second) await w2.add(e);
    await w2.flush();

    const a = await run(duck, settings, 'duck_golden');
    const b = await run(spark, settings, 'spark_golden');
    await expectIdentical(a, b);

    // the edge cases are really in the output, with the answers they were built for
    const dup = await rows(`SELECT event_id, page_title, params FROM ${b.tables.events} WHERE event_id IN ('dup-a', 'dup-b') ORDER BY 1`);
    expect(dup).toEqual([
      { event_id: 'dup-a', page_title: 'first copy', params: '{}' },
      { event_id: 'dup-b', page_title: 'B aa', params: '{"n":1}' },
    ]);
    const json = await rows(`SELECT params, user_props FROM ${b.tables.events} WHERE client_id = 'json' AND engagement_time_ms = 1000`);
    expect(json).toEqual([
      {
        params: '{"big":1e21,"small":1e-7,"ctl":"a\\u001Fb\\u000B","text":"x:1e+21","engagement_time_msec":"1e3","nested":{"a":[1,"b",null]}}',
        user_props: '{"tier":"gold\\u001B","score":-2.5e-8}',
      },
    ]);
    const night = await rows(`SELECT count(DISTINCT session_key) AS n FROM ${b.tables.events} WHERE client_id = 'night'`);
    expect(night).toEqual([{ n: '2' }]);
    const bots = await rows(`SELECT client_id, is_bot FROM ${b.tables.sessions} WHERE client_id IN ('bot', 'bot2', 'dst', 'server') ORDER BY 1`);
    expect(bots.map((r) => r.is_bot)).toEqual([true, true, false, false]);
    const anon = await rows(`SELECT event_id FROM ${b.tables.events} WHERE client_id = 'anon' OR event_name = 'tally_identity_link' ORDER BY 1`);
    expect(anon).toEqual([{ event_id: 'id-a' }, { event_id: 'id-b' }, { event_id: 'id-c' }]);
    const links = await rows(`SELECT client_id, user_id, link_kind, event_id FROM ${b.tables.identities} WHERE client_id = 'anon'`);
    expect(links).toEqual([{ client_id: 'anon', user_id: 'u-7', link_kind: 'identify', event_id: 'id-link' }]);
    const items = await rows(
      `SELECT event_id, item_index, item_id, item_name, item_category5, coupon, item_list_name, promotion_name, price, quantity, currency FROM ${b.tables.items} WHERE client_id = 'shop' ORDER BY item_index`,
    );
    expect(items).toEqual([
      {
        event_id: 'shop-1',
        item_index: 0,
        item_id: 'SKU-1',
        item_name: 'Tent',
        item_category5: 'Big',
        coupon: null,
        item_list_name: null,
        promotion_name: null,
        price: 30,
        quantity: '1',
        currency: 'EUR',
      },
      {
        event_id: 'shop-1',
        item_index: 1,
        item_id: '77',
        item_name: 'Stove',
        item_category5: null,
        coupon: 'SUMMER',
        item_list_name: 'Related',
        promotion_name: 'P1',
        price: 12.5,
        quantity: '1',
        currency: 'USD',
      },
      {
        event_id: 'shop-1',
        item_index: 2,
        item_id: null,
        item_name: null,
        item_category5: null,
        coupon: null,
        item_list_name: null,
        promotion_name: null,
        price: null,
        quantity: '1',
        currency: 'EUR',
      },
    ]);
    expect(a.result.rawRead).toBeGreaterThan(a.result.eventsWritten);
    // last non-direct click: the direct visits carry the earlier source, the visit's own beside it
    const lnd = await rows(
      `SELECT client_id, user_id, source, medium, channel_group, collected_source FROM ${b.tables.sessions} WHERE client_id = 'lnd' OR (client_id IS NULL AND user_id = 'u-9') ORDER BY session_start_ms`,
    );
    expect(lnd).toEqual([
      { client_id: 'lnd', user_id: null, source: 'google', medium: 'organic', channel_group: 'Organic Search', collected_source: 'google' },
      { client_id: null, user_id: 'u-9', source: 'partner', medium: 'cpc', channel_group: 'Paid Other', collected_source: 'partner' },
      { client_id: 'lnd', user_id: null, source: 'google', medium: 'organic', channel_group: 'Organic Search', collected_source: '(direct)' },
      { client_id: null, user_id: 'u-9', source: 'partner', medium: 'cpc', channel_group: 'Paid Other', collected_source: '(direct)' },
    ]);
    const inherited = await rows(`SELECT count(*) AS n FROM ${b.tables.sessions} WHERE source <> collected_source`);
    expect(Number(inherited[0].n)).toBeGreaterThan(2);
  }, 900_000);

  it('last non-direct click from the sessions of earlier runs (prior touches read from the files)', async () => {
    const settings = settingsFor('p-lnd');
    const day = (d: string, h: number) => startOfLocalDate(d, ZONE) + h * HOUR;
    const w = new RawZoneWriter(store, 9);
    for (const e of [
      raw('p-lnd', day(START, 10), { client_id: 'c-a', referrer: 'https://www.google.com/' }),
      raw('p-lnd', day(START, 11), { client_id: 'c-b', url: 'https://shop.example.com/?utm_source=news&utm_medium=email&utm_campaign=x' }),
      raw('p-lnd', day(addDays(START, 5), 10), { client_id: 'c-a' }),
      raw('p-lnd', day(addDays(START, 5), 11), { client_id: 'c-b' }),
      raw('p-lnd', day(addDays(START, 5), 12), { client_id: 'c-c' }),
    ])
      await w.add(e);
    await w.flush();
    // the first day's sessions files, then the later day alone on each engine: its touches come from those files
    await duck.transform({ settings, dates: [START] });
    const later = [addDays(START, 5)];
    const one = async (engine: TransformEngine, name: string): Promise<Output> => {
      const result = await engine.transform({ settings, dates: later });
      const files = result.partitions.filter((p) => p.table === 'sessions').map((p) => store.locate(p.keys[0]));
      await conn.run(`CREATE OR REPLACE TABLE ${name} AS SELECT * FROM read_parquet('${files[0]}', hive_partitioning = false)`);
      return { result, tables: { events: name, sessions: name, identities: name, items: name } };
    };
    const a = await one(duck, 'duck_lnd');
    const b = await one(spark, 'spark_lnd');
    expect(b.result).toEqual(a.result);
    expect(await rows(`SELECT * FROM (FROM duck_lnd EXCEPT ALL FROM spark_lnd) LIMIT 5`)).toEqual([]);
    expect(await rows(`SELECT * FROM (FROM spark_lnd EXCEPT ALL FROM duck_lnd) LIMIT 5`)).toEqual([]);
    expect(await rows(`SELECT client_id, source, channel_group FROM spark_lnd ORDER BY client_id`)).toEqual([
      { client_id: 'c-a', source: 'google', channel_group: 'Organic Search' },
      { client_id: 'c-b', source: 'news', channel_group: 'Email' },
      { client_id: 'c-c', source: '(direct)', channel_group: 'Direct' },
    ]);
  }, 900_000);

  it("with the property's retroactive rules: internal traffic, extra bot patterns, its own channel group", async () => {
    const settings: PropertySettings = {
      ...settingsFor('p-rules'),
      internalTraffic: {
        filter: 'active',
        rules: [
          { name: 'office host', trafficType: 'internal', cidrs: ['192.0.2.7/32'] },
          { name: 'office', trafficType: 'internal', cidrs: ['198.51.100.0/24', '2001:db8:1::/48'] },
        ],
      },
      botPatterns: [
        { match: 'contains', value: 'AcmeKiosk' },
        { match: 'regex', value: '^internal-probe/\\d+' },
      ],
      channelRules: [{ channel: 'Promo', when: { field: 'campaign', regex: '^spring' } }, ...DEFAULT_CHANNEL_RULES],
    };
    await writeGeneratedTraffic(
      store,
      { tenantId: 't1', propertyId: 'p-rules' },
      { seed: 5, startDate: START, days: DAYS, timeZone: ZONE, visitorsPerDay: 40 },
    );
    const t0 = startOfLocalDate(addDays(START, 1), ZONE) + 11 * HOUR;
    const w = new RawZoneWriter(store, 9);
    const cases: [string, Partial<RawEvent>][] = [
      ['stamped', { ip_trunc: '192.0.2.0', traffic_type: 'internal' }], // the /32 matched at the edge
      ['unstamped-24', { ip_trunc: '198.51.100.0' }], // a range as wide as the truncation
      ['unstamped-48', { ip_trunc: '2001:db8:1::' }],
      ['neighbour', { ip_trunc: '192.0.2.0' }], // the /32's /24 without the stamp: counted
      ['old-type', { ip_trunc: '10.1.2.0', traffic_type: 'contractor' }], // no rule has this type now: counted
      ['kiosk', { ua: `${CHROME} AcmeKiosk/2.1` }],
      ['probe', { ua: 'Internal-Probe/7 (ops)' }],
      ['promo', { url: 'https://shop.example.com/?utm_source=news&utm_medium=email&utm_campaign=spring_sale' }],
    ];
    for (const [i, [client, over]] of cases.entries()) await w.add(raw('p-rules', t0 + i * MIN, { client_id: client, event_id: `rules-${client}`, ...over }));
    await w.flush();

    const a = await run(duck, settings, 'duck_rules');
    const b = await run(spark, settings, 'spark_rules');
    await expectIdentical(a, b);
    const clients = cases.map(([c]) => `'${c}'`).join(', ');
    const out = await rows(`SELECT client_id, is_bot, bot_reason, session_channel_group FROM ${b.tables.events} WHERE client_id IN (${clients}) ORDER BY 1`);
    expect(out).toEqual([
      { client_id: 'kiosk', is_bot: true, bot_reason: 'custom_pattern', session_channel_group: 'Direct' },
      { client_id: 'neighbour', is_bot: false, bot_reason: null, session_channel_group: 'Direct' },
      { client_id: 'old-type', is_bot: false, bot_reason: null, session_channel_group: 'Direct' },
      { client_id: 'probe', is_bot: true, bot_reason: 'custom_pattern', session_channel_group: 'Direct' },
      { client_id: 'promo', is_bot: false, bot_reason: null, session_channel_group: 'Promo' },
    ]);
  }, 900_000);

  it('on a generated dataset of more than 200 000 events', async () => {
    const settings = settingsFor('p-large');
    const written = await writeGeneratedTraffic(
      store,
      { tenantId: 't1', propertyId: 'p-large' },
      {
        seed: 11,
        startDate: START,
        days: DAYS,
        timeZone: ZONE,
        visitorsPerDay: 9_000,
      },
    );
    expect(written).toBeGreaterThanOrEqual(200_000);
    const a = await run(duck, settings, 'duck_large');
    const b = await run(spark, settings, 'spark_large');
    expect(a.result.eventsWritten).toBeGreaterThan(150_000);
    await expectIdentical(a, b);
  }, 900_000);
});

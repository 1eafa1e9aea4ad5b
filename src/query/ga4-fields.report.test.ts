import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeWithService } from '../../test/support/services.js';
import type { PropertySettings } from '../domain/property-settings.js';
import { bundledRates } from '../infra/fx/ecb-rates.js';
import { createTestDatabase } from '../infra/metadata/test-database.testkit.js';
import { FolderObjectStore } from '../infra/object-store/folder.object-store.js';
import { DuckDbTransformEngine } from '../infra/transform/duckdb.transform-engine.js';
import { RawZoneWriter } from '../infra/transform/raw-zone.testkit.js';
import { DuckDbWarehouse } from '../infra/warehouse/duckdb.warehouse.js';
import { PostgresWarehouse } from '../infra/warehouse/postgres.warehouse.js';
import { redshiftOnPostgres } from '../infra/warehouse/redshift-on-postgres.testkit.js';
import type { Warehouse } from '../infra/warehouse/warehouse.port.js';
import { toRawEvent } from '../ingest/edge.js';
import { parseGa4Mp } from '../ingest/protocols/ga4-mp.parser.js';
import { isTallyError } from '../infra/errors.js';
import { parseRunReportRequest } from './report-request.js';
import { runReport } from './report.service.js';

/**
 * E-commerce and custom definitions end to end (issue 14): GA4 Measurement Protocol bodies through the real parser, the
 * raw zone, the DuckDB transform (items table), each warehouse, and runReport. Expected figures are
 * computed here from the bodies sent and the ECB rates of the bundled snapshot.
 */
const settings: PropertySettings = {
  tenantId: 't1',
  propertyId: 'shop',
  timeZone: 'UTC',
  currencyCode: 'EUR',
  sessionTimeoutMinutes: 30,
  engagedSessionSeconds: 10,
  keyEvents: ['purchase'],
};
const DAY1 = '2024-03-11';
const DAY2 = '2024-03-12';
/** A day of its own for cents that floating point cannot sum exactly (0.1 + 0.2). */
const DAY3 = '2024-03-13';
const rate = (date: string, currency: string) => {
  const r = bundledRates().find((x) => x.date === date && x.currency === currency);
  if (!r) throw new Error(`no ECB rate for ${currency} on ${date}`);
  return r.perEur;
};

type Item = Record<string, string | number>;
const TENT: Item = { item_id: 'SKU-T', item_name: 'Tent', item_brand: 'Trail', item_category: 'Camping', item_category2: 'Shelter', item_variant: 'green' };
const STOVE: Item = { item_id: 'SKU-S', item_name: 'Stove', item_brand: 'Blaze', item_category: 'Camping', item_category2: 'Kitchen' };

/** One GA4 MP body per event: (time, client, name, params). */
const SENT: [string, string, string, Record<string, unknown>][] = [
  [
    `${DAY1}T09:00:00Z`,
    'c1',
    'view_item',
    {
      page_location: 'https://shop.test/tents?utm_source=news&utm_medium=email&utm_campaign=spring',
      currency: 'EUR',
      items: [
        { ...TENT, price: 200 },
        { ...STOVE, price: 50, quantity: 2 },
      ],
    },
  ],
  [`${DAY1}T09:01:00Z`, 'c1', 'add_to_cart', { currency: 'EUR', items: [{ ...TENT, price: 200, quantity: 1 }] }],
  [
    `${DAY1}T09:05:00Z`,
    'c1',
    'purchase',
    {
      transaction_id: 'T1',
      currency: 'EUR',
      value: 300,
      shipping_tier: 'express',
      shipping_cost: 7.5,
      items: [
        { ...TENT, price: 200 },
        { ...STOVE, price: 50, quantity: 2 },
      ],
    },
  ],
  // in US dollars: converted at the rate of its own day
  [
    `${DAY2}T15:00:00Z`,
    'c2',
    'purchase',
    { transaction_id: 'T2', currency: 'USD', value: 110, shipping_tier: 'standard', shipping_cost: '2.5', items: [{ ...STOVE, price: 55, quantity: 2 }] },
  ],
  [`${DAY2}T16:00:00Z`, 'c1', 'refund', { transaction_id: 'T1', currency: 'EUR', value: 50, items: [{ ...STOVE, price: 50, quantity: 1 }] }],
  [`${DAY2}T17:00:00Z`, 'c3', 'view_item', { items: [{ ...STOVE, price: 50 }] }],
  [`${DAY3}T10:00:00Z`, 'c4', 'purchase', { transaction_id: 'T3', currency: 'EUR', value: 0.1, items: [{ item_id: 'SKU-P', item_name: 'Peg', price: 0.1 }] }],
  [
    `${DAY3}T10:01:00Z`,
    'c4',
    'purchase',
    { transaction_id: 'T4', currency: 'EUR', value: 0.2, items: [{ item_id: 'SKU-P', item_name: 'Peg', price: 0.1, quantity: 2 }] },
  ],
];

let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tally-ecom-'));
  const store = new FolderObjectStore(dir);
  const writer = new RawZoneWriter(store);
  for (const [iso, client, name, params] of SENT) {
    const at = Date.parse(iso);
    const loyalty = { c1: 'gold', c2: 'silver' }[client];
    const body = {
      client_id: client,
      ...(client === 'c2' ? { user_location: { region_id: 'US-CA', country_id: 'US' } } : {}),
      timestamp_micros: at * 1000,
      events: [{ name, params }],
      ...(loyalty ? { user_properties: { loyalty: { value: loyalty } } } : {}),
    };
    const parsed = parseGa4Mp(body, { receivedAt: at + 1000 });
    expect(parsed.refused).toEqual([]);
    for (const p of parsed.events) {
      await writer.add(
        toRawEvent(p, settings, { receivedAt: at + 1000, userAgent: null, ip: null }, { lookup: () => ({ country: null, region: null, city: null }) }),
      );
    }
  }
  await writer.flush();
  const engine = new DuckDbTransformEngine(store);
  const result = await engine.transform({ settings, dates: [DAY1, DAY2, DAY3] });
  parts = result.partitions;
});
let parts: { table: 'events' | 'sessions' | 'identities' | 'items'; date: string; keys: string[] }[] = [];

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function suite(open: () => Promise<Warehouse>): void {
  let wh: Warehouse;
  beforeAll(async () => {
    wh = await open();
    await wh.init();
    for (const p of parts) await wh.loadPartition(p.table, { ...settings, date: p.date }, p.keys);
  });
  afterAll(async () => wh?.close());

  const report = (body: Record<string, unknown>) =>
    runReport(wh, settings, parseRunReportRequest({ dateRanges: [{ startDate: DAY1, endDate: DAY2 }], ...body }, { timeZone: 'UTC' }));
  const table = (r: Awaited<ReturnType<typeof report>>) =>
    Object.fromEntries((r.rows ?? []).map((row) => [row.dimensionValues.map((v) => v.value).join('|'), row.metricValues.map((v) => Number(v.value))]));

  it('keeps every item of every event in the items table', async () => {
    const rows = await wh.query<{ n: number }>('SELECT count(*) AS n FROM items WHERE tenant_id = $1 AND property_id = $2', [
      settings.tenantId,
      settings.propertyId,
    ]);
    expect(Number(rows[0].n)).toBe(SENT.reduce((n, [, , , p]) => n + (p.items as unknown[]).length, 0));
  });

  it('answers item-scoped metrics by item, in the property currency', async () => {
    const r = await report({
      dimensions: [{ name: 'itemName' }, { name: 'itemBrand' }, { name: 'itemCategory2' }],
      metrics: [{ name: 'itemsViewed' }, { name: 'itemsAddedToCart' }, { name: 'itemsPurchased' }, { name: 'itemRevenue' }],
    });
    const usd = 55 * 2 * (1 / rate(DAY2, 'USD'));
    expect(table(r)['Tent|Trail|Shelter']).toEqual([1, 1, 1, 200]);
    const stove = table(r)['Stove|Blaze|Kitchen'];
    expect(stove.slice(0, 3)).toEqual([3, 0, 4]);
    // 2 × 50 EUR, plus 2 × 55 USD converted, minus the refunded 50 EUR
    expect(stove[3]).toBeCloseTo(100 + usd - 50, 6);
    expect(r.metricHeaders?.map((h) => h.type)).toEqual(['TYPE_INTEGER', 'TYPE_INTEGER', 'TYPE_INTEGER', 'TYPE_CURRENCY']);
  });

  it('answers revenue and transactions by date, converted at each day’s rate, in the currency asked for', async () => {
    const metrics = ['purchaseRevenue', 'totalRevenue', 'transactions', 'ecommercePurchases', 'averagePurchaseRevenue'].map((name) => ({ name }));
    const eur = table(await report({ dimensions: [{ name: 'date' }], metrics }));
    const usdDay2 = 110 / rate(DAY2, 'USD');
    expect(eur['20240311']).toEqual([300, 300, 1, 1, 300]);
    expect(eur['20240312'][0]).toBeCloseTo(usdDay2 - 50, 6);
    expect(eur['20240312'].slice(2, 4)).toEqual([2, 1]);
    const inUsd = table(await report({ dimensions: [{ name: 'date' }], metrics, currencyCode: 'USD' }));
    expect(inUsd['20240311'][0]).toBeCloseTo(300 * rate(DAY1, 'USD'), 6);
    expect(inUsd['20240312'][0]).toBeCloseTo(110 - 50 * rate(DAY2, 'USD'), 6);
  });

  it('sums money exactly, in micros, and writes it as GA4 does (0.1 + 0.2 is 0.3)', async () => {
    const day3 = (body: Record<string, unknown>) =>
      runReport(wh, settings, parseRunReportRequest({ dateRanges: [{ startDate: DAY3, endDate: DAY3 }], ...body }, { timeZone: 'UTC' }));
    const r = await day3({ metrics: ['purchaseRevenue', 'totalRevenue', 'averagePurchaseRevenue'].map((name) => ({ name })), metricAggregations: ['TOTAL'] });
    expect(r.rows?.[0].metricValues.map((v) => v.value)).toEqual(['0.3', '0.3', '0.15']);
    expect(r.totals?.[0].metricValues.map((v) => v.value)).toEqual(['0.3', '0.3', '0.15']);
    const items = await day3({ dimensions: [{ name: 'itemName' }], metrics: [{ name: 'itemRevenue' }] });
    expect(items.rows?.map((row) => row.metricValues[0].value)).toEqual(['0.3']);
    const inUsd = await day3({ metrics: [{ name: 'purchaseRevenue' }], currencyCode: 'USD' });
    const micros = (eur: number) => Math.round(eur * rate(DAY3, 'USD') * 1e6);
    expect(inUsd.rows?.[0].metricValues[0].value).toBe(String((micros(0.1) + micros(0.2)) / 1e6));
  });

  it('groups item metrics by event-scoped dimensions, and refuses item dimensions with event metrics', async () => {
    const byEvent = table(await report({ dimensions: [{ name: 'eventName' }], metrics: [{ name: 'itemsPurchased' }] }));
    expect(byEvent.purchase).toEqual([5]);
    const err = await report({ dimensions: [{ name: 'itemId' }], metrics: [{ name: 'eventCount' }] }).catch((e: unknown) => e);
    expect(isTallyError(err) && err.code).toBe('invalid_argument');
  });

  it('answers custom dimensions and metrics from the params and user properties already loaded', async () => {
    const byTier = table(
      await report({ dimensions: [{ name: 'customEvent:shipping_tier' }], metrics: [{ name: 'eventCount' }, { name: 'customEvent:shipping_cost' }] }),
    );
    expect(byTier).toEqual({ '(not set)': [4, 0], express: [1, 7.5], standard: [1, 2.5] });
    const byLoyalty = table(await report({ dimensions: [{ name: 'customUser:loyalty' }], metrics: [{ name: 'eventCount' }, { name: 'purchaseRevenue' }] }));
    expect(Object.keys(byLoyalty).sort()).toEqual(['(not set)', 'gold', 'silver']);
    expect(byLoyalty.gold).toEqual([4, 250]);
    expect(byLoyalty['(not set)']).toEqual([1, 0]);
    const filtered = table(
      await report({
        dimensions: [{ name: 'eventName' }],
        metrics: [{ name: 'eventCount' }],
        dimensionFilter: { filter: { fieldName: 'customUser:loyalty', stringFilter: { value: 'silver' } } },
      }),
    );
    expect(filtered).toEqual({ purchase: [1] });
  });

  it('answers firstUser* from the first session ever, and week, isKeyEvent and region as GA4 spells them', async () => {
    const byFirst = table(
      await report({
        dimensions: [{ name: 'firstUserSource' }, { name: 'firstUserMedium' }, { name: 'firstUserCampaignName' }, { name: 'sessionSource' }],
        metrics: [{ name: 'eventCount' }],
      }),
    );
    // c1 came from the newsletter on day 1 and came back directly on day 2: still first acquired by
    // it, and the direct session's sessionSource is the newsletter too (GA4's last non-direct click)
    expect(byFirst).toEqual({ 'news|email|spring|news': [4], '(direct)|(none)|(direct)|(direct)': [2] });
    const channels = table(await report({ dimensions: [{ name: 'firstUserDefaultChannelGroup' }], metrics: [{ name: 'sessions' }] }));
    expect(channels).toEqual({ Email: [2], Direct: [2] });
    // 2024-01-01 is a Monday: week 01 runs to Saturday the 6th; 11 and 12 March fall in week 11
    expect(table(await report({ dimensions: [{ name: 'week' }, { name: 'isKeyEvent' }], metrics: [{ name: 'eventCount' }] }))).toEqual({
      '11|true': [2],
      '11|false': [4],
    });
    expect(table(await report({ dimensions: [{ name: 'region' }], metrics: [{ name: 'eventCount' }] }))).toEqual({ California: [1], '(not set)': [5] });
    // the rolling ratios read the first-user lookup too (it was left out of their statement: an SQL error)
    const rolling = table(await report({ dimensions: [{ name: 'firstUserSource' }], metrics: [{ name: 'dauPerMau' }] }));
    expect(Object.keys(rolling).length).toBeGreaterThan(0);
    for (const [ratio] of Object.values(rolling)) {
      expect(ratio).toBeGreaterThan(0);
      expect(ratio).toBeLessThanOrEqual(1);
    }
  });

  it('sees no item of another property', async () => {
    const other = { ...settings, propertyId: 'elsewhere' };
    const r = await runReport(
      wh,
      other,
      parseRunReportRequest(
        { dateRanges: [{ startDate: DAY1, endDate: DAY2 }], dimensions: [{ name: 'itemId' }], metrics: [{ name: 'itemsViewed' }] },
        { timeZone: 'UTC' },
      ),
    );
    expect(r.rows ?? []).toEqual([]);
  });
}

describe('e-commerce reports on DuckDB', () => {
  suite(() => DuckDbWarehouse.open({ path: ':memory:', resolve: (k) => join(dir, k) }));
});

describeWithService('e-commerce reports on PostgreSQL', 'postgres', 'DATABASE_URL', (baseUrl) => {
  let drop: (() => Promise<void>) | undefined;
  afterAll(async () => drop?.());
  suite(async () => {
    const db = await createTestDatabase(baseUrl, 'ecom');
    drop = db.drop;
    return new PostgresWarehouse({ url: db.url, store: new FolderObjectStore(dir) });
  });
});

describeWithService('e-commerce reports in the Redshift dialect on PostgreSQL', 'postgres', 'DATABASE_URL', (baseUrl) => {
  let drop: (() => Promise<void>) | undefined;
  afterAll(async () => drop?.());
  suite(async () => {
    const db = await createTestDatabase(baseUrl, 'ecom_rs', { byteOrderCollation: true });
    drop = db.drop;
    return redshiftOnPostgres(new PostgresWarehouse({ url: db.url, store: new FolderObjectStore(dir) }));
  });
});

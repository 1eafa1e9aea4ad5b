import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CHANNEL_RULES } from '../../domain/enrichment/channel-group.js';
import type { PropertySettings } from '../../domain/property-settings.js';
import type { RawEvent } from '../../domain/raw-event.js';
import { startOfLocalDate } from '../../domain/time-zone.js';
import { FolderObjectStore } from '../object-store/folder.object-store.js';
import { DuckDbTransformEngine } from './duckdb.transform-engine.js';
import { RawZoneWriter } from './raw-zone.testkit.js';
import type { CycleResult } from './transform-engine.port.js';

const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';
const DAY = '2024-05-02';
const plain: PropertySettings = {
  tenantId: 't1',
  propertyId: 'p-plain',
  timeZone: 'UTC',
  currencyCode: 'EUR',
  sessionTimeoutMinutes: 30,
  engagedSessionSeconds: 10,
  keyEvents: ['purchase'],
};
const withRules: PropertySettings = {
  ...plain,
  propertyId: 'p-rules',
  internalTraffic: { filter: 'active', rules: [{ name: 'office', trafficType: 'internal', cidrs: ['198.51.100.0/24', '192.0.2.7/32'] }] },
  botPatterns: [{ match: 'contains', value: 'AcmeKiosk' }],
  channelRules: [{ channel: 'Promo', when: { field: 'campaign', regex: '^spring' } }, ...DEFAULT_CHANNEL_RULES],
};

/**
 * The multi-property cycle (`cycleMany`: one run of the statements for many properties) keeps each
 * property's rules to itself: two properties receive the same events, one with its own internal
 * traffic, bot pattern and channel rules, and only its rows change.
 */
describe("a property's retroactive rules in a shared transform run", () => {
  let dir: string;
  let store: FolderObjectStore;
  let results: CycleResult[];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tally-rules-transform-'));
    store = new FolderObjectStore(join(dir, 'store'));
    const t0 = startOfLocalDate(DAY, 'UTC') + 10 * 3_600_000;
    const visitors: [string, Partial<RawEvent>][] = [
      ['office', { ip_trunc: '198.51.100.0' }],
      ['stamped', { ip_trunc: '192.0.2.0', traffic_type: 'internal' }],
      ['kiosk', { ua: `${CHROME} AcmeKiosk/2.1` }],
      ['promo', { url: 'https://shop.example.com/?utm_source=news&utm_medium=email&utm_campaign=spring_sale' }],
      ['plain', {}],
    ];
    const requests = [];
    for (const settings of [plain, withRules]) {
      const w = new RawZoneWriter(store, 1);
      for (const [i, [client, over]] of visitors.entries())
        await w.add({
          event_id: `e-${client}`,
          tenant_id: 't1',
          property_id: settings.propertyId,
          protocol: 'native',
          received_at: t0 + i * 60_000,
          client_ts: null,
          name: 'page_view',
          client_id: client,
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
          region: null,
          city: null,
          language: 'en',
          screen: null,
          consent: null,
          params: {},
          user_props: {},
          ...over,
        });
      await w.flush();
      const newKeys = (await store.list(`raw/tenant=t1/property=${settings.propertyId}/`)).map((o) => o.key);
      requests.push({ settings, newKeys, earlierKeys: async () => [], cycleId: '0001' });
    }
    const engine = new DuckDbTransformEngine(store, { tempDir: dir, threads: 1, lateAllowanceMs: 0 });
    results = await engine.cycleMany(requests);
    await engine.close();
  });
  afterAll(async () => dir && (await rm(dir, { recursive: true, force: true })));

  async function events(r: CycleResult) {
    const files = r.partitions.filter((p) => p.table === 'events').flatMap((p) => p.keys.map((k) => store.locate(k)));
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    try {
      const reader = await conn.runAndReadAll(
        `SELECT client_id, is_bot, bot_reason, session_channel_group FROM read_parquet([${files.map((f) => `'${f}'`).join(', ')}]) ORDER BY client_id`,
      );
      return reader.getRowObjectsJson();
    } finally {
      conn.closeSync();
      db.closeSync();
    }
  }

  it('the property without rules counts everything by the defaults', async () => {
    expect(await events(results[0])).toEqual([
      { client_id: 'kiosk', is_bot: false, bot_reason: null, session_channel_group: 'Direct' },
      { client_id: 'office', is_bot: false, bot_reason: null, session_channel_group: 'Direct' },
      { client_id: 'plain', is_bot: false, bot_reason: null, session_channel_group: 'Direct' },
      { client_id: 'promo', is_bot: false, bot_reason: null, session_channel_group: 'Email' },
      { client_id: 'stamped', is_bot: false, bot_reason: null, session_channel_group: 'Direct' },
    ]);
  });

  it('the property with rules drops its internal traffic, flags its bot pattern and groups by its channels', async () => {
    expect(await events(results[1])).toEqual([
      { client_id: 'kiosk', is_bot: true, bot_reason: 'custom_pattern', session_channel_group: 'Direct' },
      { client_id: 'plain', is_bot: false, bot_reason: null, session_channel_group: 'Direct' },
      { client_id: 'promo', is_bot: false, bot_reason: null, session_channel_group: 'Promo' },
    ]);
  });
});

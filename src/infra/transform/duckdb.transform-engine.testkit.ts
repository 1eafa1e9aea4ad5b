import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll } from 'vitest';
import type { PropertySettings } from '../../domain/property-settings.js';
import type { RawEvent } from '../../domain/raw-event.js';
import { FolderObjectStore } from '../object-store/folder.object-store.js';
import { DuckDbTransformEngine } from './duckdb.transform-engine.js';
import { rawHourPrefix, rawObjectName, type TransformedTable } from '../../domain/transformed-schema.js';

/** Raw-zone input, settings and parquet readers shared by the DuckDB transform engine tests. */
export const MIN = 60_000;
export const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';
export const GOOGLEBOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';
export const SITE = 'https://shop.example';

export let dir: string;
export let store: FolderObjectStore;
export let engine: DuckDbTransformEngine;
let reader: DuckDBInstance;
let conn: DuckDBConnection;

export const at = (iso: string): number => Date.parse(iso);

export function settingsFor(propertyId: string, over: Partial<PropertySettings> = {}): PropertySettings {
  return {
    tenantId: 't1',
    propertyId,
    timeZone: 'UTC',
    currencyCode: 'USD',
    sessionTimeoutMinutes: 30,
    engagedSessionSeconds: 10,
    keyEvents: ['purchase'],
    ...over,
  };
}

let seq = 0;
export function ev(propertyId: string, e: Partial<RawEvent> & { t: number }): RawEvent {
  const { t, ...rest } = e;
  return {
    event_id: `e${++seq}`,
    tenant_id: 't1',
    property_id: propertyId,
    protocol: 'gtag',
    received_at: t,
    client_ts: null,
    name: 'page_view',
    client_id: 'c1',
    user_id: null,
    session_id: null,
    url: `${SITE}/`,
    referrer: null,
    title: null,
    ua: CHROME,
    ua_source: 'request',
    ip_trunc: '203.0.113.0',
    ip_source: 'request',
    country: 'DE',
    region: 'BE',
    city: 'Berlin',
    language: 'de-de',
    screen: '1920x1080',
    consent: null,
    params: {},
    user_props: {},
    ...rest,
  };
}

/** Writes events as raw-zone objects, one per (receipt hour, `partition`), as the archiver would. */
export async function archive(events: RawEvent[], partition = 0): Promise<void> {
  const byObject = new Map<string, RawEvent[]>();
  for (const e of events) {
    const prefix = rawHourPrefix({ tenantId: e.tenant_id, propertyId: e.property_id, at: e.received_at });
    byObject.set(prefix, [...(byObject.get(prefix) ?? []), e]);
  }
  let offset = 0;
  for (const [prefix, list] of byObject) {
    const first = offset;
    offset += list.length;
    const body = gzipSync(list.map((e) => JSON.stringify(e)).join('\n') + '\n');
    await store.put(prefix + rawObjectName(partition, first, offset - 1), body);
  }
}

export type Row = Record<string, unknown>;

export async function query(sql: string): Promise<Row[]> {
  return (await conn.runAndReadAll(sql)).getRowObjectsJson() as Row[];
}

export function partPath(table: TransformedTable, propertyId: string, date: string): string {
  return store.locate(`transformed/${table}/tenant=t1/property=${propertyId}/dt=${date}/part-0.parquet`);
}

export async function read(table: TransformedTable, propertyId: string, date: string, where = 'true'): Promise<Row[]> {
  return query(`SELECT * FROM read_parquet('${partPath(table, propertyId, date)}', hive_partitioning = false) WHERE ${where}`);
}

/** Opens the folder store, the engine and a DuckDB reader for the test file, and removes them after it. */
export function useTransformEngine(): void {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tally-transform-test-'));
    store = new FolderObjectStore(join(dir, 'store'));
    engine = new DuckDbTransformEngine(store, { tempDir: dir, threads: 2 });
    reader = await DuckDBInstance.create(':memory:');
    conn = await reader.connect();
  });

  afterAll(async () => {
    conn?.closeSync();
    reader?.closeSync();
    await engine?.close();
    await rm(dir, { recursive: true, force: true });
  });
}

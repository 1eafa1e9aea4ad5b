import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { Archiver } from './archiver.js';
import { PipelineStateRepository } from './pipeline-state.repository.js';
import { embeddedDbPerSuite } from '../src/infra/metadata/embedded-db.testkit.js';
import { FolderObjectStore } from '../src/infra/object-store/folder.object-store.js';
import { DuckDbTransformEngine } from '../src/infra/transform/duckdb.transform-engine.js';
import type { LogBatch, LogRecord } from '../src/infra/event-log/event-log.port.js';
import type { RawEvent } from '../src/domain/raw-event.js';
import { createLogger } from '../src/infra/logger.js';
import { DEFAULT_PROPERTY_SETTINGS } from '../src/domain/property-settings.js';

const T0 = Date.UTC(2026, 10, 20, 9, 40);
const tenant = 'tarch';
const property = '400000777';

function raw(i: number): RawEvent {
  return {
    event_id: `ev-${i}`,
    tenant_id: tenant,
    property_id: property,
    protocol: 'native',
    received_at: T0 + i * 30_000,
    client_ts: null,
    name: 'page_view',
    client_id: `c${i % 7}`,
    user_id: null,
    session_id: null,
    url: `https://a.example/p${i % 5}`,
    referrer: null,
    title: null,
    ua: null,
    ua_source: 'none',
    ip_trunc: null,
    ip_source: 'none',
    country: null,
    region: null,
    city: null,
    language: null,
    screen: null,
    consent: null,
    params: {},
    user_props: {},
  };
}

/** What the log would hand the archiver: partition 0, offsets from 0. */
function batch(n: number): LogBatch {
  const records: LogRecord[] = Array.from({ length: n }, (_, i) => ({
    partition: 0,
    offset: i,
    key: `${property}:c${i % 7}`,
    value: Buffer.from(JSON.stringify(raw(i))),
    timestamp: T0 + i * 30_000,
  }));
  return { output: 'raw-events', partition: 0, records, nextOffset: n };
}

function rawZone(store: FolderObjectStore): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const root = store.locate('raw');
  for (const f of fs.readdirSync(root, { recursive: true }) as string[]) {
    if (!f.endsWith('.ndjson.gz')) continue;
    const lines = zlib
      .gunzipSync(fs.readFileSync(path.join(root, f)))
      .toString()
      .trim()
      .split('\n');
    out.set(
      f,
      lines.map((l) => JSON.parse(l).event_id),
    );
  }
  return out;
}

describe('Archiver: killed between writing objects and committing the offset', () => {
  const meta = embeddedDbPerSuite('tally-archiver-');

  it('loses nothing, leaves no duplicate in the raw zone, and the transform sees each event once', async () => {
    const store = new FolderObjectStore(path.join(meta.dir, 'objects'));
    const state = new PipelineStateRepository(meta.db);
    const logger = createLogger('silent');

    // first run: the objects of a 60-record batch are written, then the process dies before the
    // manifest and the offset commit (the log will offer the same offsets again)
    const dying = Object.create(state) as PipelineStateRepository;
    dying.recordRawObjects = async () => {
      throw new Error('killed');
    };
    await expect(new Archiver({ log: null as never, store, state: dying, logger }, { batchRecords: 1000, maxWaitMs: 10 }).archive(batch(60))).rejects.toThrow(
      'killed',
    );
    const afterCrash = rawZone(store);
    expect([...afterCrash.values()].flat()).toHaveLength(60);

    // after the restart the log hands over a longer batch from the same committed offset
    await new Archiver({ log: null as never, store, state, logger }, { batchRecords: 1000, maxWaitMs: 10 }).archive(batch(100));
    const zone = rawZone(store);
    const ids = [...zone.values()].flat();
    expect(ids).toHaveLength(100);
    expect(new Set(ids).size).toBe(100);
    // an object of the shorter batch is either rewritten identically (same offsets) or replaced
    for (const [key, before] of afterCrash) if (zone.has(key)) expect(zone.get(key), key).toEqual(before);
    expect([...afterCrash.keys()].some((k) => !zone.has(k))).toBe(true);
    const manifest = await meta.db('raw_objects').select('key', 'records');
    expect(manifest.reduce((n, r) => n + Number(r.records), 0)).toBe(100);
    for (const r of manifest) expect(zone.has(r.key.slice('raw/'.length)), r.key).toBe(true);

    const engine = new DuckDbTransformEngine(store, { tempDir: fs.mkdtempSync(path.join(os.tmpdir(), 'tally-archiver-tmp-')) });
    const result = await engine.transform({
      settings: { ...DEFAULT_PROPERTY_SETTINGS, keyEvents: [], tenantId: tenant, propertyId: property },
      dates: ['2026-11-20'],
    });
    await engine.close();
    expect(result.rawRead).toBe(100);
    expect(result.eventsWritten).toBe(100);
  });

  it('writes byte-identical objects when the same offsets are archived again', async () => {
    const store = new FolderObjectStore(path.join(meta.dir, 'objects-again'));
    const state = new PipelineStateRepository(meta.db);
    const archiver = new Archiver({ log: null as never, store, state, logger: createLogger('silent') }, { batchRecords: 1000, maxWaitMs: 10 });
    await archiver.archive(batch(50));
    const first = (await store.list('raw/')).map((o) => [o.key, fs.readFileSync(store.locate(o.key)).toString('base64')]);
    await archiver.archive(batch(50));
    const second = (await store.list('raw/')).map((o) => [o.key, fs.readFileSync(store.locate(o.key)).toString('base64')]);
    expect(second).toEqual(first);
    expect(first.length).toBe(2); // 50 records 30 s apart cross 09:00 -> 10:00 UTC
  });

  it("lets other work run while it parses a large batch (it shares the collector's thread in tally serve)", async () => {
    const store = new FolderObjectStore(path.join(meta.dir, 'objects-yield'));
    const archiver = new Archiver(
      { log: null as never, store, state: new PipelineStateRepository(meta.db), logger: createLogger('silent') },
      { batchRecords: 5000, maxWaitMs: 10 },
    );
    const b = batch(2000);
    let otherWorkRan = false;
    let ranBeforeRecord1500: boolean | null = null;
    const records = new Proxy(b.records, {
      get(target, prop, receiver) {
        if (prop === '1500') ranBeforeRecord1500 = otherWorkRan;
        return Reflect.get(target, prop, receiver);
      },
    });
    setImmediate(() => (otherWorkRan = true)); // a request that arrived as the batch started
    await archiver.archive({ ...b, records });
    expect(ranBeforeRecord1500).toBe(true);
  });
});

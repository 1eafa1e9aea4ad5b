import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FolderObjectStore } from '../src/infra/object-store/folder.object-store.js';
import { DuckDbTransformEngine } from '../src/infra/transform/duckdb.transform-engine.js';
import { generatedRawEvents, RawZoneWriter } from '../src/infra/transform/raw-zone.testkit.js';
import { DuckDbWarehouse } from '../src/infra/warehouse/duckdb.warehouse.js';
import type { RawEvent } from '../src/domain/raw-event.js';
import { DEFAULT_PROPERTY_SETTINGS, type PropertySettings } from '../src/domain/property-settings.js';
import type { CycleRequest, CycleResult } from '../src/infra/transform/transform-engine.port.js';
import { LOAD_BATCH_PARTITIONS } from '../jobs/load.job.js';

const PROPERTIES = Number(process.env.BENCH_PROPERTIES ?? 1000);
/** Properties cycled one by one (the old way), to compare the per-property cost. */
const ONE_BY_ONE = Number(process.env.BENCH_ONE_BY_ONE ?? 50);
const VISITS = 3;
const EVENTS_PER_VISIT = 3;

/**
 * Many small properties in one cycle (issue 20): `PROPERTIES` properties with a few visits each
 * (3 visits of 3 events, received in the last minutes). Prints the cycle duration for one
 * property, for all of them in one cycle (`cycleMany`), for `ONE_BY_ONE` of them cycled one at a
 * time (the previous way, extrapolated), and the warehouse load of every partition the cycle
 * wrote: cycle + load is the time until every property is visible in reports, less the
 * archiver's and the scheduler's share. Pass: all visible ≤ 60 s, the many-property cycle ≤ 2× the
 * one-property cycle.
 */
export async function run() {
  const now = Date.now() - 5 * 60_000;
  const base = [
    ...generatedRawEvents({ tenantId: 'bench', propertyId: 'x' }, { seed: 3, startDate: '2026-02-01', days: 1, timeZone: 'UTC', visitorsPerDay: 2 }),
  ][0];
  const settingsOf = (i: number): PropertySettings => ({
    ...DEFAULT_PROPERTY_SETTINGS,
    keyEvents: ['purchase'],
    // a few zones and timeouts: each property's own settings are joined in as data
    timeZone: ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Tokyo'][i % 4],
    sessionTimeoutMinutes: 30 + (i % 3) * 10,
    tenantId: `t${Math.floor(i / 3)}`,
    propertyId: `${500000000 + i}`,
  });
  const visits = (s: PropertySettings): RawEvent[] =>
    Array.from({ length: VISITS * EVENTS_PER_VISIT }, (_, k) => {
      const visit = Math.floor(k / EVENTS_PER_VISIT);
      const t = now + visit * 40_000 + (k % EVENTS_PER_VISIT) * 5_000;
      return {
        ...base,
        tenant_id: s.tenantId,
        property_id: s.propertyId,
        event_id: `${s.propertyId}-${k}`,
        client_id: `${s.propertyId}.${visit}`,
        session_id: null,
        user_id: null,
        name: k % EVENTS_PER_VISIT === 0 ? 'page_view' : 'scroll',
        client_ts: t,
        received_at: t + 200,
      } as RawEvent;
    });

  const rows: Record<string, unknown>[] = [];
  const push = (row: Record<string, unknown>) => {
    rows.push(row);
    // as it comes: a long run shows its figures so far
    process.stdout.write(`${JSON.stringify(row)}\n`);
  };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-bench-tenants-'));
  try {
    const store = new FolderObjectStore(path.join(dir, 'store'));
    const engine = new DuckDbTransformEngine(store, { tempDir: dir });
    const request = async (s: PropertySettings): Promise<CycleRequest> => {
      const w = new RawZoneWriter(store, 0);
      for (const e of visits(s)) await w.add(e);
      await w.flush();
      const newKeys = (await store.list(`raw/tenant=${s.tenantId}/property=${s.propertyId}/`)).map((o) => o.key);
      return { settings: s, newKeys, earlierKeys: async () => [], cycleId: '000001' };
    };
    const timed = async <T>(fn: () => Promise<T>): Promise<[T, number]> => {
      const t0 = performance.now();
      const r = await fn();
      return [r, (performance.now() - t0) / 1000];
    };

    // warm-up (the engine's start, extension loading) on a property of its own
    await engine.cycle(await request(settingsOf(PROPERTIES + 1)));

    const [, one] = await timed(async () => engine.cycle(await request(settingsOf(PROPERTIES + 2))));
    push({ case: 'one property, one cycle', properties: 1, seconds: round(one) });

    const oneByOne = await Promise.all(Array.from({ length: ONE_BY_ONE }, (_, i) => request(settingsOf(PROPERTIES + 10 + i))));
    const [, serial] = await timed(async () => {
      for (const r of oneByOne) await engine.cycle(r);
    });
    push({
      case: `one cycle per property (x${ONE_BY_ONE}), extrapolated to ${PROPERTIES}`,
      properties: PROPERTIES,
      seconds: round((serial / ONE_BY_ONE) * PROPERTIES),
    });

    const requests: CycleRequest[] = [];
    for (let i = 0; i < PROPERTIES; i++) requests.push(await request(settingsOf(i)));
    const [results, many] = await timed(() => engine.cycleMany(requests));
    const partitions = results.flatMap((r: CycleResult, i) => r.partitions.map((p) => ({ ...p, s: requests[i].settings })));
    push({
      case: 'all properties, one cycle',
      properties: PROPERTIES,
      seconds: round(many),
      events: results.reduce((n, r) => n + r.eventsWritten, 0),
      files: partitions.reduce((n, p) => n + p.keys.length, 0),
    });
    await engine.close();

    const wh = await DuckDbWarehouse.open({ path: path.join(dir, 'wh.duckdb'), store, tempDir: dir });
    await wh.init();
    // as the load job does: LOAD_BATCH_PARTITIONS partitions per transaction
    const [, load] = await timed(async () => {
      for (let i = 0; i < partitions.length; i += LOAD_BATCH_PARTITIONS) {
        await wh.loadPartitions(
          partitions
            .slice(i, i + LOAD_BATCH_PARTITIONS)
            .map((p) => ({ table: p.table, partition: { tenantId: p.s.tenantId, propertyId: p.s.propertyId, date: p.date }, objectKeys: p.keys })),
        );
      }
    });
    await wh.close();
    push({
      case: `load every partition into the DuckDB warehouse (${LOAD_BATCH_PARTITIONS} per transaction)`,
      properties: PROPERTIES,
      seconds: round(load),
      partitions: partitions.length,
    });
    console.table(rows);
    const visible = many + load;
    return {
      properties: PROPERTIES,
      rows,
      oneCycleSeconds: round(one),
      manyCycleSeconds: round(many),
      ratio: round(many / one),
      visibleSeconds: round(visible),
      pass: visible <= 60 && many <= 2 * one,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function round(n: number): number {
  return Number(n.toFixed(2));
}

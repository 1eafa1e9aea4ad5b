import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FolderObjectStore } from '../src/infra/object-store/folder.object-store.js';
import { DuckDbTransformEngine } from '../src/infra/transform/duckdb.transform-engine.js';
import { generatedRawEvents, RawZoneWriter } from '../src/infra/transform/raw-zone.testkit.js';
import type { RawEvent } from '../src/domain/raw-event.js';
import { DEFAULT_PROPERTY_SETTINGS, type PropertySettings } from '../src/domain/property-settings.js';

/** `BENCH_TIMINGS=1`: each cycle's or run's phase timings on stderr (`cycle-timings.ts`). */
const timings = process.env.BENCH_TIMINGS === '1' ? (line: string) => void process.stderr.write(`timings ${line}\n`) : undefined;
const DAY_EVENTS = Number(process.env.BENCH_EVENTS ?? 300_000);
const CYCLE_SECONDS = Number(process.env.BENCH_CYCLE_SECONDS ?? 30);
const CYCLES = Number(process.env.BENCH_CYCLES ?? 5);
const START = '2026-02-01';
/** Traffic before the measured cycles in the empty-day mode: enough for the open sessions a steady load carries (timeout + late allowance). */
const WARM_MINUTES = Number(process.env.BENCH_WARM_MINUTES ?? 45);
/** Share of sessions sent 1–60 h late (the generator's default 0.03): each late one makes its cycle a rebuild; 0 measures incremental cycles alone. */
const LATE_SHARE = process.env.BENCH_LATE_SHARE === undefined ? undefined : Number(process.env.BENCH_LATE_SHARE);
const settings: PropertySettings = { ...DEFAULT_PROPERTY_SETTINGS, keyEvents: ['purchase'], tenantId: 'bench', propertyId: '400000997' };

/**
 * Incremental cycles: the time of a cycle over `CYCLE_SECONDS` of traffic on an empty day and
 * after a day partition already holds ~`BENCH_EVENTS` events (issue 20: it should not grow with
 * the day). One day of generated traffic; a first cycle covers the day up to late afternoon in one
 * go (full day) or only its last `WARM_MINUTES` (empty day: the same open sessions carried, so
 * the two modes differ only in the day's size), then cycles of `CYCLE_SECONDS` of receipt time each.
 */
export async function run() {
  const visitorsPerDay = Math.max(1, Math.round(DAY_EVENTS / 7.7));
  const all: RawEvent[] = [...generatedRawEvents(settings, { seed: 4, startDate: START, days: 1, timeZone: 'UTC', visitorsPerDay, lateShare: LATE_SHARE })];
  all.sort((a, b) => a.received_at - b.received_at);
  const rows: Record<string, unknown>[] = [];
  for (const mode of ['empty day', 'full day']) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-bench-cycle-'));
    const store = new FolderObjectStore(dir);
    const engine = new DuckDbTransformEngine(store, { tempDir: dir, timings });
    const earlier: string[] = [];
    let partition = 0;
    const cycle = async (events: RawEvent[]) => {
      const before = new Set((await store.list('raw/')).map((o) => o.key));
      const w = new RawZoneWriter(store, ++partition);
      for (const e of events) await w.add(e);
      await w.flush();
      const newKeys = (await store.list('raw/')).map((o) => o.key).filter((k) => !before.has(k));
      const t0 = performance.now();
      const r = await engine.cycle({ settings, newKeys, earlierKeys: async () => [...earlier], cycleId: String(partition).padStart(6, '0') });
      earlier.push(...newKeys);
      return { r, seconds: (performance.now() - t0) / 1000 };
    };
    // the slices: [from, from + CYCLE_SECONDS) of receipt time, from 17:00 on
    const from = Date.parse(`${START}T17:00:00Z`);
    // both modes start with the open sessions of a steady load carried (the last WARM_MINUTES of
    // traffic): the empty day holds only those, the full day everything since midnight
    const fillFrom = mode === 'full day' ? 0 : from - WARM_MINUTES * 60_000;
    const fill = await cycle(all.filter((e) => e.received_at >= fillFrom && e.received_at < from));
    rows.push({ mode, cycle: 'fill', new_events: fill.r.rawRead, seconds: Number(fill.seconds.toFixed(2)), rebuilt: fill.r.rebuiltFrom ?? '' });
    for (let i = 0; i < CYCLES; i++) {
      const lo = from + i * CYCLE_SECONDS * 1000;
      const slice = all.filter((e) => e.received_at >= lo && e.received_at < lo + CYCLE_SECONDS * 1000);
      const { r, seconds } = await cycle(slice);
      rows.push({
        mode,
        cycle: i + 1,
        new_events: r.rawRead,
        seconds: Number(seconds.toFixed(2)),
        rebuilt: r.rebuiltFrom ?? '',
        duplicates: r.duplicates,
        files: r.partitions.reduce((n, p) => n + p.keys.length, 0),
      });
    }
    await engine.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  console.table(rows);
  return { dayEvents: all.length, cycleSeconds: CYCLE_SECONDS, rows };
}

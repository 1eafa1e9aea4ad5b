import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FolderObjectStore } from '../src/infra/object-store/folder.object-store.js';
import { DuckDbTransformEngine } from '../src/infra/transform/duckdb.transform-engine.js';
import { SparkTransformEngine } from '../src/infra/transform/spark.transform-engine.js';
import type { TransformEngine } from '../src/infra/transform/transform-engine.port.js';
import { writeGeneratedTraffic } from '../src/infra/transform/raw-zone.testkit.js';
import { addDays, datesBetween } from '../src/domain/time-zone.js';
import { selfAndReapedChildrenCpuMicros } from './process-cpu.js';
import { DEFAULT_PROPERTY_SETTINGS, type PropertySettings } from '../src/domain/property-settings.js';

/** `BENCH_TIMINGS=1`: each cycle's or run's phase timings on stderr (`cycle-timings.ts`). */
const timings = process.env.BENCH_TIMINGS === '1' ? (line: string) => void process.stderr.write(`timings ${line}\n`) : undefined;
const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const DAYS = 7;
const START = '2026-02-01';
const settings: PropertySettings = { ...DEFAULT_PROPERTY_SETTINGS, keyEvents: ['purchase'], tenantId: 'bench', propertyId: '400000998' };

/** Transform events/s for DuckDB and Spark on the same raw input, and bytes per event written. */
export async function run() {
  const rawDir = path.join(os.tmpdir(), `tally-bench-transform-raw-${EVENTS}`);
  const marker = path.join(rawDir, 'raw.json');
  if (!fs.existsSync(marker)) {
    fs.rmSync(rawDir, { recursive: true, force: true });
    const visitorsPerDay = Math.max(1, Math.round(EVENTS / DAYS / 7.7));
    process.stdout.write(`generating ~${EVENTS} raw events…\n`);
    const n = await writeGeneratedTraffic(new FolderObjectStore(rawDir), settings, { seed: 2, startDate: START, days: DAYS, timeZone: 'UTC', visitorsPerDay });
    fs.writeFileSync(marker, JSON.stringify({ events: n }));
  }
  const engines: [string, (store: FolderObjectStore, tmp: string) => TransformEngine][] = [
    ['duckdb', (store, tmp) => new DuckDbTransformEngine(store, { tempDir: tmp, timings })],
  ];
  if (process.env.SPARK_SUBMIT) {
    engines.push([
      'spark',
      (store, tmp) =>
        new SparkTransformEngine(store, {
          sparkSubmit: process.env.SPARK_SUBMIT!,
          master: 'local[2]',
          jars: process.env.SPARK_JARS,
          driverMemory: '4g',
          tempDir: tmp,
        }),
    ]);
  } else process.stdout.write('SPARK_SUBMIT not set (eval "$(scripts/services env)"): Spark skipped\n');
  const rows: Record<string, unknown>[] = [];
  // BENCH_ENGINES=spark (or duckdb): only those engines
  const only = process.env.BENCH_ENGINES?.split(',');
  for (const [name, make] of engines.filter(([n]) => !only || only.includes(n))) {
    // each engine gets its own copy of the raw zone so neither reads the other's output
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `tally-bench-transform-${name}-`));
    fs.cpSync(path.join(rawDir, 'raw'), path.join(dir, 'raw'), { recursive: true });
    const store = new FolderObjectStore(dir);
    const engine = make(store, fs.mkdtempSync(path.join(os.tmpdir(), 'tally-bench-tmp-')));
    const t0 = performance.now();
    const cpu0 = selfAndReapedChildrenCpuMicros();
    const r = await engine.transform({ settings, dates: datesBetween(START, addDays(START, DAYS - 1)) });
    const seconds = (performance.now() - t0) / 1000;
    const cpuSeconds = (selfAndReapedChildrenCpuMicros() - cpu0) / 1e6;
    await engine.close();
    const bytes = (await store.list('transformed/')).reduce((n, o) => n + o.size, 0);
    rows.push({
      engine: name,
      raw_events: r.rawRead,
      events_written: r.eventsWritten,
      seconds: Number(seconds.toFixed(1)),
      events_per_s: Math.round(r.rawRead / seconds),
      cpu_s: Number(cpuSeconds.toFixed(1)),
      events_per_cpu_s: Math.round(r.rawRead / cpuSeconds),
      bytes_per_event: Number((bytes / r.eventsWritten).toFixed(1)),
    });
    fs.rmSync(dir, { recursive: true, force: true });
  }
  console.table(rows);
  return { days: DAYS, rows };
}

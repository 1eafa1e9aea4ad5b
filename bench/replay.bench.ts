import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FolderObjectStore } from '../src/infra/object-store/folder.object-store.js';
import { DuckDbTransformEngine } from '../src/infra/transform/duckdb.transform-engine.js';
import { SparkTransformEngine } from '../src/infra/transform/spark.transform-engine.js';
import type { ObjectStore } from '../src/infra/object-store/object-store.port.js';
import type { TransformEngine } from '../src/infra/transform/transform-engine.port.js';
import { DuckDbWarehouse } from '../src/infra/warehouse/duckdb.warehouse.js';
import { writeGeneratedTraffic } from '../src/infra/transform/raw-zone.testkit.js';
import { openDb } from '../src/infra/metadata/db.js';
import { createLogger } from '../src/infra/logger.js';
import { addDays } from '../src/domain/time-zone.js';
import { selfAndReapedChildrenCpuMicros } from './process-cpu.js';
import { DEFAULT_PROPERTY_SETTINGS, type PropertySettings } from '../src/domain/property-settings.js';
import { PipelineStateRepository } from '../jobs/pipeline-state.repository.js';
import { PartitionLocks } from '../jobs/partition-locks.repository.js';
import { appendAudit } from '../src/tenancy/audit.repository.js';
import { ReplayRepository } from '../src/support/replay.repository.js';
import { ReplayRunner } from '../src/support/replay.service.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const DAYS = 7;
const START = '2026-02-01';
const settings: PropertySettings = { ...DEFAULT_PROPERTY_SETTINGS, keyEvents: ['purchase'], tenantId: 'benchorg', propertyId: '400000997' };

/**
 * Support replay of a property's whole week (BENCH_EVENTS raw events, default 1M): a dry run
 * (transform into the staging area + diff) and a real run (the same, then the swap into the
 * transformed zone and the load of every partition into the DuckDB warehouse), events per second
 * of raw input. DuckDB always; Spark too when SPARK_SUBMIT is set (eval "$(scripts/services env)").
 */
export async function run() {
  const rawDir = path.join(os.tmpdir(), `tally-bench-replay-raw-${EVENTS}`);
  const marker = path.join(rawDir, 'raw.json');
  if (!fs.existsSync(marker)) {
    fs.rmSync(rawDir, { recursive: true, force: true });
    process.stdout.write(`generating ~${EVENTS} raw events…\n`);
    const visitorsPerDay = Math.max(1, Math.round(EVENTS / DAYS / 7.7));
    const n = await writeGeneratedTraffic(new FolderObjectStore(rawDir), settings, { seed: 3, startDate: START, days: DAYS, timeZone: 'UTC', visitorsPerDay });
    fs.writeFileSync(marker, JSON.stringify({ events: n }));
  }
  const rawEvents = (JSON.parse(fs.readFileSync(marker, 'utf8')) as { events: number }).events;
  const engines: [string, (store: ObjectStore, tmp: string) => TransformEngine][] = [
    ['duckdb', (store, tmp) => new DuckDbTransformEngine(store, { tempDir: tmp })],
  ];
  if (process.env.SPARK_SUBMIT)
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
  else process.stdout.write('SPARK_SUBMIT not set: Spark skipped\n');

  const rows: Record<string, unknown>[] = [];
  // BENCH_ENGINES=spark (or duckdb): only those engines
  const only = process.env.BENCH_ENGINES?.split(',');
  for (const [name, make] of engines.filter(([n]) => !only || only.includes(n))) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `tally-bench-replay-${name}-`));
    fs.cpSync(path.join(rawDir, 'raw'), path.join(dir, 'objects', 'raw'), { recursive: true });
    const store = new FolderObjectStore(path.join(dir, 'objects'));
    const tmp = fs.mkdtempSync(path.join(dir, 'tmp-'));
    const db = await openDb({ dataDir: path.join(dir, 'db') });
    const warehouse = await DuckDbWarehouse.open({ path: path.join(dir, 'warehouse.duckdb'), store, tempDir: tmp });
    await warehouse.init();
    const replays = new ReplayRepository(db);
    const runner = new ReplayRunner({
      replays,
      store,
      engineFor: (s) => make(s, tmp),
      warehouse,
      pipeline: new PipelineStateRepository(db),
      locks: new PartitionLocks(db),
      properties: async () => ({ settings, organizationId: settings.tenantId }),
      audit: (actor, entry) => appendAudit(db, actor, entry),
      logger: createLogger('warn'),
      tempDir: tmp,
    });
    for (const dryRun of [true, false]) {
      const r = await replays.create({
        organizationId: settings.tenantId,
        propertyId: settings.propertyId,
        from: START,
        to: addDays(START, DAYS - 1),
        dryRun,
        reason: 'bench',
        actor: { kind: 'operator' },
      });
      const t0 = performance.now();
      const cpu0 = selfAndReapedChildrenCpuMicros();
      const done = await runner.run(r.id);
      const seconds = (performance.now() - t0) / 1000;
      const cpuSeconds = (selfAndReapedChildrenCpuMicros() - cpu0) / 1e6;
      rows.push({
        engine: name,
        mode: dryRun ? 'dry run' : 'real',
        state: done.state,
        raw_events: rawEvents,
        events_written: done.events,
        partitions: done.progress.total,
        seconds: Number(seconds.toFixed(1)),
        events_per_s: Math.round(rawEvents / seconds),
        cpu_s: Number(cpuSeconds.toFixed(1)),
        events_per_cpu_s: Math.round(rawEvents / cpuSeconds),
      });
      // each run as it ends: a long Spark run's first figures survive a stopped bench
      process.stdout.write(`${JSON.stringify(rows.at(-1))}\n`);
    }
    await warehouse.close();
    await db.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  console.table(rows);
  return { days: DAYS, rows };
}

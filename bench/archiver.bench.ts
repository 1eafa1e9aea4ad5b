import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import inspector from 'node:inspector/promises';
import os from 'node:os';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { Archiver } from '../jobs/archiver.js';
import { PipelineStateRepository } from '../jobs/pipeline-state.repository.js';
import { loadConfig } from '../src/infra/config/config.js';
import type { EventLog, LogRecordIn } from '../src/infra/event-log/event-log.port.js';
import { KafkaEventLog, kafkaGroupId } from '../src/infra/event-log/kafka.event-log.js';
import { LocalEventLog } from '../src/infra/event-log/local.event-log.js';
import { createLogger } from '../src/infra/logger.js';
import { openDb } from '../src/infra/metadata/db.js';
import { FolderObjectStore } from '../src/infra/object-store/folder.object-store.js';
import type { ObjectStore } from '../src/infra/object-store/object-store.port.js';
import { S3ObjectStore } from '../src/infra/object-store/s3.object-store.js';
import { generatedRawEvents } from '../src/infra/transform/raw-zone.testkit.js';
import { logKeyOf } from '../src/ingest/ingest.service.js';
import { RawEventJson } from '../src/ingest/raw-event-json.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 200_000);
/** BENCH_CPU_PROF=<dir>: a .cpuprofile of each drain alone (not the generation or the fill). */
const PROFILE_DIR = process.env.BENCH_CPU_PROF;
const DAYS = 1;
/** The objects-per-tenant measure: this many events spread over each count of active properties. */
const SPREAD_EVENTS = Number(process.env.BENCH_SPREAD_EVENTS ?? 60_000);
const SPREAD_PROPERTIES = [10, 3_000] as const;
const tenant = { tenantId: 'bench', propertyId: '400000996' };
/** The archiver's defaults (TALLY_ARCHIVE_BATCH_RECORDS, TALLY_ARCHIVE_MAX_WAIT_MS). */
const ARCHIVER = loadConfig({}).archiver;

/**
 * The demo generator's traffic as raw-events records, keyed as IngestService keys them; with
 * `properties` > 1 each visitor's events belong to one of that many tenants' properties.
 */
function records(events: number, properties = 1): LogRecordIn[] {
  const visitorsPerDay = Math.max(1, Math.round(events / DAYS / 7.7));
  const out: LogRecordIn[] = [];
  const json = new RawEventJson();
  for (const e of generatedRawEvents(tenant, { seed: 3, startDate: '2026-03-02', days: DAYS, timeZone: 'UTC', visitorsPerDay })) {
    if (properties > 1) {
      const k = Math.abs(hashOf(e.client_id ?? e.event_id)) % properties;
      e.tenant_id = `bench${k}`;
      e.property_id = String(500_000_000 + k);
    }
    out.push({ key: logKeyOf(e), value: Buffer.from(json.write(e)) });
  }
  return out;
}

function hashOf(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = Math.imul(h, 31) + s.charCodeAt(i);
  return h;
}

/** The store, counting its PUTs (the unit S3 bills). */
function counted(store: ObjectStore): { store: ObjectStore; puts: () => number } {
  let puts = 0;
  const wrapped = Object.create(store) as ObjectStore;
  wrapped.put = (key, body) => {
    puts++;
    return store.put(key, body);
  };
  return { store: wrapped, puts: () => puts };
}

/** Profiles `fn` into PROFILE_DIR/<name>.cpuprofile when BENCH_CPU_PROF is set. */
async function profiled<T>(name: string, fn: () => Promise<T>): Promise<T> {
  if (!PROFILE_DIR) return fn();
  const session = new inspector.Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  try {
    return await fn();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    fs.mkdirSync(PROFILE_DIR, { recursive: true });
    const file = path.join(PROFILE_DIR, `archiver-${name.replace(/[^a-z0-9]+/gi, '-')}.cpuprofile`);
    fs.writeFileSync(file, JSON.stringify(profile));
    process.stdout.write(`profile: ${file}\n`);
    session.disconnect();
  }
}

/** Appends in requests of 500 records, 16 in flight, as a few busy collectors would. */
async function fill(log: EventLog, recs: LogRecordIn[]): Promise<number> {
  const t0 = performance.now();
  const chunks: LogRecordIn[][] = [];
  for (let i = 0; i < recs.length; i += 500) chunks.push(recs.slice(i, i + 500));
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < chunks.length) await log.append('raw-events', chunks[next++]);
    }),
  );
  return (performance.now() - t0) / 1000;
}

/** Starts the archiver on a filled log and times it until it has committed the log's end. */
async function drain(name: string, log: EventLog, store: ObjectStore, recs: LogRecordIn[]): Promise<Record<string, unknown>> {
  const fillSeconds = await fill(log, recs);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-bench-archiver-db-'));
  const db = await openDb({ dataDir });
  const count = counted(store);
  const archiver = new Archiver({ log, store: count.store, state: new PipelineStateRepository(db), logger: createLogger('silent') }, ARCHIVER);
  try {
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    await profiled(name, async () => {
      await archiver.start();
      await archiver.caughtUp(600_000);
    });
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    await archiver.stop();
    const objects = await store.list('raw/');
    const bytes = objects.reduce((n, o) => n + o.size, 0);
    return {
      case: name,
      events: recs.length,
      seconds: Number(seconds.toFixed(2)),
      events_per_s: Math.round(recs.length / seconds),
      // this process's CPU over the drain, every thread (gzip on libuv's pool, PGlite): stable where
      // the wall clock is not; well under `seconds` means waiting
      cpu_seconds: Number(((cpu.user + cpu.system) / 1e6).toFixed(2)),
      cpu_us_per_event: Number(((cpu.user + cpu.system) / recs.length).toFixed(1)),
      objects: objects.length,
      puts_per_million_events: Math.round((count.puts() * 1e6) / recs.length),
      events_per_object: Math.round(recs.length / objects.length),
      bytes_per_event: Number((bytes / recs.length).toFixed(1)),
      fill_seconds: Number(fillSeconds.toFixed(2)),
    };
  } finally {
    await archiver.stop();
    await db.destroy();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Archiver events/s into S3 from the Kafka log, against the folder store from the local log. */
export async function run() {
  process.stdout.write(`generating ~${EVENTS} raw events…\n`);
  const recs = records(EVENTS);
  const logBytes = recs.reduce((n, r) => n + r.value.length, 0);
  const rows: Record<string, unknown>[] = [];

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-bench-archiver-'));
  const local = await LocalEventLog.open({ dir: path.join(dir, 'log'), partitions: 4 });
  try {
    rows.push(await drain('local log -> folder store (embedded)', local, new FolderObjectStore(path.join(dir, 'objects')), recs));
  } finally {
    await local.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }

  const brokers = process.env.KAFKA_BROKERS?.split(',');
  const bucket = process.env.S3_BUCKET;
  let skipped: string | undefined;
  if (brokers && bucket) {
    const id = randomUUID().slice(0, 8);
    const topics = { 'raw-events': `bench.archiver.${id}.raw-events`, 'dead-letter': `bench.archiver.${id}.dead-letter` } as const;
    const kafka = await KafkaEventLog.open({ brokers, clientId: 'tally-bench', topics, partitions: 4 });
    const s3 = new S3ObjectStore({
      bucket,
      prefix: `bench/archiver-${id}`,
      region: process.env.S3_REGION ?? 'us-east-1',
      endpoint: process.env.S3_ENDPOINT,
      forcePathStyle: process.env.S3_FORCE_PATH_STYLE === 'true',
    });
    try {
      rows.push(await drain('Kafka log -> S3 (moto)', kafka, s3, recs));
    } finally {
      await kafka.close();
      await s3.delete((await s3.list('')).map((o) => o.key));
      await s3.close();
      const admin = new Kafka({ clientId: 'tally-bench', brokers, logLevel: logLevel.NOTHING }).admin();
      await admin.connect();
      await admin.deleteGroups(Object.values(topics).map((t) => kafkaGroupId('archiver', t))).catch(() => undefined);
      await admin.deleteTopics({ topics: Object.values(topics) }).catch(() => undefined);
      await admin.disconnect();
    }
    rows[1].ratio_to_embedded = Number(((rows[1].events_per_s as number) / (rows[0].events_per_s as number)).toFixed(3));
  } else {
    skipped = `${brokers ? '' : 'KAFKA_BROKERS '}${bucket ? '' : 'S3_BUCKET '}not set`;
    process.stdout.write(`${skipped}: the Kafka -> S3 row is skipped (scripts/services up && eval "$(scripts/services env)")\n`);
  }
  console.table(rows);

  // issue 20: the objects (PUTs) per million events may not grow with the number of active properties
  const spread: Record<string, unknown>[] = [];
  for (const properties of SPREAD_PROPERTIES) {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-bench-archiver-spread-'));
    const log = await LocalEventLog.open({ dir: path.join(d, 'log'), partitions: 4 });
    try {
      const row = await drain(
        `${properties} properties, local log -> folder`,
        log,
        new FolderObjectStore(path.join(d, 'objects')),
        records(SPREAD_EVENTS, properties),
      );
      spread.push({ properties, ...row });
    } finally {
      await log.close();
      fs.rmSync(d, { recursive: true, force: true });
    }
  }
  const bound = (spread[1].puts_per_million_events as number) / (spread[0].puts_per_million_events as number);
  console.table(
    spread.map(({ properties, events, events_per_s, cpu_us_per_event, objects, puts_per_million_events }) => ({
      properties,
      events,
      events_per_s,
      cpu_us_per_event,
      objects,
      puts_per_million_events,
    })),
  );
  process.stdout.write(`PUTs per million events, ${SPREAD_PROPERTIES[1]} against ${SPREAD_PROPERTIES[0]} properties: ${bound.toFixed(2)}x (pass: <= 2x)\n`);
  return {
    events: recs.length,
    raw_bytes_per_event: Number((logBytes / recs.length).toFixed(1)),
    archiver: ARCHIVER,
    timing: 'from archiver.start() until its committed offsets reach the log end (includes the Kafka group join); metadata on PGlite in both',
    rows,
    objects_by_active_properties: { rows: spread, ratio: Number(bound.toFixed(2)), pass: bound <= 2 },
    ...(skipped ? { skipped } : {}),
  };
}

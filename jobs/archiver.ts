import zlib from 'node:zlib';
import { promisify } from 'node:util';
import type { EventLog, LogBatch, LogConsumer, LogOutput } from '../src/infra/event-log/event-log.port.js';
import type { ObjectStore } from '../src/infra/object-store/object-store.port.js';
import type { Logger } from '../src/infra/logger.js';
import type { PipelineStateRepository, RawObjectEntry } from './pipeline-state.repository.js';
import { rawHourPrefix, rawObjectKey, type RawZone } from '../src/domain/transformed-schema.js';
import { readRouteFields, type RouteFields } from './raw-record-route.js';

const gzip = promisify<zlib.InputType, zlib.ZlibOptions, Buffer>(zlib.gzip);

export interface ArchiverOptions {
  batchRecords: number;
  maxWaitMs: number;
}

/**
 * Reads the event log in order and writes it to the raw zone, one object per
 * (tenant, property, UTC hour of receipt) and batch, named by the log offsets it holds:
 *   raw/tenant=T/property=P/dt=YYYY-MM-DD/hr=HH/<partition>-<first>-<last>.ndjson.gz
 * The log offset is committed only after the objects (and their manifest rows) are written.
 * The same offsets always give the same bytes (the log's bytes, gzip without a timestamp), so
 * re-archiving is idempotent; after a crash, a batch that grew past a half-written one replaces it.
 */
export class Archiver {
  private consumers: LogConsumer[] = [];
  private firstBatchSeen = new Set<string>();

  constructor(
    private readonly deps: { log: EventLog; store: ObjectStore; state: PipelineStateRepository; logger: Logger },
    private readonly opts: ArchiverOptions,
  ) {}

  async start(): Promise<void> {
    const options = { maxBatchRecords: this.opts.batchRecords, maxWaitMs: this.opts.maxWaitMs };
    this.consumers.push(await this.deps.log.consume('raw-events', 'archiver', (b) => this.archive(b), options));
    this.consumers.push(await this.deps.log.consume('dead-letter', 'archiver', (b) => this.archive(b), options));
  }

  /** Finishes the batch in flight, commits it, and stops. */
  async stop(): Promise<void> {
    await Promise.all(this.consumers.map((c) => c.stop()));
    this.consumers = [];
  }

  /** Resolves once every record appended so far has been archived and committed. */
  async caughtUp(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (const output of ['raw-events', 'dead-letter'] as LogOutput[]) {
      const end = await this.deps.log.endOffsets(output);
      for (;;) {
        const committed = await this.deps.log.committedOffsets(output, 'archiver');
        if (end.every((e, p) => (committed[p] ?? 0) >= e)) break;
        if (Date.now() > deadline) throw new Error(`archiver did not catch up on ${output} within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 25));
      }
    }
  }

  /** Per output: records appended but not yet archived and committed (the metrics' archiver lag). */
  async lag(): Promise<Record<LogOutput, number>> {
    const lag = { 'raw-events': 0, 'dead-letter': 0 };
    for (const output of Object.keys(lag) as LogOutput[]) {
      const [end, committed] = await Promise.all([this.deps.log.endOffsets(output), this.deps.log.committedOffsets(output, 'archiver')]);
      lag[output] = end.reduce((n, e, p) => n + Math.max(0, e - (committed[p] ?? 0)), 0);
    }
    return lag;
  }

  async archive(batch: LogBatch): Promise<void> {
    const zone: RawZone = batch.output === 'raw-events' ? 'raw' : 'deadletter';
    const groups = new Map<string, Group>();
    for (let i = 0; i < batch.records.length; i++) {
      // a batch is up to 20k records routed on the collector's thread in `tally serve`: let
      // requests in between chunks instead of stalling them
      if (i > 0 && i % YIELD_EVERY === 0) await new Promise((r) => setImmediate(r));
      const rec = batch.records[i];
      const ev = routeFieldsOf(rec.value, zone === 'raw');
      const receivedAt = Number(ev?.received_at ?? rec.timestamp);
      const at = Number.isFinite(receivedAt) ? receivedAt : rec.timestamp;
      const tenant = safeSegment(ev?.tenant_id) ?? 'unknown';
      const property = safeSegment(ev?.property_id) ?? 'unknown';
      // the UTC hour of receipt (NaN for a time a Date cannot hold: rawHourPrefix refuses it below)
      const hour = Math.abs(at) <= MAX_DATE_MS ? Math.floor(Math.trunc(at) / HOUR_MS) : NaN;
      const eventMs = Number(ev?.client_ts ?? receivedAt);
      const id = `${tenant}/${property}/${hour}`;
      let g = groups.get(id);
      if (!g) {
        const prefix = rawHourPrefix({ zone, tenantId: tenant, propertyId: property, at: hour * HOUR_MS });
        g = {
          prefix,
          tenantId: tenant,
          propertyId: property,
          at: hour * HOUR_MS,
          lines: [],
          bytes: 0,
          first: rec.offset,
          last: rec.offset,
          min: eventMs,
          max: eventMs,
        };
        groups.set(id, g);
      }
      g.lines.push(rec.value);
      g.bytes += rec.value.length + 1;
      g.last = rec.offset;
      g.min = Math.min(g.min, eventMs);
      g.max = Math.max(g.max, eventMs);
    }

    const manifest: RawObjectEntry[] = [];
    const superseded: string[] = [];
    const firstAfterStart = !this.firstBatchSeen.has(`${batch.output}:${batch.partition}`);
    const list = [...groups.values()];
    // objects go up (and gzip runs on libuv's pool) several at a time; the manifest follows all of them
    await eachLimited(list, PUT_CONCURRENCY, async (g) => {
      const key = rawObjectKey({ zone, ...g, partition: batch.partition });
      await this.deps.store.put(key, await gzip(ndjson(g), GZIP));
      if (firstAfterStart) {
        // a crash between writing objects and committing leaves objects for a shorter batch with the same first offset
        for (const o of await this.deps.store.list(`${g.prefix}${batch.partition}-${g.first}-`)) if (o.key !== key) superseded.push(o.key);
      }
    });
    for (const g of list) {
      if (zone === 'raw' && g.propertyId !== 'unknown') {
        const key = rawObjectKey({ zone, ...g, partition: batch.partition });
        manifest.push({ key, tenantId: g.tenantId, propertyId: g.propertyId, records: g.lines.length, minEventMs: g.min, maxEventMs: g.max });
      }
    }
    await this.deps.state.recordRawObjects(manifest);
    if (superseded.length) {
      await this.deps.store.delete(superseded);
      await this.deps.state.forgetRawObjects(superseded);
      this.deps.logger.info({ superseded }, 'replaced objects of an uncommitted batch');
    }
    this.firstBatchSeen.add(`${batch.output}:${batch.partition}`);
  }
}

interface Group {
  prefix: string;
  tenantId: string;
  propertyId: string;
  /** The start of the group's UTC hour of receipt. */
  at: number;
  lines: Buffer[];
  bytes: number;
  first: number;
  last: number;
  min: number;
  max: number;
}

/** The group's records as one NDJSON buffer, each record's bytes copied through once. */
function ndjson(g: Group): Buffer {
  const out = Buffer.allocUnsafe(g.bytes);
  let at = 0;
  for (const line of g.lines) {
    at += line.copy(out, at);
    out[at++] = 0x0a;
  }
  return out;
}

/** Runs `fn` over `items`, at most `limit` at a time; rejects with the first failure once all have settled. */
async function eachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const results = await Promise.allSettled(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
}

const YIELD_EVERY = 500;
const HOUR_MS = 3_600_000;
/** The largest |epoch ms| a Date holds. */
const MAX_DATE_MS = 8.64e15;
/** Objects written (and gzipped) at once per batch. */
const PUT_CONCURRENCY = 8;
/**
 * gzip level 1 of the same bytes: ~40 % less CPU than the default 6 for ~30 % more bytes (measured
 * in jobs/README.md); a fixed level keeps re-archived objects byte-identical.
 */
const GZIP: zlib.ZlibOptions = { level: 1 };

/** The routing fields read without parsing the record, or its whole parse when the scan cannot say. */
function routeFieldsOf(value: Buffer, withClientTs: boolean): RouteFields | null {
  const fast = readRouteFields(value, withClientTs);
  if (fast) return fast;
  try {
    const v: unknown = JSON.parse(value.toString('utf8'));
    return v !== null && typeof v === 'object' ? (v as RouteFields) : null;
  } catch {
    return null;
  }
}

/** Ids become key segments: only plain characters, so no record can steer an object key. */
function safeSegment(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  const s = String(v);
  return /^[A-Za-z0-9_-]{1,64}$/.test(s) ? s : null;
}

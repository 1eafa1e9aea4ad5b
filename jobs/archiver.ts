import zlib from 'node:zlib';
import { promisify } from 'node:util';
import type { EventLog, LogBatch, LogConsumer, LogOutput } from '../src/infra/event-log/event-log.port.js';
import type { ObjectStore } from '../src/infra/object-store/object-store.port.js';
import type { Logger } from '../src/infra/logger.js';
import type { PipelineStateRepository, RawObjectEntry } from './pipeline-state.repository.js';
import { rawHourPrefix, rawObjectKey, type RawZone } from '../src/domain/transformed-schema.js';

const gzip = promisify(zlib.gzip);

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
    const groups = new Map<
      string,
      {
        zone: RawZone;
        at: number;
        prefix: string;
        tenantId: string;
        propertyId: string;
        lines: Buffer[];
        first: number;
        last: number;
        min: number;
        max: number;
      }
    >();
    for (let i = 0; i < batch.records.length; i++) {
      // a batch is up to 20k records parsed on the collector's thread in `tally serve`: let
      // requests in between chunks instead of stalling them for hundreds of ms
      if (i > 0 && i % YIELD_EVERY === 0) await new Promise((r) => setImmediate(r));
      const rec = batch.records[i];
      const ev = parseRecord(rec.value);
      const receivedAt = Number(ev?.received_at ?? rec.timestamp);
      const d = new Date(Number.isFinite(receivedAt) ? receivedAt : rec.timestamp);
      const tenant = safeSegment(ev?.tenant_id) ?? 'unknown';
      const property = safeSegment(ev?.property_id) ?? 'unknown';
      const zone = batch.output === 'raw-events' ? 'raw' : 'deadletter';
      const prefix = rawHourPrefix({ zone, tenantId: tenant, propertyId: property, at: d.getTime() });
      const eventMs = Number(ev?.client_ts ?? receivedAt);
      let g = groups.get(prefix);
      if (!g) {
        g = {
          zone,
          at: d.getTime(),
          prefix,
          tenantId: tenant,
          propertyId: property,
          lines: [],
          first: rec.offset,
          last: rec.offset,
          min: eventMs,
          max: eventMs,
        };
        groups.set(prefix, g);
      }
      g.lines.push(rec.value);
      g.last = rec.offset;
      g.min = Math.min(g.min, eventMs);
      g.max = Math.max(g.max, eventMs);
    }

    const manifest: RawObjectEntry[] = [];
    const superseded: string[] = [];
    const firstAfterStart = !this.firstBatchSeen.has(`${batch.output}:${batch.partition}`);
    for (const g of groups.values()) {
      const key = rawObjectKey({ ...g, partition: batch.partition });
      const body = await gzip(Buffer.concat(g.lines.flatMap((l) => [l, NEWLINE])));
      await this.deps.store.put(key, body);
      if (firstAfterStart) {
        // a crash between writing objects and committing leaves objects for a shorter batch with the same first offset
        for (const o of await this.deps.store.list(`${g.prefix}${batch.partition}-${g.first}-`)) if (o.key !== key) superseded.push(o.key);
      }
      if (batch.output === 'raw-events' && g.propertyId !== 'unknown') {
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

const NEWLINE = Buffer.from('\n');
const YIELD_EVERY = 500;

function parseRecord(value: Buffer): Record<string, unknown> | null {
  try {
    return JSON.parse(value.toString('utf8'));
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

import { gzipSync } from 'node:zlib';
import { generateTraffic, type TrafficOptions } from '../../demo/traffic-generator.js';
import type { RawEvent } from '../../domain/raw-event.js';
import { toRawEvent, type TenantContext } from '../../ingest/edge.js';
import { geoipLite, type GeoLookup } from '../../ingest/geo.js';
import { parseNative } from '../../ingest/protocols/native.parser.js';
import type { ObjectStore } from '../object-store/object-store.port.js';
import { rawHourPrefix, rawObjectName } from '../../domain/transformed-schema.js';

/**
 * Raw-zone fixtures for transform tests and benchmarks: events written as the collector and the
 * archiver would write them (gzip NDJSON objects per receipt hour, offsets in the name), without
 * running either.
 */

/** Writes RawEvents as objects of at most `perObject` records per (receipt hour) under `partition`. */
export class RawZoneWriter {
  private batch: RawEvent[] = [];
  private prefix = '';
  private offset = 0;
  written = 0;

  constructor(
    private readonly store: ObjectStore,
    private readonly partition = 0,
    private readonly perObject = 50_000,
  ) {}

  async add(e: RawEvent): Promise<void> {
    const prefix = rawHourPrefix({ tenantId: e.tenant_id, propertyId: e.property_id, at: e.received_at });
    if (prefix !== this.prefix || this.batch.length >= this.perObject) await this.flush();
    this.prefix = prefix;
    this.batch.push(e);
  }

  async flush(): Promise<void> {
    if (this.batch.length === 0) return;
    const first = this.offset;
    this.offset += this.batch.length;
    const body = gzipSync(this.batch.map((e) => JSON.stringify(e)).join('\n') + '\n', { level: 1 });
    await this.store.put(this.prefix + rawObjectName(this.partition, first, this.offset - 1), body);
    this.written += this.batch.length;
    this.batch = [];
  }
}

/**
 * The demo generator's traffic (bots, duplicates, late sessions, client session ids) as the
 * native endpoint would have turned it into raw events, each received at its send time.
 */
export function* generatedRawEvents(tenant: TenantContext, traffic: TrafficOptions, geo: GeoLookup = geoipLite()): Generator<RawEvent> {
  for (const item of generateTraffic(traffic)) {
    const { user_agent: ua, ip, ...rest } = item.event;
    const parsed = parseNative({ events: [{ ...rest, user_agent: ua, ip }] }, { receivedAt: item.sendAt });
    for (const p of parsed.events) yield toRawEvent(p, tenant, { receivedAt: item.sendAt, userAgent: ua ?? null, ip: ip ?? null }, geo);
  }
}

/** `generatedRawEvents` written to the raw zone as the archiver would have written them. */
export async function writeGeneratedTraffic(
  store: ObjectStore,
  tenant: TenantContext,
  traffic: TrafficOptions,
  partition = 0,
  geo: GeoLookup = geoipLite(),
): Promise<number> {
  const writer = new RawZoneWriter(store, partition);
  for (const e of generatedRawEvents(tenant, traffic, geo)) await writer.add(e);
  await writer.flush();
  return writer.written;
}

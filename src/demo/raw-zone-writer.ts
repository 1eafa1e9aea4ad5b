import zlib from 'node:zlib';
import { promisify } from 'node:util';
import type { ObjectStore } from '../infra/object-store/object-store.port.js';
import { parseNative } from '../ingest/protocols/native.parser.js';
import { toRawEvent } from '../ingest/edge.js';
import { geoipLite, type GeoLookup } from '../ingest/geo.js';
import type { TrafficItem } from './traffic-generator.js';

const gzip = promisify(zlib.gzip);

/**
 * Writes generated traffic straight into the raw zone, exactly as the collector + archiver would
 * lay it out (each event received at its `sendAt`), for benchmarks and engine tests that need
 * millions of events without pushing them through HTTP.
 */
export async function writeRawZone(
  store: ObjectStore,
  traffic: Iterable<TrafficItem>,
  tenant: { tenantId: string; propertyId: string },
  opts: { objectRecords?: number; geo?: GeoLookup; onProgress?: (events: number) => void } = {},
): Promise<{ events: number; objects: number; minEventMs: number; maxEventMs: number }> {
  const geo = opts.geo ?? geoipLite();
  const perObject = opts.objectRecords ?? 50_000;
  const open = new Map<string, { lines: string[]; first: number }>();
  let offset = 0;
  let objects = 0;
  let min = Infinity;
  let max = -Infinity;
  const flush = async (prefix: string, g: { lines: string[]; first: number }) => {
    await store.put(`${prefix}0-${g.first}-${g.first + g.lines.length - 1}.ndjson.gz`, await gzip(g.lines.join('\n') + '\n'));
    objects++;
  };
  for (const item of traffic) {
    const receivedAt = item.sendAt;
    const { events } = parseNative({ events: [item.event] }, { receivedAt });
    if (!events.length) continue;
    const raw = toRawEvent(events[0], tenant, { receivedAt, userAgent: null, ip: null }, geo);
    const iso = new Date(receivedAt).toISOString();
    const prefix = `raw/tenant=${tenant.tenantId}/property=${tenant.propertyId}/dt=${iso.slice(0, 10)}/hr=${iso.slice(11, 13)}/`;
    let g = open.get(prefix);
    if (!g) open.set(prefix, (g = { lines: [], first: offset }));
    g.lines.push(JSON.stringify(raw));
    offset++;
    const t = raw.client_ts ?? receivedAt;
    if (t < min) min = t;
    if (t > max) max = t;
    if (g.lines.length >= perObject) {
      await flush(prefix, g);
      open.delete(prefix);
    }
    if (offset % 100_000 === 0) opts.onProgress?.(offset);
  }
  for (const [prefix, g] of open) await flush(prefix, g);
  return { events: offset, objects, minEventMs: min, maxEventMs: max };
}

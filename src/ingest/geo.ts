import { createRequire } from 'node:module';

export interface GeoResult {
  country: string | null;
  region: string | null;
  city: string | null;
}

export interface GeoLookup {
  /** `prefix`: the IP's truncation (`truncateIp`), which lets a lookup be shared by the prefix. */
  lookup(ip: string, prefix?: string | null): GeoResult;
}

/** Entries each geo cache keeps (least recently used dropped first). */
const CACHE_ENTRIES = 50_000;

/**
 * Geo from the full IP with geoip-lite's bundled GeoLite2 data (loaded once, ~1 s, in memory).
 * Region is ISO 3166-2 ("US-CA"), as GA4 MP's user_location.region_id is.
 *
 * Cached (bounded LRU) per truncated prefix when the data's range holding the IP covers that whole
 * IPv4 /24, so every address of the prefix has the same answer by construction; else per IP (an
 * IPv6 address, a range narrower than a /24, an address in no range). Visitors of one network and
 * a request's events share one lookup.
 */
export function geoipLite(): GeoLookup {
  const require = createRequire(import.meta.url);
  const geoip = require('geoip-lite') as typeof import('geoip-lite');
  const byPrefix = new LruMap<GeoResult>(CACHE_ENTRIES);
  const byIp = new LruMap<GeoResult>(CACHE_ENTRIES);
  return {
    lookup(ip: string, prefix?: string | null): GeoResult {
      let g = (prefix && byPrefix.get(prefix)) || byIp.get(ip);
      if (g) return g;
      const r = geoip.lookup(ip);
      g =
        !r || !r.country
          ? { country: null, region: null, city: null }
          : { country: r.country, region: r.region ? `${r.country}-${r.region}` : null, city: r.city || null };
      if (prefix && r && coversIpv4Prefix(r.range, prefix)) byPrefix.set(prefix, g);
      else byIp.set(ip, g);
      return g;
    },
  };
}

/** Whether geoip-lite's `[start, end]` (IPv4 as integers; '' for IPv6) holds every address of `a.b.c.0/24`. */
function coversIpv4Prefix(range: unknown, prefix: string): boolean {
  if (!Array.isArray(range) || range.length !== 2) return false;
  const p = prefix.split('.');
  if (p.length !== 4) return false;
  const first = ((Number(p[0]) << 24) >>> 0) + (Number(p[1]) << 16) + (Number(p[2]) << 8);
  return Number(range[0]) <= first && Number(range[1]) >= first + 255;
}

/**
 * A cache bounded to `max` entries that forgets the least recently used ones in halves: hits land
 * in the current generation; when it is full it becomes the previous one, and the one before is
 * dropped. A hit costs one Map lookup (a strict LRU's delete-and-reinsert cost more than the
 * geo lookup it saved under load).
 */
export class LruMap<V> {
  private current = new Map<string, V>();
  private previous = new Map<string, V>();
  constructor(private readonly max: number) {}

  get(key: string): V | undefined {
    const v = this.current.get(key);
    if (v !== undefined) return v;
    const old = this.previous.get(key);
    if (old !== undefined) this.set(key, old);
    return old;
  }

  set(key: string, value: V): void {
    if (this.current.size >= Math.max(1, this.max >> 1)) {
      this.previous = this.current;
      this.current = new Map();
    }
    this.current.set(key, value);
  }

  get size(): number {
    return this.current.size + this.previous.size;
  }
}

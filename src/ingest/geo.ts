import { createRequire } from 'node:module';

export interface GeoResult {
  country: string | null;
  region: string | null;
  city: string | null;
}

export interface GeoLookup {
  lookup(ip: string): GeoResult;
}

/**
 * Geo from the full IP with geoip-lite's bundled GeoLite2 data (loaded once, ~1 s, in memory).
 * Region is ISO 3166-2 ("US-CA"), as GA4 MP's user_location.region_id is.
 */
export function geoipLite(): GeoLookup {
  const require = createRequire(import.meta.url);
  const geoip = require('geoip-lite') as typeof import('geoip-lite');
  // a request's events share one IP and visitors come back: a bounded cache saves most lookups
  const cache = new Map<string, GeoResult>();
  return {
    lookup(ip: string): GeoResult {
      let g = cache.get(ip);
      if (g) return g;
      const r = geoip.lookup(ip);
      g =
        !r || !r.country
          ? { country: null, region: null, city: null }
          : { country: r.country, region: r.region ? `${r.country}-${r.region}` : null, city: r.city || null };
      if (cache.size >= 50_000) cache.delete(cache.keys().next().value!);
      cache.set(ip, g);
      return g;
    },
  };
}

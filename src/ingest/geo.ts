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
  return {
    lookup(ip: string): GeoResult {
      const r = geoip.lookup(ip);
      if (!r || !r.country) return { country: null, region: null, city: null };
      return { country: r.country, region: r.region ? `${r.country}-${r.region}` : null, city: r.city || null };
    },
  };
}

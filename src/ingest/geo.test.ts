import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { geoipLite, LruMap } from './geo.js';
import { truncateIp } from './ip.js';

const geoip = createRequire(import.meta.url)('geoip-lite') as typeof import('geoip-lite');

describe('geoipLite', () => {
  it('answers what geoip-lite answers for the full IP, cached by prefix or not', () => {
    const geo = geoipLite();
    // neighbours in one /24, addresses in ranges narrower than a /24, IPv6, and one in no range
    const ips = ['81.2.69.160', '81.2.69.1', '81.2.69.255', '8.8.8.8', '8.8.8.9', '1.1.1.1', '2001:4860:4860::8888', '10.0.0.1', '203.0.113.7'];
    for (const ip of ips) {
      const r = geoip.lookup(ip);
      const expected =
        !r || !r.country
          ? { country: null, region: null, city: null }
          : { country: r.country, region: r.region ? `${r.country}-${r.region}` : null, city: r.city || null };
      expect(geo.lookup(ip, truncateIp(ip))).toEqual(expected);
      expect(geo.lookup(ip, truncateIp(ip))).toEqual(expected); // from the cache
      expect(geo.lookup(ip)).toEqual(expected);
    }
  });

  it('never answers a cached prefix for an IP of that prefix the data places elsewhere', () => {
    const geo = geoipLite();
    // a /24 split between several ranges: each address must keep its own answer
    let split: string | null = null;
    for (let a = 1; a < 224 && !split; a += 7) {
      for (let b = 0; b < 256 && !split; b += 37) {
        const first = geoip.lookup(`${a}.${b}.1.1`);
        const last = geoip.lookup(`${a}.${b}.1.254`);
        if (first && last && (first.city !== last.city || first.country !== last.country)) split = `${a}.${b}.1`;
      }
    }
    expect(split).not.toBeNull();
    for (const host of [1, 254, 1, 128, 254]) {
      const ip = `${split}.${host}`;
      const r = geoip.lookup(ip)!;
      expect(geo.lookup(ip, truncateIp(ip)).city).toBe(r.city || null);
      expect(geo.lookup(ip, truncateIp(ip)).country).toBe(r.country || null);
    }
  });
});

describe('LruMap', () => {
  it('holds at most its bound and keeps what was used recently', () => {
    const m = new LruMap<number>(4);
    for (let i = 0; i < 100; i++) {
      m.set(`k${i}`, i);
      expect(m.get('k0')).toBe(0); // used on every round: never forgotten
      if (i > 0) m.set('k0', 0);
      expect(m.size).toBeLessThanOrEqual(4);
    }
    expect(m.get('k50')).toBeUndefined();
    expect(m.get('k99')).toBe(99);
  });
});

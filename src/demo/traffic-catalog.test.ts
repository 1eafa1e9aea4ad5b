import geoip from 'geoip-lite';
import { isbot } from 'isbot';
import { UAParser } from 'ua-parser-js';
import { describe, expect, it } from 'vitest';
import { BOTS, COUNTRIES, DEVICES, TRAFFIC_SOURCES } from './traffic-catalog.js';
import { createContext, humanVisitor } from './traffic-model.js';

describe('traffic catalog', () => {
  it('maps every host of every IPv4 block to its country in geoip-lite', () => {
    for (const c of COUNTRIES) {
      for (const prefix of c.ipv4) {
        for (let host = 1; host <= 254; host++) {
          expect(geoip.lookup(`${prefix}.${host}`)?.country, `${prefix}.${host}`).toBe(c.code);
        }
      }
    }
  });

  it('gives generated visitors IPs (v4 and v6) that geoip-lite places in the visitor country', () => {
    const ctx = createContext({ seed: 11, startDate: '2024-05-01', days: 2, timeZone: 'UTC', visitorsPerDay: 2000 });
    const seen = new Set<string>();
    let v6 = 0;
    for (let v = 0; v < 3000; v++) {
      const visitor = humanVisitor(ctx, v);
      expect(geoip.lookup(visitor.ip)?.country, visitor.ip).toBe(visitor.country);
      seen.add(visitor.country);
      if (visitor.ip.includes(':')) v6++;
    }
    expect(seen.size).toBe(COUNTRIES.length);
    expect(v6).toBeGreaterThan(100);
  });

  it('uses real user agents that ua-parser-js puts in the intended device category and browser', () => {
    for (const d of DEVICES) {
      for (const b of d.browsers) {
        const r = new UAParser(b.ua).getResult();
        expect(r.device.type ?? 'desktop', b.ua).toBe(d.category);
        expect(r.browser.name, b.ua).toBe(b.browser);
        expect(isbot(b.ua), b.ua).toBe(false);
      }
    }
  });

  it('uses bot user agents that isbot recognises', () => {
    for (const b of BOTS) expect(isbot(b.ua), b.ua).toBe(true);
  });

  it('states UTM attribution that matches the campaign query it sends', () => {
    for (const s of TRAFFIC_SOURCES.filter((x) => x.campaignQuery)) {
      const q = new URLSearchParams(s.campaignQuery);
      expect([q.get('utm_source'), q.get('utm_medium'), q.get('utm_campaign')]).toEqual([s.source, s.medium, s.campaign]);
    }
    expect(new Set(TRAFFIC_SOURCES.map((s) => s.channelGroup))).toEqual(
      new Set(['Direct', 'Organic Search', 'Organic Social', 'Email', 'Paid Search', 'Referral']),
    );
  });
});

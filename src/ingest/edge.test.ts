import { describe, expect, it } from 'vitest';
import type { InternalTrafficSettings } from '../domain/rules/internal-traffic.js';
import { toRawEvent } from './edge.js';
import { blankEvent } from './parsed-event.js';
import type { GeoLookup } from './geo.js';

const geo: GeoLookup = { lookup: () => ({ country: null, region: null, city: null }) } as unknown as GeoLookup;
const internalTraffic: InternalTrafficSettings = {
  filter: 'active',
  rules: [
    { name: 'office host', trafficType: 'internal', cidrs: ['203.0.113.7/32', '2001:db8:1:2::5/128'] },
    { name: 'agency', trafficType: 'agency', cidrs: ['192.0.2.128/25'] },
  ],
};
const tenant = { tenantId: 'org', propertyId: '1', internalTraffic };
const at = (ip: string) => toRawEvent(blankEvent('native', 'page_view'), tenant, { receivedAt: 1, userAgent: 'Mozilla/5.0', ip }, geo);

describe('internal traffic at the edge', () => {
  it('is matched on the full IP before truncation; the record keeps the type and only the truncated IP', () => {
    const host = at('203.0.113.7');
    expect(host.traffic_type).toBe('internal');
    expect(host.ip_trunc).toBe('203.0.113.0');
    expect(JSON.stringify(host)).not.toContain('203.0.113.7');
    // its /24 neighbour has the same truncated IP but is not the office host
    const neighbour = at('203.0.113.8');
    expect(neighbour.ip_trunc).toBe('203.0.113.0');
    expect('traffic_type' in neighbour).toBe(false);
    const v6 = at('2001:db8:1:2::5');
    expect(v6.traffic_type).toBe('internal');
    expect(v6.ip_trunc).toBe('2001:db8:1::');
    expect(JSON.stringify(v6)).not.toMatch(/2001:db8:1:2/);
    expect(at('192.0.2.200').traffic_type).toBe('agency');
    // the payload's IP (a server-side SDK forwarding the visitor's) is the one matched
    const forwarded = toRawEvent({ ...blankEvent('native', 'x'), ip: '203.0.113.7' }, tenant, { receivedAt: 1, userAgent: 'node', ip: '10.0.0.1' }, geo);
    expect(forwarded.traffic_type).toBe('internal');
  });

  it('stamps nothing without rules', () => {
    const e = toRawEvent(blankEvent('native', 'page_view'), { tenantId: 'org', propertyId: '1' }, { receivedAt: 1, userAgent: null, ip: '203.0.113.7' }, geo);
    expect('traffic_type' in e).toBe(false);
  });
});

import { describe, expect, it } from 'vitest';
import { normalizeIp, truncateIp } from './ip.js';

describe('IP truncation', () => {
  it('keeps the /24 of IPv4', () => {
    expect(truncateIp('203.0.113.77')).toBe('203.0.113.0');
  });
  it('keeps the /48 of IPv6, compressed or not', () => {
    expect(truncateIp('2001:db8:abcd:12:34::1')).toBe('2001:db8:abcd::');
    expect(truncateIp('2001:0db8:0000:0000:0000:0000:0000:0001')).toBe('2001:db8:0::');
    expect(truncateIp('::1')).toBe('0:0:0::');
    expect(truncateIp('2001:db8::')).toBe('2001:db8:0::');
  });
  it('normalises mapped and bracketed forms and refuses garbage', () => {
    expect(normalizeIp('::ffff:198.51.100.7')).toBe('198.51.100.7');
    expect(normalizeIp('[2001:db8::1]')).toBe('2001:db8::1');
    expect(normalizeIp('not-an-ip')).toBeNull();
    expect(normalizeIp('')).toBeNull();
    expect(truncateIp('nope')).toBeNull();
  });
});

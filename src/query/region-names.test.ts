import { describe, expect, it } from 'vitest';
import { REGION_NAMES } from './region-names.js';

describe('region names', () => {
  it('names ISO 3166-2 codes as GA4 writes them: plain English letters, no bracketed other name', () => {
    expect(['US-CA', 'GB-ENG', 'IN-TN', 'IN-PY'].map((c) => REGION_NAMES.get(c))).toEqual(['California', 'England', 'Tamil Nadu', 'Puducherry']);
  });

  it('names the former codes geo databases still give (geoip-lite: IN-TG for Telangana, now IN-TS)', () => {
    expect(REGION_NAMES.get('IN-TG')).toBe('Telangana');
    expect(REGION_NAMES.get('IN-TG')).toBe(REGION_NAMES.get('IN-TS'));
  });
});

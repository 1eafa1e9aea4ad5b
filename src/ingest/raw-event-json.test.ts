import { describe, expect, it } from 'vitest';
import type { RawEvent } from '../domain/raw-event.js';
import { RawEventJson, WRITTEN_FIELDS } from './raw-event-json.js';

const base: RawEvent = {
  event_id: '0190a7c4-1c2b-7d3e-8f00-123456789abc',
  tenant_id: 'tenant-a',
  property_id: '12',
  protocol: 'ga4mp',
  received_at: 1_765_000_000_000,
  client_ts: 1_764_999_999_123.5,
  name: 'page_view',
  client_id: '123.456',
  user_id: null,
  session_id: '1700000000',
  url: 'https://shop.example.com/p?q="quoted"\\back',
  referrer: null,
  title: 'Émile – ünïcode \u2028 \ud83d\ude00 \u0007',
  ua: 'Mozilla/5.0',
  ua_source: 'payload',
  ip_trunc: '81.2.69.0',
  ip_source: 'payload',
  country: 'GB',
  region: 'GB-ENG',
  city: 'London',
  language: 'en-gb',
  screen: '1920x1080',
  consent: { ad_user_data: 'GRANTED' },
  params: { n: 1, f: 1.5, b: true, nul: null, arr: [1, 'two', { three: [3] }], nested: { deep: { deeper: 'x' } } },
  user_props: { plan: 'pro' },
};

describe('RawEventJson', () => {
  it("writes exactly JSON.stringify's text, through changes of the shared tenant and visitor parts", () => {
    const w = new RawEventJson();
    const events: RawEvent[] = [
      base,
      { ...base, event_id: 'e2', name: 'scroll', params: {} },
      { ...base, event_id: 'e3', over_quota: true },
      // internal traffic: stamped by the edge after the record is built, before over_quota
      { ...base, event_id: 'e3b', traffic_type: 'internal' },
      Object.assign({ ...base, event_id: 'e3c', traffic_type: 'agency "quoted"' }, { over_quota: true as const }),
      { ...base, tenant_id: 'tenant-b', property_id: '13', received_at: base.received_at + 1 },
      { ...base, protocol: 'gtag', ua: null, ua_source: 'none', ip_trunc: null, ip_source: 'none', country: null, region: null, city: null },
      { ...base, city: 'St Albans' },
      { ...base, client_ts: null, consent: null, screen: null, language: null, user_props: {} },
    ];
    for (const e of events) expect(w.write(e)).toBe(JSON.stringify(e));
  });

  it('writes every field RawEvent has, in the order JSON.stringify of an enriched event would', () => {
    const full = { ...base, traffic_type: 'internal', over_quota: true as const };
    expect(Object.keys(JSON.parse(new RawEventJson().write(full)))).toEqual(Object.keys(WRITTEN_FIELDS));
  });

  it('throws the RangeError JSON.stringify throws for params nested too deeply, so the request is refused whole', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 200_000; i++) deep = [deep];
    expect(() => new RawEventJson().write({ ...base, params: { deep: deep as never } })).toThrow(RangeError);
  });
});

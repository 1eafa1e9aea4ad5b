import { describe, expect, it } from 'vitest';
import { readRouteFields } from './raw-record-route.js';
import { RawEventJson } from '../src/ingest/raw-event-json.js';
import { generatedRawEvents } from '../src/infra/transform/raw-zone.testkit.js';

const pick = (v: Record<string, unknown>, withClientTs = true): Record<string, unknown> => {
  const out: Record<string, unknown> = {};
  for (const k of ['tenant_id', 'property_id', 'received_at', ...(withClientTs ? ['client_ts'] : [])]) if (k in v) out[k] = v[k];
  return out;
};

describe('readRouteFields: the archiver routes a record without parsing it whole', () => {
  it("reads the collector's records exactly as JSON.parse does", () => {
    const json = new RawEventJson();
    let n = 0;
    for (const e of generatedRawEvents(
      { tenantId: 't1', propertyId: '400000001' },
      { seed: 5, startDate: '2026-03-02', days: 1, timeZone: 'UTC', visitorsPerDay: 40 },
    )) {
      const buf = Buffer.from(json.write(e));
      const fast = readRouteFields(buf, true);
      expect(fast, buf.toString()).not.toBeNull();
      expect(fast).toEqual(pick(JSON.parse(buf.toString())));
      n++;
    }
    expect(n).toBeGreaterThan(100);
  });

  it("never takes a nested params.tenant_id (or one inside a string) for the record's own", () => {
    const rec = {
      event_id: 'e"tenant_id":"victim",',
      params: { tenant_id: 'victim', nested: [{ property_id: 'p2' }, '}', ']'], s: '\\"tenant_id\\":' },
      consent: null,
      tenant_id: 'mine',
      property_id: '42',
      received_at: 1_772_409_629_749,
      client_ts: null,
    };
    const buf = Buffer.from(JSON.stringify(rec));
    expect(readRouteFields(buf, true)).toEqual({ tenant_id: 'mine', property_id: '42', received_at: 1_772_409_629_749, client_ts: null });
  });

  it('reads a dead letter (no client_ts) without reading its payload', () => {
    const dl = { tenant_id: 't9', property_id: null, protocol: 'ga4mp', received_at: 5, reason: 'bad', detail: 'x', payload: { a: [1, 2, { b: '}' }] } };
    expect(readRouteFields(Buffer.from(JSON.stringify(dl)), false)).toEqual({ tenant_id: 't9', property_id: null, received_at: 5 });
  });

  it.each([
    ['an escape in a wanted string', '{"tenant_id":"a\\u0062","property_id":"1","received_at":1,"client_ts":1}'],
    ['an escape in a key', '{"tenant\\u005fid":"a","property_id":"1","received_at":1,"client_ts":1}'],
    ['a wanted field holding an object', '{"tenant_id":{"x":1},"property_id":"1","received_at":1,"client_ts":1}'],
    ['a raw newline (two records in one)', '{"tenant_id":"a","property_id":"1","received_at":1,"client_ts":1}\n{"tenant_id":"b"}'],
    ['a record that does not end with }', '{"tenant_id":"a","property_id":"1","received_at":1,"client_ts":1'],
    ['a malformed number', '{"tenant_id":"a","property_id":"1","received_at":1x2,"client_ts":1}'],
    ['not an object', '["tenant_id","a"]'],
  ])('says "parse it whole" for %s', (_, text) => {
    expect(readRouteFields(Buffer.from(text), true)).toBeNull();
  });

  it('reads numbers, literals and spacing as JSON.parse does', () => {
    for (const text of [
      '{ "tenant_id" : "a" , "property_id":7 ,"received_at": 1.5e3, "client_ts": -12 }',
      '{"tenant_id":true,"property_id":"p","received_at":0,"client_ts":1772409629749}',
      '{"a":{},"b":[],"tenant_id":"é","property_id":"p","received_at":null}',
      '{}',
    ]) {
      expect(readRouteFields(Buffer.from(text), true), text).toEqual(pick(JSON.parse(text)));
    }
  });
});

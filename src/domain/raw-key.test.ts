import { describe, expect, it } from 'vitest';
import { parseRawKey, rawDayPrefix, rawHourPrefix, rawObjectKey, rewrittenRawKey } from './transformed-schema.js';

describe('raw-zone keys', () => {
  const at = Date.parse('2024-03-01T23:59:59.999Z');

  it('names an archived batch by zone, tenant, property, UTC hour of receipt and log offsets', () => {
    expect(rawObjectKey({ tenantId: 't1', propertyId: '42', at, partition: 3, first: 10, last: 19 })).toBe(
      'raw/tenant=t1/property=42/dt=2024-03-01/hr=23/3-10-19.ndjson.gz',
    );
    expect(rawHourPrefix({ zone: 'deadletter', tenantId: 'unknown', propertyId: 'unknown', at })).toBe(
      'deadletter/tenant=unknown/property=unknown/dt=2024-03-01/hr=23/',
    );
    expect(
      rawObjectKey({ tenantId: 't1', propertyId: '42', at, partition: 0, first: 0, last: 0 }).startsWith(
        rawDayPrefix({ tenantId: 't1', propertyId: '42' }, '2024-03-01'),
      ),
    ).toBe(true);
  });

  it('parses what it names, and nothing else', () => {
    expect(parseRawKey(rawObjectKey({ tenantId: 't1', propertyId: '42', at, partition: 3, first: 10, last: 19 }))).toEqual({
      zone: 'raw',
      tenantId: 't1',
      propertyId: '42',
      date: '2024-03-01',
      hourStartMs: Date.parse('2024-03-01T23:00:00Z'),
      name: '3-10-19.ndjson.gz',
    });
    expect(parseRawKey('raw/tenant=t/property=p/dt=2024-03-01/hr=05/x.ndjson.zst')?.hourStartMs).toBe(Date.parse('2024-03-01T05:00:00Z'));
    for (const key of [
      'raw/tenant=t/property=p/other',
      'transformed/events/tenant=t/property=p/dt=2024-03-01/part-0.parquet',
      'raw/tenant=t/property=p/dt=2024-03-01/hr=05/x.parquet',
      'raw/tenant=t/property=p/dt=2024-13-45/hr=99/x.ndjson',
    ]) {
      expect(parseRawKey(key), key).toBeNull();
    }
  });
});

describe('raw-zone rewrite keys', () => {
  it('keeps the folder and offsets, replaces an earlier tag, and stays a raw key', () => {
    const k = 'raw/tenant=t1/property=42/dt=2024-03-01/hr=23/3-10-19.ndjson.gz';
    const r1 = rewrittenRawKey(k, 'del-a1');
    expect(r1).toBe('raw/tenant=t1/property=42/dt=2024-03-01/hr=23/3-10-19.del-a1.ndjson.gz');
    expect(rewrittenRawKey(r1, 'del-b2')).toBe('raw/tenant=t1/property=42/dt=2024-03-01/hr=23/3-10-19.del-b2.ndjson.gz');
    expect(parseRawKey(r1)).toMatchObject({ zone: 'raw', tenantId: 't1', propertyId: '42', date: '2024-03-01', name: '3-10-19.del-a1.ndjson.gz' });
    expect(() => rewrittenRawKey(k, '../x')).toThrow();
  });
});

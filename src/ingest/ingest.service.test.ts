import { describe, expect, it } from 'vitest';
import { MemoryCounters } from '../infra/counters/memory.counters.js';
import type { EventLog, LogOutput, LogRecordIn } from '../infra/event-log/event-log.port.js';
import { isTallyError } from '../infra/errors.js';
import { parseNative } from './protocols/native.parser.js';
import type { PropertyRow } from '../tenancy/tenant.repository.js';
import { DEFAULT_PROPERTY_SETTINGS } from '../domain/property-settings.js';
import { IngestService } from './ingest.service.js';

const property: PropertyRow = {
  ...DEFAULT_PROPERTY_SETTINGS,
  keyEvents: [...DEFAULT_PROPERTY_SETTINGS.keyEvents],
  tenantId: 'org-1',
  propertyId: '400000001',
  measurementId: 'G-TEST',
  siteId: 'site-test',
  domain: 'example.test',
  allowedHostnames: [],
  planId: 'free',
  monthlyEventQuota: 10,
  rateLimitPerSecond: 1_000,
  rateBurst: 10_000,
};

describe('IngestService.admit', () => {
  it('counts the monthly quota under the UTC month of each request, across a month boundary', async () => {
    const counters = new MemoryCounters(() => Date.UTC(2026, 0, 15));
    const ingest = new IngestService({ log: {} as EventLog, counters, geo: { lookup: () => ({ country: null, region: null, city: null }) } });
    const lastMsOfJanuary = Date.UTC(2026, 1, 1) - 1;
    await ingest.admit(property, 4, lastMsOfJanuary);
    await ingest.admit(property, 3, Date.UTC(2026, 1, 1));
    await ingest.admit(property, 2, lastMsOfJanuary);
    const january = { start: Date.UTC(2026, 0, 1), end: Date.UTC(2026, 1, 1) };
    expect(await counters.peek('quota:org-1:2026-01', january)).toBe(6);
    expect(await counters.peek('quota:org-1:2026-02', { start: Date.UTC(2026, 1, 1), end: Date.UTC(2026, 2, 1) })).toBe(3);
    // past the quota (10) the events are admitted, the ones over it counted; past the hard cap (2x) refused
    expect(await ingest.admit(property, 5, lastMsOfJanuary)).toEqual({ overQuota: 1 });
    await expect(ingest.admit(property, 10, lastMsOfJanuary)).rejects.toMatchObject({ code: 'quota_exceeded', details: { retryAfterMs: 1 } });
  });

  it('counts one calendar month as one, across where a fixed 31-day window would roll (2026-12-14), and starts again on the 1st', async () => {
    let now = Date.UTC(2026, 11, 2);
    const counters = new MemoryCounters(() => now);
    const ingest = new IngestService({ log: {} as EventLog, counters, geo: { lookup: () => ({ country: null, region: null, city: null }) } });
    expect(await ingest.admit(property, 12, now)).toEqual({ overQuota: 2 });
    now = Date.UTC(2026, 11, 20); // past 2026-12-14, where the epoch-aligned 31-day window restarted the count
    expect(await ingest.admit(property, 3, now)).toEqual({ overQuota: 3 });
    await expect(ingest.admit(property, 6, now)).rejects.toMatchObject({ code: 'quota_exceeded', details: { retryAfterMs: Date.UTC(2027, 0, 1) - now } });
    now = Date.UTC(2027, 0, 1); // a new calendar month: the count starts again
    expect(await ingest.admit(property, 6, now)).toEqual({ overQuota: 0 });
  });

  it('never loses data below the hard cap: over-quota events admitted; 80 %, 100 % and the cap reported once each', async () => {
    const now = Date.UTC(2026, 11, 6, 12);
    const counters = new MemoryCounters(() => now);
    const crossed: unknown[] = [];
    const ingest = new IngestService({
      log: {} as EventLog,
      counters,
      geo: { lookup: () => ({ country: null, region: null, city: null }) },
      quota: { crossed: (c) => void crossed.push([c.threshold, c.used]) },
    });
    const small = { ...property, monthlyEventQuota: 100, quotaHardCap: 150 };
    expect(await ingest.admit(small, 70, now)).toEqual({ overQuota: 0 });
    expect(await ingest.admit(small, 20, now)).toEqual({ overQuota: 0 }); // 90: crosses 80 %
    expect(await ingest.admit(small, 20, now)).toEqual({ overQuota: 10 }); // 110: crosses 100 %
    expect(await ingest.admit(small, 40, now)).toEqual({ overQuota: 40 }); // 150: at the cap, still in
    for (let i = 0; i < 2; i++)
      await expect(ingest.admit(small, 1, now)).rejects.toMatchObject({ code: 'quota_exceeded', details: { reason: 'quota_exceeded' } });
    expect(crossed).toEqual([
      [80, 90],
      [100, 110],
      ['cap', 150],
    ]);
  });
});

describe('IngestService.accept', () => {
  const NOW = Date.UTC(2026, 0, 15, 12);
  const deep = '['.repeat(300_000) + ']'.repeat(300_000); // JSON.parse takes it, JSON.stringify overflows
  const req = { receivedAt: NOW, userAgent: 'test', ip: '203.0.113.9' };
  function capturingLog() {
    const appended: { output: LogOutput; records: LogRecordIn[] }[] = [];
    const log = { append: async (output: LogOutput, records: LogRecordIn[]) => void appended.push({ output, records }) } as unknown as EventLog;
    return { log, appended };
  }
  const ingestWith = (log: EventLog) =>
    new IngestService({ log, counters: new MemoryCounters(), geo: { lookup: () => ({ country: null, region: null, city: null }) } });

  it('refuses a request whose event is nested too deeply to serialise, appending nothing', async () => {
    const { log, appended } = capturingLog();
    const ok = parseNative(JSON.parse('{"events":[{"name":"a","client_id":"c1"}]}'), { receivedAt: NOW });
    const bad = parseNative(JSON.parse(`{"events":[{"name":"b","client_id":"c1","params":{"d":${deep}}}]}`), { receivedAt: NOW });
    const err = await ingestWith(log)
      .accept('native', [...ok.events, ...bad.events], [], property, req)
      .catch((e) => e);
    expect(isTallyError(err) && [err.code, err.details.reason]).toEqual(['malformed_body', 'too_deeply_nested']);
    expect(appended).toEqual([]);
  });

  it('flags the last `overQuota` events of a request over_quota in the raw records', async () => {
    const { log, appended } = capturingLog();
    const p = parseNative(JSON.parse('{"events":[{"name":"a","client_id":"c1"},{"name":"b","client_id":"c1"},{"name":"c","client_id":"c1"}]}'), {
      receivedAt: NOW,
    });
    await ingestWith(log).accept('native', p.events, [], property, req, 2);
    const stored = appended[0].records.map((r) => JSON.parse(r.value.toString()));
    expect(stored.map((e) => [e.name, e.over_quota ?? false])).toEqual([
      ['a', false],
      ['b', true],
      ['c', true],
    ]);
  });

  it('dead-letters a refused event whose payload cannot be serialised, with its reason', async () => {
    const { log, appended } = capturingLog();
    const refused = [{ index: 0, reason: 'invalid' as const, detail: 'name: required', payload: JSON.parse(`{"params":${deep}}`) }];
    await ingestWith(log).accept('native', [], refused, property, req);
    expect(appended.map((a) => a.output)).toEqual(['dead-letter']);
    expect(JSON.parse(appended[0].records[0].value.toString())).toMatchObject({
      reason: 'invalid',
      detail: 'name: required',
      payload: { _tally_unserialisable: 'nested too deeply' },
    });
  });
});

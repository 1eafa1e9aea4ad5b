import { describe, expect, it } from 'vitest';
import { MemoryCounters } from '../infra/counters/memory.counters.js';
import type { EventLog } from '../infra/event-log/event-log.port.js';
import type { PropertyRow } from '../tenancy/tenant.repository.js';
import { DEFAULT_PROPERTY_SETTINGS } from '../domain/property-settings.js';
import { IngestService } from './ingest.service.js';

const property: PropertyRow = {
  ...DEFAULT_PROPERTY_SETTINGS,
  keyEvents: [...DEFAULT_PROPERTY_SETTINGS.keyEvents],
  tenantId: 'org-1',
  propertyId: '400000001',
  measurementId: 'G-TEST',
  domain: 'example.test',
  planId: 'free',
  monthlyEventQuota: 10,
  rateLimitPerSecond: 1_000,
};

describe('IngestService.admit', () => {
  it('counts the monthly quota under the UTC month of each request, across a month boundary', async () => {
    const counters = new MemoryCounters(() => Date.UTC(2026, 0, 15));
    const ingest = new IngestService({ log: {} as EventLog, counters, geo: { lookup: () => ({ country: null, region: null, city: null }) } });
    const lastMsOfJanuary = Date.UTC(2026, 1, 1) - 1;
    await ingest.admit(property, 4, lastMsOfJanuary);
    await ingest.admit(property, 3, Date.UTC(2026, 1, 1));
    await ingest.admit(property, 2, lastMsOfJanuary);
    const month = 31 * 86_400_000;
    expect(await counters.peek('quota:org-1:2026-01', month)).toBe(6);
    expect(await counters.peek('quota:org-1:2026-02', month)).toBe(3);
    await expect(ingest.admit(property, 5, lastMsOfJanuary)).rejects.toMatchObject({ code: 'quota_exceeded' });
  });
});

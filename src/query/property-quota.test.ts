import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { listenOnLoopback } from '../../test/support/listen.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PropertySettings } from '../domain/property-settings.js';
import { TallyError } from '../infra/errors.js';
import { MemoryCounters } from '../infra/counters/memory.counters.js';
import { DuckDbWarehouse } from '../infra/warehouse/duckdb.warehouse.js';
import { planEntitlements, registerPlan } from '../domain/plans.js';
import { budgetsForPlan, type QuotaBudget } from './quota-budgets.js';
import { generateProperty, loadPartitions, mergeFixtures, writeParquetPartitions, type Fixture } from './report-fixture.testkit.js';
import { createReportRouter } from './report.router.js';

const base = { timeZone: 'UTC', currencyCode: 'USD', sessionTimeoutMinutes: 30, engagedSessionSeconds: 10, keyEvents: ['purchase'] };
const props: Record<string, PropertySettings & { planId: string }> = {
  '123': { ...base, tenantId: 't1', propertyId: '123', planId: 'quota-tiny' },
  '456': { ...base, tenantId: 't2', propertyId: '456', planId: 'quota-tiny' },
};
/** Keys: k-a and k-b read 123 (two callers), k-c reads 456. */
const KEYS: Record<string, string> = { 'k-a': '123', 'k-b': '123', 'k-c': '456' };
const tiny: QuotaBudget = { ...planEntitlements('free').reportQuota, tokensPerDay: 1_000_000, tokensPerHour: 20, tokensPerProjectPerHour: 12 };
const ROWS_PER_TOKEN = 50;

let dir: string;
let wh: DuckDbWarehouse;
let server: Server;
let url: string;
let fx: Fixture;

beforeAll(async () => {
  // the budgets come from the one plan definition: a small plan of this process
  registerPlan({ ...planEntitlements('free'), planId: 'quota-tiny', name: 'Quota tiny', reportQuota: tiny });
  dir = mkdtempSync(join(tmpdir(), 'tally-quota-'));
  fx = mergeFixtures(generateProperty('t1', '123', 5, 30), generateProperty('t2', '456', 6, 10));
  wh = await DuckDbWarehouse.open({ path: ':memory:', resolve: (k) => join(dir, k) });
  await wh.init();
  await loadPartitions(wh, await writeParquetPartitions(fx, dir));
  const app = express();
  app.use(
    createReportRouter({
      warehouse: wh,
      authorize: async (token, propertyId) => {
        if (!token || KEYS[token] !== propertyId) throw new TallyError('permission_denied', 'User does not have sufficient permissions for this property.');
        return props[propertyId];
      },
      counters: new MemoryCounters(),
      rowsPerToken: ROWS_PER_TOKEN,
      now: () => new Date('2024-03-08T12:00:00Z'),
    }),
  );
  ({ server, base: url } = await listenOnLoopback(app));
});

afterAll(async () => {
  await new Promise((r) => server?.close(r));
  await wh?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function report(token: string, propertyId: string, startDate: string, endDate: string) {
  const res = await fetch(`${url}/v1beta/properties/${propertyId}:runReport`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
    body: JSON.stringify({ dateRanges: [{ startDate, endDate }], metrics: [{ name: 'eventCount' }], returnPropertyQuota: true }),
  });
  return { status: res.status, headers: res.headers, json: (await res.json()) as any };
}

/** The ground truth of the work: the property's non-bot events in the range. */
const scanned = (propertyId: string, from: string, to: string) =>
  fx.events.filter((e) => e.property_id === propertyId && !e.is_bot && e.local_date >= from && e.local_date <= to).length;

describe('returnPropertyQuota: tokens from the work done, budgets per plan and per caller, 429 over them', () => {
  it('charges one token plus one per ROWS_PER_TOKEN events scanned, and counts down the hour, day and caller buckets', async () => {
    const rows = scanned('123', '2024-03-01', '2024-03-07');
    expect(rows).toBeGreaterThan(2 * ROWS_PER_TOKEN);
    const cost = 1 + Math.floor(rows / ROWS_PER_TOKEN);
    const first = await report('k-a', '123', '2024-03-01', '2024-03-07');
    expect(first.status).toBe(200);
    const q = first.json.propertyQuota;
    expect(q.tokensPerHour).toEqual({ consumed: cost, remaining: tiny.tokensPerHour - cost });
    expect(q.tokensPerDay).toEqual({ consumed: cost, remaining: tiny.tokensPerDay - cost });
    expect(q.tokensPerProjectPerHour).toEqual({ consumed: cost, remaining: tiny.tokensPerProjectPerHour - cost });
    // a smaller range reads fewer rows and costs less
    const dayRows = scanned('123', '2024-03-02', '2024-03-02');
    const small = await report('k-a', '123', '2024-03-02', '2024-03-02');
    expect(small.json.propertyQuota.tokensPerHour.consumed).toBe(1 + Math.floor(dayRows / ROWS_PER_TOKEN));
    expect(small.json.propertyQuota.tokensPerHour.consumed).toBeLessThan(cost);
  });

  it('refuses a caller over its hourly budget with 429 RESOURCE_EXHAUSTED, while another caller and another property go on', async () => {
    let last = await report('k-a', '123', '2024-03-01', '2024-03-07');
    while (last.status === 200) last = await report('k-a', '123', '2024-03-01', '2024-03-07');
    expect(last.status).toBe(429);
    expect(last.json.error).toMatchObject({ code: 429, status: 'RESOURCE_EXHAUSTED' });
    expect(last.json.error.message).toContain('Exhausted property tokens per hour for a project per property');

    // another caller on the same property still has its own bucket, until the property's hour runs out
    const other = await report('k-b', '123', '2024-03-02', '2024-03-02');
    expect(other.status).toBe(200);
    let b = other;
    while (b.status === 200) b = await report('k-b', '123', '2024-03-01', '2024-03-07');
    expect(b.status).toBe(429);
    expect(['Exhausted property tokens per hour.', 'Exhausted property tokens per hour for a project per property.']).toContain(b.json.error.message);

    // another tenant's property is untouched
    const c = await report('k-c', '456', '2024-03-01', '2024-03-07');
    expect(c.status).toBe(200);
    expect(c.json.propertyQuota.tokensPerHour.remaining).toBe(tiny.tokensPerHour - c.json.propertyQuota.tokensPerHour.consumed);
  });

  it('has a budget per plan from the plan definition, GA4 standard for growth and 360 for scale', () => {
    expect(budgetsForPlan('quota-tiny')).toEqual(tiny);
    expect(budgetsForPlan('growth').tokensPerHour).toBe(40_000);
    expect(budgetsForPlan('scale').tokensPerDay).toBe(2_000_000);
    expect(budgetsForPlan('nonexistent')).toEqual(planEntitlements('free').reportQuota);
    expect(budgetsForPlan(undefined)).toEqual(planEntitlements('free').reportQuota);
  });
});

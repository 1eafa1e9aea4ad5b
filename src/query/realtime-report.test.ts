import { describe, expect, it } from 'vitest';
import { DEFAULT_PROPERTY_SETTINGS } from '../domain/property-settings.js';
import type { RawEvent } from '../domain/raw-event.js';
import { parseRealtimeRequest, runRealtimeReport } from './realtime-report.js';
import { RealtimeWindow } from './realtime-window.js';
import { liveEvent } from './realtime.testkit.js';

const NOW = Date.parse('2026-12-06T12:00:30Z');
const BOT = 'Googlebot/2.1 (+http://www.google.com/bot.html)';
const settings = { ...DEFAULT_PROPERTY_SETTINGS, keyEvents: ['sign_up'], tenantId: 't1', propertyId: 'p1' };

const raw = (over: Partial<RawEvent>) => liveEvent({ received_at: NOW, ...over });

/** A known set: what each minute holds, so every figure below is counted by hand. */
function window(): RealtimeWindow {
  const w = new RealtimeWindow();
  const at = (minutes: number) => NOW - minutes * 60_000 - 1_000;
  w.add(raw({ received_at: at(0), client_id: 'c1' }), NOW);
  w.add(raw({ received_at: at(0), client_id: 'c1', name: 'sign_up' }), NOW);
  w.add(raw({ received_at: at(2), client_id: 'c2', country: 'DE', city: 'Berlin' }), NOW);
  w.add(raw({ received_at: at(10), client_id: 'c3', country: null, city: null, title: null }), NOW);
  w.add(raw({ received_at: at(29), client_id: 'c4', name: 'scroll' }), NOW);
  // outside the window, a bot, and another tenant's property: never counted
  w.add(raw({ received_at: at(31), client_id: 'c5' }), NOW);
  w.add(raw({ received_at: at(1), client_id: 'c6', ua: BOT }), NOW);
  w.add(raw({ received_at: at(1), client_id: 'c7', tenant_id: 't2', property_id: 'p2' }), NOW);
  // received now but dated by the client two hours back (a backfill): not realtime activity
  w.add(raw({ received_at: at(0), client_ts: NOW - 2 * 3_600_000, client_id: 'c8' }), NOW);
  return w;
}

const run = (body: unknown, w = window()) =>
  runRealtimeReport(w.events('t1', 'p1', NOW), settings, parseRealtimeRequest(body), { now: NOW, enumAsInt: false }).response;
const table = (r: ReturnType<typeof run>) => (r.rows ?? []).map((x) => [...x.dimensionValues.map((v) => v.value), ...x.metricValues.map((v) => v.value)]);

describe('runRealtimeReport over the log tail', () => {
  it('counts the last 30 minutes by minutesAgo, with GA4 country names and (not set)', () => {
    const r = run({
      dimensions: [{ name: 'minutesAgo' }, { name: 'country' }, { name: 'city' }],
      metrics: [{ name: 'eventCount' }, { name: 'activeUsers' }, { name: 'keyEvents' }, { name: 'screenPageViews' }],
      metricAggregations: ['TOTAL'],
      orderBys: [{ dimension: { dimensionName: 'minutesAgo' } }],
    });
    expect(table(r)).toEqual([
      ['00', 'France', 'Paris', '2', '1', '1', '1'],
      ['02', 'Germany', 'Berlin', '1', '1', '0', '1'],
      ['10', '(not set)', '(not set)', '1', '1', '0', '1'],
      ['29', 'France', 'Paris', '1', '1', '0', '0'],
    ]);
    expect(r.totals![0].metricValues.map((v) => v.value)).toEqual(['5', '4', '1', '3']);
    expect(r.rowCount).toBe(4);
    expect(r.kind).toBe('analyticsData#runRealtimeReport');
    expect('metadata' in r).toBe(false);
  });

  it('answers two minute ranges with a dateRange column, and filters on dimensions and metrics', () => {
    const r = run({
      dimensions: [{ name: 'eventName' }],
      metrics: [{ name: 'eventCount' }],
      minuteRanges: [
        { name: 'now', startMinutesAgo: 4, endMinutesAgo: 0 },
        { startMinutesAgo: 29, endMinutesAgo: 5 },
      ],
      dimensionFilter: { notExpression: { filter: { fieldName: 'country', stringFilter: { value: 'germany' } } } },
      metricFilter: { filter: { fieldName: 'eventCount', numericFilter: { operation: 'GREATER_THAN_OR_EQUAL', value: { int64Value: '1' } } } },
    });
    expect(r.dimensionHeaders).toEqual([{ name: 'eventName' }, { name: 'dateRange' }]);
    expect(table(r)).toEqual([
      ['page_view', 'now', '1'],
      ['page_view', 'date_range_1', '1'],
      ['scroll', 'date_range_1', '1'],
      ['sign_up', 'now', '1'],
    ]);
  });

  it('keeps tenants apart: another property sees only its own events', () => {
    const w = window();
    const other = runRealtimeReport(
      w.events('t2', 'p2', NOW),
      { ...settings, tenantId: 't2', propertyId: 'p2' },
      parseRealtimeRequest({ metrics: [{ name: 'eventCount' }] }),
      {
        now: NOW,
        enumAsInt: false,
      },
    ).response;
    expect(table(other)).toEqual([['1']]);
    expect(w.events('t1', 'p2', NOW)).toEqual([]);
  });

  it('refuses what realtime does not have, in Google words', () => {
    expect(() => parseRealtimeRequest({ dimensions: [{ name: 'pageTitle' }] })).toThrow(/Field pageTitle is not a valid dimension.*realtime-api-schema/);
    expect(() => parseRealtimeRequest({ metrics: [{ name: 'sessions' }] })).toThrow(/Field sessions is not a valid metric/);
    expect(() => parseRealtimeRequest({ minuteRanges: [{ startMinutesAgo: 30 }] })).toThrow(/between 0 and 29/);
    expect(() => parseRealtimeRequest({ minuteRanges: [{}, {}, {}] })).toThrow(/limited to 2 minuteRanges/);
    expect(() => parseRealtimeRequest({ dateRanges: [] })).toThrow(/Unknown name "dateRanges"/);
  });

  it('drops events as they leave the window and caps a property', () => {
    const w = new RealtimeWindow({ maxEventsPerProperty: 2 });
    for (let i = 0; i < 5; i++) w.add(raw({ received_at: NOW - i }), NOW);
    expect(w.events('t1', 'p1', NOW)).toHaveLength(2);
    expect(w.droppedOverCap).toBe(3);
    expect(w.events('t1', 'p1', NOW + 32 * 60_000)).toHaveLength(0);
  });
});

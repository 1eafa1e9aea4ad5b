import { expect, it } from 'vitest';
import { groundTruth } from './report-fixture.testkit.js';
import { onEveryWarehouse, WEEK } from './report-http.testkit.js';

const MOBILE = { name: 'Mobile', dimensionFilter: { filter: { fieldName: 'deviceCategory', stringFilter: { value: 'mobile' } } } };
const NOT_MOBILE = { name: 'Not mobile', dimensionFilter: { notExpression: MOBILE.dimensionFilter } };

onEveryWarehouse('runReport comparisons', (h) => {
  const truth = (eventKey: Parameters<typeof groundTruth>[1]['eventKey'], mobile: boolean, sessionKey?: Parameters<typeof groundTruth>[1]['sessionKey']) =>
    groundTruth(h.fx, {
      tenantId: 't1',
      propertyId: 'p1',
      start: '2024-03-01',
      end: '2024-03-07',
      eventKey,
      sessionKey,
      eventFilter: (e) => (e.device_category === 'mobile') === mobile,
      sessionFilter: (s) => (s.device_category === 'mobile') === mobile,
    });

  it('gives each named comparison its rows and totals, labelled in the comparison column (event-scoped dimension)', async () => {
    const { status, json } = await h.post('/v1beta/properties/p1:runReport', {
      ...WEEK,
      dimensions: [{ name: 'eventName' }],
      metrics: [{ name: 'eventCount' }, { name: 'totalUsers' }, { name: 'sessions' }],
      comparisons: [MOBILE, NOT_MOBILE],
      metricAggregations: ['TOTAL'],
      limit: '1000',
    });
    expect(status).toBe(200);
    expect(json.dimensionHeaders).toEqual([{ name: 'eventName' }, { name: 'comparison' }]);
    const expected = new Map<string, string[]>();
    for (const [mobile, name] of [
      [true, 'Mobile'],
      [false, 'Not mobile'],
    ] as const) {
      for (const [k, t] of truth((e) => e.event_name, mobile)) expected.set(`${k}|${name}`, [t.eventCount, t.totalUsers, t.sessions].map(String));
    }
    const got = new Map<string, string[]>(
      json.rows.map((r: any) => [r.dimensionValues.map((v: any) => v.value).join('|'), r.metricValues.map((v: any) => v.value)]),
    );
    expect(got).toEqual(expected);
    expect(json.rowCount).toBe(expected.size);
    expect(json.totals.map((t: any) => t.dimensionValues.map((v: any) => v.value))).toEqual([
      ['RESERVED_TOTAL', 'Mobile'],
      ['RESERVED_TOTAL', 'Not mobile'],
    ]);
  });

  it('counts sessions on the sessions table when every field is session-scoped, with the comparison column where it was asked for', async () => {
    const { status, json } = await h.post('/v1beta/properties/p1:runReport', {
      ...WEEK,
      dimensions: [{ name: 'comparison' }, { name: 'country' }],
      metrics: [{ name: 'sessions' }, { name: 'engagedSessions' }],
      comparisons: [MOBILE],
      limit: '1000',
    });
    expect(status).toBe(200);
    expect(json.dimensionHeaders).toEqual([{ name: 'comparison' }, { name: 'country' }]);
    const t = truth(
      () => '',
      true,
      (s) => s.country ?? '',
    );
    const sessions = [...t.values()].reduce((n, x) => n + x.sessions, 0);
    expect(json.rows.every((r: any) => r.dimensionValues[0].value === 'Mobile')).toBe(true);
    expect(json.rows.reduce((n: number, r: any) => n + Number(r.metricValues[0].value), 0)).toBe(sessions);
  });

  it('refuses saved comparisons, unnamed ones, and the comparison dimension without comparisons', async () => {
    const saved = await h.post('/v1beta/properties/p1:runReport', { ...WEEK, metrics: [{ name: 'sessions' }], comparisons: [{ comparison: 'comparisons/1' }] });
    expect(saved.status).toBe(400);
    const unnamed = await h.post('/v1beta/properties/p1:runReport', {
      ...WEEK,
      metrics: [{ name: 'sessions' }],
      comparisons: [{ dimensionFilter: MOBILE.dimensionFilter }],
    });
    expect(unnamed.status).toBe(400);
    const lone = await h.post('/v1beta/properties/p1:runReport', { ...WEEK, dimensions: [{ name: 'comparison' }], metrics: [{ name: 'sessions' }] });
    expect(lone.status).toBe(400);
    expect(lone.json.error.status).toBe('INVALID_ARGUMENT');
  });
});

import { expect, it } from 'vitest';
import { groundTruth } from './report-fixture.testkit.js';
import { onEveryWarehouse, WEEK } from './report-http.testkit.js';

onEveryWarehouse('runPivotReport and batchRunPivotReports', (h) => {
  const truth = (key: (e: { event_name: string; device_category: string }) => string) =>
    groundTruth(h.fx, { tenantId: 't1', propertyId: 'p1', start: '2024-03-01', end: '2024-03-07', eventKey: key });

  const request = {
    ...WEEK,
    dimensions: [{ name: 'eventName' }, { name: 'deviceCategory' }],
    metrics: [{ name: 'eventCount' }, { name: 'totalUsers' }],
    pivots: [
      { fieldNames: ['eventName'], limit: '3', metricAggregations: ['TOTAL'] },
      { fieldNames: ['deviceCategory'], limit: '10', orderBys: [{ dimension: { dimensionName: 'deviceCategory' } }] },
    ],
  };

  it('pivots the cells into headers, rows and per-pivot totals that match the ground truth', async () => {
    const { status, json } = await h.post('/v1beta/properties/p1:runPivotReport', request);
    expect(status).toBe(200);
    expect(json.kind).toBe('analyticsData#runPivotReport');
    const byEvent = truth((e) => e.event_name);
    const byDevice = truth((e) => e.device_category);
    const cells = truth((e) => `${e.event_name}|${e.device_category}`);

    // pivot 1: the three events with most events (default order: first metric, descending)
    const top3 = [...byEvent.entries()].sort((a, b) => b[1].eventCount - a[1].eventCount || (a[0] < b[0] ? -1 : 1)).slice(0, 3);
    expect(json.pivotHeaders[0].pivotDimensionHeaders.map((x: any) => x.dimensionValues[0].value)).toEqual(top3.map(([k]) => k));
    expect(json.pivotHeaders[0].rowCount).toBe(byEvent.size);
    // pivot 2: every device, alphabetical
    expect(json.pivotHeaders[1].pivotDimensionHeaders.map((x: any) => x.dimensionValues[0].value)).toEqual([...byDevice.keys()].sort());
    expect(json.dimensionHeaders).toEqual([{ name: 'eventName' }, { name: 'deviceCategory' }]);

    // rows: only the selected events, each cell equal to the truth, in pivot header order
    const expected = [...cells.entries()].filter(([k]) => top3.some(([e]) => k.startsWith(`${e}|`)));
    expect(json.rows).toHaveLength(expected.length);
    for (const row of json.rows) {
      const t = cells.get(`${row.dimensionValues[0].value}|${row.dimensionValues[1].value}`)!;
      expect(row.metricValues.map((v: any) => v.value)).toEqual([String(t.eventCount), String(t.totalUsers)]);
    }
    const eventOrder = json.rows.map((r: any) => top3.findIndex(([k]) => k === r.dimensionValues[0].value));
    expect(eventOrder).toEqual([...eventOrder].sort((a, b) => a - b));

    // aggregates: per selected event, over every device; distinct users counted once, not summed
    expect(json.aggregates).toHaveLength(3);
    for (const [i, [event, t]] of top3.entries()) {
      expect(json.aggregates[i].dimensionValues).toEqual([{ value: event }, { value: 'RESERVED_TOTAL' }]);
      expect(json.aggregates[i].metricValues.map((v: any) => v.value)).toEqual([String(t.eventCount), String(t.totalUsers)]);
    }
    expect(json.metadata).toMatchObject({ currencyCode: 'USD', timeZone: 'UTC' });
  });

  it('answers a batch as pivotReports, and refuses a dimension outside every pivot', async () => {
    const batch = await h.post('/v1beta/properties/p1:batchRunPivotReports', { requests: [request, request] });
    expect(batch.status).toBe(200);
    expect(batch.json.kind).toBe('analyticsData#batchRunPivotReports');
    expect(batch.json.pivotReports).toHaveLength(2);
    expect(batch.json.pivotReports[1].rows).toEqual(batch.json.pivotReports[0].rows);

    const bad = await h.post('/v1beta/properties/p1:runPivotReport', { ...request, pivots: [request.pivots[0]] });
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toContain('deviceCategory must be in one pivot');
    const noLimit = await h.post('/v1beta/properties/p1:runPivotReport', { ...request, pivots: [{ fieldNames: ['eventName', 'deviceCategory'] }] });
    expect(noLimit.status).toBe(400);
  });

  it("never shows another tenant's cells", async () => {
    const mine = await h.post('/v1beta/properties/p1:runPivotReport', request);
    const theirs = await h.post('/v1beta/properties/p1:runPivotReport', request, 'k-t2');
    expect(theirs.status).toBe(200);
    expect(theirs.json.rows).not.toEqual(mine.json.rows);
  });
});

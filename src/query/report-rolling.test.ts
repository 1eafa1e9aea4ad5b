import { expect, it } from 'vitest';
import { checkCompatibility } from './compatibility.js';
import { buildMetadata } from './metadata.js';
import { BASE, scriptedFixture, type ScriptedUser } from './funnel-fixture.testkit.js';
import { onEveryWarehouse } from './report-http.testkit.js';

/**
 * dauPerMau, dauPerWau, wauPerMau on users scripted in May 2024 (the generated traffic of the
 * property is in early March, outside every window here). Worked out by hand: a day's window of
 * 30 days is that day and the 29 before it, of 7 days that day and the 6 before it.
 */
const at = (day: string) => (Date.parse(`${day}T12:00:00Z`) - BASE) / 1000;
const daily = (from: string, to: string) => {
  const out: ScriptedUser['events'] = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += 86_400_000)
    out.push({ name: 'f_ping', at: at(new Date(t).toISOString().slice(0, 10)) });
  return out;
};
const once = (day: string) => [{ name: 'f_ping', at: at(day) }];
const USERS: ScriptedUser[] = [
  { id: 'R1', device: 'desktop', events: daily('2024-04-05', '2024-05-10') },
  { id: 'R2', device: 'mobile', events: once('2024-05-10') },
  { id: 'R3', device: 'desktop', events: once('2024-05-05') },
  { id: 'R4', device: 'mobile', events: once('2024-04-15') },
  { id: 'R5', device: 'desktop', events: once('2024-04-05') },
  { id: 'R6', device: 'desktop', bot: true, events: once('2024-05-10') },
  { id: 'R7', device: 'desktop', inactive: true, events: once('2024-05-10') },
];
const MAY = { dateRanges: [{ startDate: '2024-05-01', endDate: '2024-05-10' }] };
const RATIOS = [{ name: 'dauPerMau' }, { name: 'dauPerWau' }, { name: 'wauPerMau' }];

onEveryWarehouse(
  'dauPerMau, dauPerWau, wauPerMau',
  (h) => {
    const rows = async (body: Record<string, unknown>) => {
      const res = await h.post('/v1beta/properties/p1:runReport', { ...MAY, ...body });
      expect(res.status, JSON.stringify(res.json)).toBe(200);
      return new Map<string, number[]>(
        (res.json.rows ?? []).map((r: any) => [r.dimensionValues.map((v: any) => v.value).join('|'), r.metricValues.map((v: any) => Number(v.value))]),
      );
    };
    const close = (got: number[] | undefined, want: number[]) => {
      expect(got).toBeDefined();
      got!.forEach((g, i) => expect(g).toBeCloseTo(want[i], 12));
    };

    it("without a date breakdown: the windows ending on the range's last day", async () => {
      // 2024-05-10: DAU R1 R2; WAU (05-04..) R1 R2 R3; MAU (04-11..) R1 R2 R3 R4; R6 is a bot, R7 never active
      const r = await rows({ metrics: [...RATIOS, { name: 'activeUsers' }] });
      close(r.get(''), [2 / 4, 2 / 3, 3 / 4, 3]);
      const res = await h.post('/v1beta/properties/p1:runReport', { ...MAY, metrics: RATIOS });
      expect(res.json.metricHeaders).toEqual(RATIOS.map((m) => ({ ...m, type: 'TYPE_FLOAT' })));
    });

    it('by date: each row the windows ending on its own day, reading days before the range', async () => {
      const r = await rows({ dimensions: [{ name: 'date' }], metrics: RATIOS });
      close(r.get('20240501'), [1 / 3, 1, 1 / 3]); // MAU 04-02..05-01: R1 R4 R5
      close(r.get('20240505'), [2 / 3, 1, 2 / 3]); // MAU 04-06..05-05: R1 R3 R4 (R5 has left)
      close(r.get('20240510'), [2 / 4, 2 / 3, 3 / 4]);
      expect(r.size).toBe(10);
    });

    it('by another dimension: the users of each value, totals for the last day', async () => {
      const r = await rows({ dimensions: [{ name: 'deviceCategory' }], metrics: RATIOS, metricAggregations: ['TOTAL'] });
      close(r.get('desktop'), [1 / 2, 1 / 2, 1]); // DAU R1, WAU R1 R3, MAU R1 R3
      close(r.get('mobile'), [1 / 2, 1, 1 / 2]); // DAU R2, WAU R2, MAU R2 R4
      const res = await h.post('/v1beta/properties/p1:runReport', {
        ...MAY,
        metrics: RATIOS,
        metricAggregations: ['TOTAL'],
        dimensions: [{ name: 'deviceCategory' }],
      });
      close(
        res.json.totals[0].metricValues.map((v: any) => Number(v.value)),
        [2 / 4, 2 / 3, 3 / 4],
      );
    });

    it('holds with dimensions that read the first session, and with comparisons', async () => {
      // every scripted user has one session a day, so each is "new" on their first day only
      const r = await rows({ dimensions: [{ name: 'newVsReturning' }], metrics: RATIOS });
      expect([...r.keys()].sort()).toEqual(['new', 'returning']);
      const cmp = await h.post('/v1beta/properties/p1:runReport', {
        ...MAY,
        metrics: RATIOS,
        comparisons: [{ name: 'desktop', dimensionFilter: { filter: { fieldName: 'deviceCategory', stringFilter: { value: 'desktop' } } } }],
      });
      expect(cmp.status).toBe(200);
      close(
        cmp.json.rows[0].metricValues.map((v: any) => Number(v.value)),
        [1 / 2, 1 / 2, 1],
      );
    });

    it('refuses time dimensions other than date (400)', async () => {
      const res = await h.post('/v1beta/properties/p1:runReport', { ...MAY, dimensions: [{ name: 'month' }], metrics: RATIOS });
      expect(res.status).toBe(400);
      expect(res.json.error.message).toContain('broken down by date');
    });
  },
  { extra: scriptedFixture('t1', 'p1', USERS), redshiftOnPostgres: true },
);

it('lists the three ratios in metadata, as floats of the User category', () => {
  const listed = buildMetadata('0', false).metrics.filter((m) => RATIOS.some((r) => r.name === m.apiName));
  expect(listed.map((m) => [m.apiName, m.type, m.category])).toEqual(RATIOS.map((r) => [r.name, 'TYPE_FLOAT', 'User']));
});

it('checkCompatibility says what runReport answers: the ratios go with date, not with month or hour', () => {
  const verdicts = checkCompatibility({ metrics: [{ name: 'dauPerMau' }] }, false) as { dimensionCompatibilities: any[] };
  const of = (name: string) => verdicts.dimensionCompatibilities.find((x) => x.dimensionMetadata.apiName === name)?.compatibility;
  expect([of('date'), of('deviceCategory'), of('month'), of('hour'), of('dateHour')]).toEqual([
    'COMPATIBLE',
    'COMPATIBLE',
    'INCOMPATIBLE',
    'INCOMPATIBLE',
    'INCOMPATIBLE',
  ]);
  expect(() => checkCompatibility({ dimensions: [{ name: 'year' }], metrics: [{ name: 'wauPerMau' }] }, false)).toThrow(/Please remove wauPerMau/);
});

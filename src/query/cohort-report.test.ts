import { expect, it } from 'vitest';
import type { Fixture } from './report-fixture.testkit.js';
import { onEveryWarehouse } from './report-http.testkit.js';

/**
 * The cohort ground truth written as plain loops: a user (user id, else the client's first linked
 * user, else the client) belongs to the cohort holding the date of their first event; they are
 * active in a window when they have an event there in an engaged session, a first_visit, or
 * engagement time (activeUsers' definition).
 */
function cohortTruth(fx: Fixture, cohorts: [string, string][], unitDays: 1 | 7, offsets: number, accumulate: boolean): { total: number; active: number[] }[] {
  const own = <T extends { tenant_id: string; property_id: string }>(x: T) => x.tenant_id === 't1' && x.property_id === 'p1';
  const sessions = new Map(fx.sessions.filter(own).map((s) => [s.session_key, s]));
  const link = new Map<string, { user_id: string; linked_ms: number }>();
  for (const l of fx.identities.filter(own)) {
    const cur = link.get(l.client_id);
    if (!cur || l.linked_ms < cur.linked_ms || (l.linked_ms === cur.linked_ms && l.user_id < cur.user_id)) link.set(l.client_id, l);
  }
  const events = fx.events.filter((e) => own(e) && !e.is_bot);
  const userOf = (e: (typeof events)[number]) => e.user_id ?? (e.client_id ? (link.get(e.client_id)?.user_id ?? e.client_id) : null);
  const first = new Map<string, string>();
  for (const e of events) {
    const u = userOf(e);
    if (u !== null && (!first.has(u) || e.local_date < first.get(u)!)) first.set(u, e.local_date);
  }
  const day = (d: string) => Date.parse(`${d}T00:00:00Z`) / 86_400_000;
  return cohorts.map(([start, end]) => {
    const members = new Set([...first].filter(([, d]) => d >= start && d <= end).map(([u]) => u));
    const active = Array.from({ length: offsets }, () => new Set<string>());
    for (const e of events) {
      const u = userOf(e);
      if (u === null || !members.has(u) || e.local_date < start) continue;
      if (!(sessions.get(e.session_key)?.engaged || e.event_name === 'first_visit' || e.engagement_time_ms > 0)) continue;
      const n = Math.floor((day(e.local_date) - day(start)) / unitDays);
      for (let k = 0; k < offsets; k++) if (accumulate ? n <= k : n === k) active[k].add(u);
    }
    return { total: members.size, active: active.map((s) => s.size) };
  });
}

onEveryWarehouse('runReport with a cohortSpec', (h) => {
  const cohorts: [string, string][] = [
    ['2024-03-01', '2024-03-01'],
    ['2024-03-02', '2024-03-03'],
  ];
  const body = (granularity: string, endOffset: number, accumulate = false) => ({
    dimensions: [{ name: 'cohort' }, { name: granularity === 'WEEKLY' ? 'cohortNthWeek' : 'cohortNthDay' }],
    metrics: [{ name: 'cohortActiveUsers' }, { name: 'cohortTotalUsers' }, { name: 'retention', expression: 'cohortActiveUsers/cohortTotalUsers' }],
    cohortSpec: {
      cohorts: cohorts.map(([startDate, endDate], i) => ({ name: `c${i}`, dimension: 'firstSessionDate', dateRange: { startDate, endDate } })),
      cohortsRange: { granularity, startOffset: 0, endOffset },
      cohortReportSettings: { accumulate },
    },
    keepEmptyRows: true,
  });

  it.each([
    ['DAILY', 1, 5, false],
    ['DAILY', 1, 5, true],
    ['WEEKLY', 7, 1, false],
  ] as const)('%s cohorts (every %i day(s), offsets 0..%i, accumulate %s) match the ground truth', async (granularity, unit, endOffset, accumulate) => {
    const { status, json } = await h.post('/v1beta/properties/p1:runReport', body(granularity, endOffset, accumulate));
    expect(status).toBe(200);
    const truth = cohortTruth(h.fx, cohorts, unit, endOffset + 1, accumulate);
    expect(truth[0].total).toBeGreaterThan(0);
    const expected = truth.flatMap((t, c) =>
      t.active.map((a, n) => [`c${c}`, String(n).padStart(4, '0'), String(a), String(t.total), String(t.total ? a / t.total : 0)]),
    );
    expect(json.rows.map((r: any) => [...r.dimensionValues.map((v: any) => v.value), ...r.metricValues.map((v: any) => v.value)])).toEqual(expected);
    expect(json.metricHeaders.map((m: any) => m.type)).toEqual(['TYPE_INTEGER', 'TYPE_INTEGER', 'TYPE_FLOAT']);
  });

  it('refuses dateRanges beside a cohortSpec, a non-cohort metric, and the wrong granularity dimension', async () => {
    const withRanges = await h.post('/v1beta/properties/p1:runReport', {
      ...body('DAILY', 2),
      dateRanges: [{ startDate: '2024-03-01', endDate: '2024-03-02' }],
    });
    expect(withRanges.status).toBe(400);
    const otherMetric = await h.post('/v1beta/properties/p1:runReport', { ...body('DAILY', 2), metrics: [{ name: 'sessions' }] });
    expect(otherMetric.status).toBe(400);
    const wrongNth = await h.post('/v1beta/properties/p1:runReport', { ...body('WEEKLY', 1), dimensions: [{ name: 'cohort' }, { name: 'cohortNthDay' }] });
    expect(wrongNth.status).toBe(400);
  });
});

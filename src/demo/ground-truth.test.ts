import geoip from 'geoip-lite';
import { isbot } from 'isbot';
import { UAParser } from 'ua-parser-js';
import { describe, expect, it } from 'vitest';
import { isTallyError } from '../infra/errors.js';
import { expectedReport, groundTruth, type ExpectedMetrics, type ReportDimension, type ReportQuery, type TruthSession } from './ground-truth.js';
import { addDays, localDateOf } from './local-time.js';
import { generateTraffic, type NativeEvent, type TrafficOptions } from './traffic-generator.js';

// spans the US spring-forward night (2024-03-10 has 23 hours in New York)
const OPTS: TrafficOptions = {
  seed: 7,
  startDate: '2024-03-08',
  days: 4,
  timeZone: 'America/New_York',
  visitorsPerDay: 400,
  botShare: 0.1,
  duplicateShare: 0.05,
  lateShare: 0.1,
  sessionIdShare: 0.4,
};
const LAST_DAY = addDays(OPTS.startDate, OPTS.days - 1);
const SPILL_DAY = addDays(OPTS.startDate, OPTS.days);
const MIN30 = 30 * 60_000;
const DIMENSIONS: (ReportDimension | undefined)[] = [undefined, 'date', 'pagePath', 'sessionSource', 'country', 'deviceCategory', 'sessionDefaultChannelGroup'];
const SESSION_SCOPED: ReportDimension[] = ['sessionSource', 'country', 'deviceCategory', 'sessionDefaultChannelGroup'];
const SUMMED: (keyof ExpectedMetrics)[] = ['sessions', 'engagedSessions', 'screenPageViews', 'eventCount', 'keyEvents', 'userEngagementDuration', 'newUsers'];

const gt = groundTruth(OPTS);
const stream = [...generateTraffic(OPTS)];

/**
 * A test-only reading of the stream, independent of the model: dedupe by event_id, drop what
 * isbot flags, cut each client's events into sessions at gaps > 30 min, attribute from the
 * first event, date with Intl, geo with geoip-lite, device with ua-parser-js.
 */
interface Observed {
  client: string;
  events: NativeEvent[];
  /** Local date and page path of each event. */
  dates: string[];
  paths: string[];
  start: number;
  end: number;
  date: string;
  source: string;
  channel: string;
  country: string;
  device: string;
  engaged: boolean;
  first: boolean;
}

function attribute(e: NativeEvent): { source: string; medium: string } {
  const q = new URL(e.url as string).searchParams;
  if (q.has('gclid')) return { source: 'google', medium: 'cpc' };
  if (q.has('utm_source')) return { source: q.get('utm_source') as string, medium: q.get('utm_medium') as string };
  if (!e.referrer) return { source: '(direct)', medium: '(none)' };
  const host = new URL(e.referrer).hostname.replace(/^www\./, '');
  if (host === 'google.com' || host === 'bing.com') return { source: host.split('.')[0], medium: 'organic' };
  return { source: host, medium: 'referral' };
}

function channelOf(source: string, medium: string): string {
  if (medium === '(none)') return 'Direct';
  if (medium === 'organic') return 'Organic Search';
  if (medium === 'cpc') return 'Paid Search';
  if (medium === 'email') return 'Email';
  if (source === 'facebook.com') return 'Organic Social';
  return 'Referral';
}

const unique = new Map<string, NativeEvent>();
for (const { event } of stream) if (!unique.has(event.event_id as string)) unique.set(event.event_id as string, event);
const humanEvents = [...unique.values()].filter((e) => !isbot(e.user_agent as string));
const byClient = new Map<string, NativeEvent[]>();
for (const e of humanEvents) {
  const list = byClient.get(e.client_id) ?? [];
  list.push(e);
  byClient.set(e.client_id, list);
}
const observed: Observed[] = [];
for (const [client, events] of byClient) {
  events.sort((a, b) => a.timestamp - b.timestamp);
  let cur: NativeEvent[] = [];
  const close = (): void => {
    const first = cur[0];
    const { source, medium } = attribute(first);
    const device = new UAParser(first.user_agent).getResult().device.type ?? 'desktop';
    const start = first.timestamp;
    const end = cur[cur.length - 1].timestamp;
    const pageViews = cur.filter((e) => e.name === 'page_view').length;
    observed.push({
      client,
      events: cur,
      dates: cur.map((e) => localDateOf(e.timestamp, OPTS.timeZone)),
      paths: cur.map((e) => new URL(e.url as string).pathname),
      start,
      end,
      date: localDateOf(start, OPTS.timeZone),
      source,
      channel: channelOf(source, medium),
      country: geoip.lookup(first.ip as string)?.country ?? '',
      device,
      engaged: end - start > 10_000 || pageViews >= 2 || cur.some((e) => e.name === 'purchase'),
      first: cur.some((e) => e.name === 'first_visit'),
    });
  };
  for (const e of events) {
    if (cur.length > 0 && e.timestamp - cur[cur.length - 1].timestamp > MIN30) {
      close();
      cur = [];
    }
    cur.push(e);
  }
  close();
}
// GA4's last non-direct click: a direct session takes its client's latest non-direct session's source (90 days)
const lastTouch = new Map<string, Observed>();
for (const o of [...observed].sort((a, b) => a.start - b.start)) {
  const t = lastTouch.get(o.client);
  if (o.source !== '(direct)') lastTouch.set(o.client, { ...o });
  else if (t && t.start >= o.start - 90 * 86_400_000) Object.assign(o, { source: t.source, channel: t.channel });
}

function referenceReport(q: ReportQuery): Map<string, ExpectedMetrics> {
  const dim = q.dimension;
  const inRange = (d: string): boolean => d >= q.startDate && d <= q.endDate;
  const rows = new Map<
    string,
    {
      s: Set<Observed>;
      sess: Observed[];
      pv: number;
      ev: number;
      key: number;
      msec: number;
      buys: number;
      revenue: number;
      total: Set<string>;
      active: Set<string>;
      fresh: Set<string>;
    }
  >();
  const row = (k: string) => {
    let r = rows.get(k);
    if (!r)
      rows.set(k, (r = { s: new Set(), sess: [], pv: 0, ev: 0, key: 0, msec: 0, buys: 0, revenue: 0, total: new Set(), active: new Set(), fresh: new Set() }));
    return r;
  };
  const sessionValue = (o: Observed): string =>
    dim === 'sessionSource'
      ? o.source
      : dim === 'country'
        ? o.country
        : dim === 'deviceCategory'
          ? o.device
          : dim === 'sessionDefaultChannelGroup'
            ? o.channel
            : '';
  for (const o of observed) {
    if (dim !== 'pagePath' && inRange(o.date)) {
      const r = row(dim === 'date' ? o.date : sessionValue(o));
      r.sess.push(o);
      if (o.first) r.fresh.add(o.client);
    }
    for (let i = 0; i < o.events.length; i++) {
      const e = o.events[i];
      const date = o.dates[i];
      if (!inRange(date)) continue;
      const path = o.paths[i];
      const r = row(dim === 'date' ? date : dim === 'pagePath' ? path : sessionValue(o));
      if (dim === 'pagePath' && !r.s.has(o)) {
        r.s.add(o);
        r.sess.push(o);
      }
      r.ev++;
      if (e.name === 'page_view') r.pv++;
      if (e.name === 'purchase') r.key++;
      if (e.name === 'purchase' && e.params?.value !== undefined) {
        r.buys++;
        r.revenue += Number(e.params.value);
      }
      const msec = Number(e.params?.engagement_time_msec ?? 0);
      r.msec += msec;
      r.total.add(o.client);
      if (o.engaged || msec > 0 || e.name === 'first_visit') r.active.add(o.client);
      if (dim === 'pagePath' && e.name === 'first_visit') r.fresh.add(o.client);
    }
  }
  const out = new Map<string, ExpectedMetrics>();
  for (const [k, r] of rows) {
    const n = r.sess.length;
    const engaged = r.sess.filter((o) => o.engaged).length;
    const dur = r.sess.reduce((a, o) => a + (o.end - o.start) / 1000, 0);
    out.set(k, {
      activeUsers: r.active.size,
      totalUsers: r.total.size,
      newUsers: r.fresh.size,
      sessions: n,
      engagedSessions: engaged,
      engagementRate: n ? engaged / n : 0,
      bounceRate: n ? 1 - engaged / n : 0,
      averageSessionDuration: n ? dur / n : 0,
      screenPageViews: r.pv,
      screenPageViewsPerSession: n ? r.pv / n : 0,
      eventCount: r.ev,
      eventsPerSession: n ? r.ev / n : 0,
      userEngagementDuration: r.msec / 1000,
      keyEvents: r.key,
      purchaseRevenue: r.revenue,
      ecommercePurchases: r.buys,
      transactions: r.buys,
      averagePurchaseRevenue: r.buys ? r.revenue / r.buys : 0,
    });
  }
  return out;
}

function expectSameReport(actual: Map<string, ExpectedMetrics>, expected: Map<string, ExpectedMetrics>, label: string): void {
  expect([...actual.keys()].sort(), label).toEqual([...expected.keys()].sort());
  for (const [k, want] of expected) {
    const got = actual.get(k) as ExpectedMetrics;
    for (const m of Object.keys(want) as (keyof ExpectedMetrics)[]) {
      expect(Math.abs(got[m] - want[m]), `${label} [${k}] ${m}: ${got[m]} vs ${want[m]}`).toBeLessThan(1e-9);
    }
  }
}

function total(q: Omit<ReportQuery, 'dimension'>): ExpectedMetrics {
  return expectedReport(gt, q).get('') as ExpectedMetrics;
}

describe('groundTruth', () => {
  it('describes exactly the sessions found in the event stream', () => {
    expect(observed.length).toBe(gt.sessions.length);
    // returning direct visits really take an earlier source (last non-direct click)
    expect(gt.sessions.filter((s) => s.source !== s.collected.source).length).toBeGreaterThan(0);
    const key = (client: string, start: number): string => `${client}@${start}`;
    const seen = new Map(observed.map((o) => [key(o.client, o.start), o]));
    for (const s of gt.sessions) {
      const o = seen.get(key(s.clientId, s.startMs));
      expect(o, key(s.clientId, s.startMs)).toBeDefined();
      if (!o) continue;
      expect([o.end, o.date, o.source, o.channel, o.country, o.device, o.engaged, o.first, o.events.length]).toEqual([
        s.endMs,
        s.date,
        s.source,
        s.channelGroup,
        s.country,
        s.deviceCategory,
        s.engaged,
        s.firstSession,
        s.eventCount,
      ]);
      const ids = new Set(o.events.map((e) => e.session_id));
      expect([...ids]).toEqual([s.clientSessionId ?? undefined]);
      if (s.clientSessionId) expect(s.clientSessionId).toBe(String(Math.floor(s.startMs / 1000)));
    }
  });

  it('keeps events of a session < 30 min apart and sessions of a visitor > 30 min apart', () => {
    const byVisitor = new Map<string, TruthSession[]>();
    for (const s of gt.sessions) byVisitor.set(s.clientId, [...(byVisitor.get(s.clientId) ?? []), s]);
    for (const list of byVisitor.values()) {
      list.sort((a, b) => a.startMs - b.startMs);
      for (let i = 1; i < list.length; i++) expect(list[i].startMs - list[i - 1].endMs).toBeGreaterThan(MIN30);
      expect(list.filter((s) => s.firstSession).length).toBeLessThanOrEqual(1);
      if (list.some((s) => s.firstSession)) expect(list[0].firstSession).toBe(true);
    }
    const longGaps = observed.filter((o) => o.events.some((e, i) => i > 0 && e.timestamp - o.events[i - 1].timestamp >= MIN30));
    expect(longGaps).toEqual([]);
    // the stream is split at > 30 min gaps, so equal session sets means the model's sessions satisfy both rules
    expect(observed.length).toBe(gt.sessions.length);
  });

  it('carries the referrer and campaign only on the events at the start of a session', () => {
    const carrying = observed.flatMap((o) =>
      o.events.filter((e) => e.timestamp !== o.start && (e.referrer !== undefined || /[?&](utm_|gclid=)/.test(e.url as string))),
    );
    expect(carrying).toEqual([]);
    const landings = observed.map((o) => o.events[0]);
    expect(landings.filter((e) => e.referrer).length).toBeGreaterThan(landings.length / 3);
    expect(landings.filter((e) => /[?&](utm_source|gclid)=/.test(e.url as string)).length).toBeGreaterThan(landings.length / 10);
  });

  it('produces the requested shares of bots, duplicates, late sessions, session ids and returning visitors', () => {
    const st = gt.stats;
    expect(st.botSessions / (st.botSessions + st.humanSessions)).toBeCloseTo(0.1, 2);
    expect(st.duplicateEvents / st.uniqueEvents).toBeGreaterThan(0.04);
    expect(st.duplicateEvents / st.uniqueEvents).toBeLessThan(0.06);
    const lateShare = st.lateSessions / (st.botSessions + st.humanSessions);
    expect(lateShare).toBeGreaterThan(0.07);
    expect(lateShare).toBeLessThan(0.13);
    expect(st.clientSessionIdSessions / st.humanSessions).toBeGreaterThan(0.3);
    expect(st.clientSessionIdSessions / st.humanSessions).toBeLessThan(0.5);
    expect(st.humanEvents + st.botEvents).toBe(st.uniqueEvents);
    expect(gt.sessions.length).toBe(st.humanSessions);
    expect(st.humanEvents).toBe(humanEvents.length);
    expect(unique.size - humanEvents.length).toBe(st.botEvents);
    // visitor-days after the first day whose visitor was first seen earlier: ~30%
    const firstDate = new Map<string, string>();
    for (const s of gt.sessions) if (s.firstSession) firstDate.set(s.clientId, s.date);
    const visitorDays = new Set(gt.sessions.filter((s) => s.date > OPTS.startDate).map((s) => `${s.clientId}|${s.date}`));
    const returning = [...visitorDays].filter((k) => (firstDate.get(k.split('|')[0]) as string) < k.split('|')[1]).length;
    expect(returning / visitorDays.size).toBeGreaterThan(0.22);
    expect(returning / visitorDays.size).toBeLessThan(0.33);
    expect(st.returningVisitors).toBeGreaterThan(0);
    expect(firstDate.size).toBe(st.humanVisitors);
  });

  it('has bounces of 0 s, sessions over 10 s, sessions across local midnight on every day, and none over 55 min', () => {
    expect(gt.sessions.some((s) => s.durationSeconds === 0 && s.pageViews === 1)).toBe(true);
    expect(gt.sessions.some((s) => s.durationSeconds > 10 && s.pageViews === 1)).toBe(true);
    expect(gt.sessions.some((s) => !s.engaged && s.engagementMsec > 0)).toBe(true);
    expect(Math.max(...gt.sessions.map((s) => s.durationSeconds))).toBeLessThanOrEqual(55 * 60);
    for (let d = 0; d < OPTS.days; d++) {
      const date = addDays(OPTS.startDate, d);
      const crossing = gt.sessions.filter((s) => s.date === date && s.parts.some((p) => p.date !== date));
      expect(crossing.length, date).toBeGreaterThan(0);
      for (const s of crossing) expect(localDateOf(s.endMs, OPTS.timeZone)).toBe(addDays(date, 1));
    }
    expect(gt.stats.midnightSessions).toBeGreaterThanOrEqual(OPTS.days);
    for (const s of gt.sessions) expect(localDateOf(s.startMs, OPTS.timeZone)).toBe(s.date);
  });

  it('is deterministic', () => {
    expect(groundTruth(OPTS)).toEqual(gt);
  });

  it('dates by the local calendar where DST skips midnight and in half-hour zones', () => {
    // Chile springs forward at 24:00 on 2024-09-07: 2024-09-08 begins at 01:00
    for (const timeZone of ['America/Santiago', 'Asia/Kolkata']) {
      const small = groundTruth({ seed: 5, startDate: '2024-09-06', days: 3, timeZone, visitorsPerDay: 60 });
      for (const s of small.sessions) {
        expect(localDateOf(s.startMs, timeZone)).toBe(s.date);
        for (const p of s.parts) expect([s.date, addDays(s.date, 1)]).toContain(p.date);
        expect(localDateOf(s.endMs, timeZone)).toBe(s.parts.some((p) => p.date !== s.date) ? addDays(s.date, 1) : s.date);
      }
      const days = expectedReport(small, { startDate: '2024-09-06', endDate: '2024-09-08', dimension: 'date' });
      expect([...days.keys()]).toEqual(['2024-09-06', '2024-09-07', '2024-09-08']);
    }
  });
});

describe('expectedReport', () => {
  const ranges: Omit<ReportQuery, 'dimension'>[] = [
    { startDate: OPTS.startDate, endDate: SPILL_DAY },
    { startDate: OPTS.startDate, endDate: LAST_DAY },
    { startDate: '2024-03-10', endDate: '2024-03-10' },
    { startDate: '2024-03-09', endDate: '2024-03-10' },
  ];

  it('matches an independent computation from the event stream for every dimension and range', () => {
    for (const r of ranges) {
      for (const dimension of DIMENSIONS) {
        const q = { ...r, dimension };
        expectSameReport(expectedReport(gt, q), referenceReport(q), `${r.startDate}..${r.endDate} ${dimension ?? '(none)'}`);
      }
    }
  });

  it('splits the totals across session-scoped dimension values without loss', () => {
    for (const r of ranges) {
      const all = total(r);
      for (const dimension of SESSION_SCOPED) {
        const rows = [...expectedReport(gt, { ...r, dimension }).values()];
        for (const m of SUMMED) expect(Math.abs(rows.reduce((a, x) => a + x[m], 0) - all[m]), `${dimension} ${m}`).toBeLessThan(1e-9);
        const users = rows.map((x) => x.totalUsers);
        expect(Math.max(...users)).toBeLessThanOrEqual(all.totalUsers);
        expect(users.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(all.totalUsers);
      }
    }
  });

  it('sums sessions by start date and events by event date to the totals', () => {
    const r = ranges[0];
    const all = total(r);
    const byDate = expectedReport(gt, { ...r, dimension: 'date' });
    expect([...byDate.keys()]).toEqual(Array.from({ length: OPTS.days + 1 }, (_, d) => addDays(OPTS.startDate, d)));
    for (const m of SUMMED) expect(Math.abs([...byDate.values()].reduce((a, x) => a + x[m], 0) - all[m])).toBeLessThan(1e-9);
    expect(all.sessions).toBe(gt.sessions.length);
    expect(all.newUsers).toBe(gt.stats.humanVisitors);
    expect(all.totalUsers).toBe(gt.stats.humanVisitors);
    // sessions crossing the last midnight put events, but no session, on the day after
    const spill = byDate.get(SPILL_DAY) as ExpectedMetrics;
    expect(spill.sessions).toBe(0);
    expect(spill.eventCount).toBeGreaterThan(0);
    expect(total({ startDate: OPTS.startDate, endDate: LAST_DAY }).eventCount).toBe(all.eventCount - spill.eventCount);
    for (const [date, row] of byDate) expect(row).toEqual(total({ startDate: date, endDate: date }));
  });

  it('counts every page view and event once by page path', () => {
    const r = ranges[0];
    const all = total(r);
    const rows = [...expectedReport(gt, { ...r, dimension: 'pagePath' }).values()];
    for (const m of ['screenPageViews', 'eventCount', 'keyEvents', 'userEngagementDuration', 'newUsers'] as const) {
      expect(Math.abs(rows.reduce((a, x) => a + x[m], 0) - all[m]), m).toBeLessThan(1e-9);
    }
    expect(rows.reduce((a, x) => a + x.sessions, 0)).toBeGreaterThan(all.sessions);
    const paths = [...expectedReport(gt, { ...r, dimension: 'pagePath' }).keys()];
    expect(paths).toContain('/');
    expect(paths).toContain('/checkout');
    for (const p of paths) expect(p).toMatch(/^\/(products(\/[a-z0-9-]+)?|cart|checkout|blog\/[a-z0-9-]+)?$/);
  });

  it('keeps every row internally consistent', () => {
    for (const r of ranges) {
      for (const dimension of DIMENSIONS) {
        for (const [k, x] of expectedReport(gt, { ...r, dimension })) {
          const label = `${dimension}:${k}`;
          expect(x.newUsers, label).toBeLessThanOrEqual(x.activeUsers);
          expect(x.activeUsers, label).toBeLessThanOrEqual(x.totalUsers);
          expect(x.engagedSessions, label).toBeLessThanOrEqual(x.sessions);
          expect(x.keyEvents, label).toBeLessThanOrEqual(x.eventCount);
          expect(x.screenPageViews, label).toBeLessThanOrEqual(x.eventCount);
          if (x.sessions > 0) {
            expect(Math.abs(x.engagementRate + x.bounceRate - 1), label).toBeLessThan(1e-9);
            expect(Math.abs(x.eventsPerSession * x.sessions - x.eventCount), label).toBeLessThan(1e-6);
          } else {
            expect([x.engagementRate, x.bounceRate, x.averageSessionDuration], label).toEqual([0, 0, 0]);
          }
        }
      }
    }
  });

  it('reports the attribution and geography the model intended', () => {
    const r = ranges[0];
    const channels = expectedReport(gt, { ...r, dimension: 'sessionDefaultChannelGroup' });
    expect(new Set(channels.keys())).toEqual(new Set(['Direct', 'Organic Search', 'Organic Social', 'Email', 'Paid Search', 'Referral']));
    const sources = expectedReport(gt, { ...r, dimension: 'sessionSource' });
    expect(new Set(sources.keys())).toEqual(new Set(['(direct)', 'google', 'bing', 'facebook.com', 'newsletter', 'theverge.com']));
    const devices = expectedReport(gt, { ...r, dimension: 'deviceCategory' });
    expect(new Set(devices.keys())).toEqual(new Set(['desktop', 'mobile', 'tablet']));
    const countries = expectedReport(gt, { ...r, dimension: 'country' });
    for (const c of ['US', 'GB', 'DE', 'FR', 'JP', 'BR', 'IN']) expect(countries.has(c), c).toBe(true);
    expect(total(r).keyEvents).toBeGreaterThan(0);
  });

  it('refuses malformed or reversed date ranges', () => {
    for (const q of [
      { startDate: '2024-3-8', endDate: LAST_DAY },
      { startDate: LAST_DAY, endDate: OPTS.startDate },
    ]) {
      let err: unknown;
      try {
        expectedReport(gt, q);
      } catch (e) {
        err = e;
      }
      expect(isTallyError(err) && err.code === 'invalid_argument').toBe(true);
    }
  });
});

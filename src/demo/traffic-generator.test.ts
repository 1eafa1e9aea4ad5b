import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { isTallyError } from '../infra/errors.js';
import { groundTruth } from './ground-truth.js';
import { generateTraffic, type NativeEvent, type TrafficItem, type TrafficOptions } from './traffic-generator.js';

const OPTS: TrafficOptions = {
  seed: 42,
  startDate: '2024-03-08',
  days: 3,
  timeZone: 'America/New_York',
  visitorsPerDay: 300,
  botShare: 0.1,
  duplicateShare: 0.05,
  lateShare: 0.1,
};
const HOUR = 3_600_000;
const items = [...generateTraffic(OPTS)];
const gt = groundTruth(OPTS);

describe('generateTraffic', () => {
  it('gives the same events for the same options and different ones for another seed', () => {
    expect([...generateTraffic(OPTS)]).toEqual(items);
    const other = [...generateTraffic({ ...OPTS, seed: 43 })];
    expect(other.slice(0, 50)).not.toEqual(items.slice(0, 50));
  });

  it('yields in send order: live events at their time, late sessions 1–60 h later, resends soon after', () => {
    const firstDelay = new Map<string, number>();
    let late = 0;
    for (let i = 0; i < items.length; i++) {
      const { event, sendAt } = items[i];
      if (i > 0) expect(sendAt).toBeGreaterThanOrEqual(items[i - 1].sendAt);
      const delay = sendAt - event.timestamp;
      const id = event.event_id as string;
      const before = firstDelay.get(id);
      if (before === undefined) {
        firstDelay.set(id, delay);
        expect(delay === 0 || (delay >= HOUR && delay <= 60 * HOUR), `delay ${delay}`).toBe(true);
        if (delay > 0) late++;
      } else {
        expect(delay - before).toBeGreaterThanOrEqual(1_000);
        expect(delay - before).toBeLessThanOrEqual(120_000);
      }
    }
    expect(late).toBe(gt.stats.lateEvents);
    expect(late).toBeGreaterThan(0);
  });

  it('resends a duplicate with the same event_id and the same content, as often as the ground truth says', () => {
    const byId = new Map<string, NativeEvent[]>();
    for (const { event } of items) {
      const list = byId.get(event.event_id as string) ?? [];
      list.push(event);
      byId.set(event.event_id as string, list);
    }
    let resent = 0;
    for (const list of byId.values()) {
      expect(list.length).toBeLessThanOrEqual(2);
      if (list.length === 2) {
        resent++;
        expect(list[1]).toEqual(list[0]);
        expect(list[1]).not.toBe(list[0]);
      }
    }
    expect(items.length).toBe(gt.stats.sentEvents);
    expect(byId.size).toBe(gt.stats.uniqueEvents);
    expect(resent).toBe(gt.stats.duplicateEvents);
    expect(resent / byId.size).toBeGreaterThan(0.035);
    expect(resent / byId.size).toBeLessThan(0.065);
  });

  it('emits well-formed native events on the property host', () => {
    const names = new Set<string>();
    const bad: string[] = [];
    const check = (ok: boolean, what: string, e: NativeEvent): void => {
      if (!ok) bad.push(`${what}: ${JSON.stringify(e)}`);
    };
    for (const { event: e } of items) {
      names.add(e.name);
      check(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(e.event_id ?? ''), 'event_id', e);
      check(/^\d+\.\d{10}$/.test(e.client_id), 'client_id', e);
      check(Number.isInteger(e.timestamp), 'timestamp', e);
      check(new URL(e.url as string).host === 'shop.example.com', 'host', e);
      check(!!e.user_agent && !!e.ip && !!e.language && !!e.title, 'visitor fields', e);
      check(e.session_id === undefined || /^\d{10}$/.test(e.session_id), 'session_id', e);
      if (e.name === 'user_engagement') {
        const msec = e.params?.engagement_time_msec;
        check(Number.isInteger(msec) && (msec as number) > 0, 'engagement_time_msec', e);
      }
      if (e.name === 'purchase') {
        check(e.params?.currency === 'USD' && typeof e.params.transaction_id === 'string' && typeof e.params.value === 'number', 'purchase params', e);
        check(new URL(e.url as string).pathname === '/checkout', 'purchase page', e);
      }
    }
    expect(bad.slice(0, 5)).toEqual([]);
    expect(names).toEqual(new Set(['first_visit', 'page_view', 'scroll', 'click', 'user_engagement', 'purchase']));
    const [first] = generateTraffic({ ...OPTS, hostName: 'demo.tally.test' });
    expect(new URL(first.event.url as string).host).toBe('demo.tally.test');
  });

  it('refuses bad options with invalid_argument', () => {
    const bad: Partial<TrafficOptions>[] = [
      { timeZone: 'Mars/Olympus' },
      { startDate: '2024-02-30' },
      { days: 0 },
      { visitorsPerDay: 0 },
      { botShare: 1.5 },
      { seed: 0.5 },
      { hostName: 'https://x.test/' },
    ];
    for (const b of bad) {
      let err: unknown;
      try {
        generateTraffic({ ...OPTS, ...b }).next();
      } catch (e) {
        err = e;
      }
      expect(isTallyError(err) && err.code === 'invalid_argument', JSON.stringify(b)).toBe(true);
    }
  });

  it('streams a million events without accumulating them', () => {
    // what stays reachable, not heapUsed as found: uncollected garbage counts there, and how much
    // of it V8 lets pile up differs between versions (Node 24's went past the bound on its own)
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const live = () => {
      gc();
      return process.memoryUsage().heapUsed;
    };
    const base = live();
    let peak = 0;
    let count = 0;
    let last: TrafficItem | undefined;
    let ordered = true;
    for (const it of generateTraffic({ seed: 3, startDate: '2024-06-01', days: 10, timeZone: 'UTC', visitorsPerDay: 13_000 })) {
      count++;
      if (last && it.sendAt < last.sendAt) ordered = false;
      last = it;
      if ((count & 0xffff) === 0) peak = Math.max(peak, live() - base);
    }
    expect(count).toBeGreaterThan(1_000_000);
    expect(ordered).toBe(true);
    // holding a million events would take several hundred MB
    expect(peak).toBeLessThan(150 * 1024 * 1024);
  });
});

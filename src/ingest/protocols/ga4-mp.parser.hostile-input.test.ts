import { KNOWN_TOP_LEVEL } from './ga4-mp.request.js';
import { describe, expect, it } from 'vitest';
import { TallyError } from '../../infra/errors.js';
import type { ParamValue } from '../../domain/raw-event.js';
import { parseGa4MpBody, type Ga4MpParseResult } from './ga4-mp.parser.js';
import { GA4_MP_LIMITS, NAME_PATTERN } from './ga4-mp.limits.js';
import { type Body, parse, req, one, refusedOnly, repeat } from './ga4-mp.parser.testkit.js';

describe('hostile input', () => {
  const nested = (depth: number): unknown => {
    let v: unknown = 'leaf';
    for (let i = 0; i < depth; i++) v = { a: v };
    return v;
  };

  it('refuses deeply nested unknown fields without throwing', () => {
    refusedOnly({ ...req(), deep: nested(50_000) }, 'deep', 'VALUE_INVALID');
    refusedOnly({ client_id: '1.2', events: [{ name: 'x', deep: nested(50_000) }] }, 'events[0].deep', 'VALUE_INVALID');
    refusedOnly(req({ device: { extra: nested(100) } }), 'device', 'VALUE_INVALID');
    expect(one({ ...req(), shallow: nested(GA4_MP_LIMITS.maxNestingDepth - 1) }).params.shallow).toBeDefined();
  });

  it('reads a 60 000-deep JSON body and refuses it without a stack overflow', () => {
    const n = 60_000;
    const text = '{"client_id":"1.2","events":[{"name":"x"}],"d":' + '{"a":'.repeat(n) + '1' + '}'.repeat(n) + '}';
    const body = parseGa4MpBody(Buffer.from(text));
    refusedOnly(body, 'd', 'VALUE_INVALID');
  });

  it('handles huge strings everywhere', () => {
    const huge = repeat(2_000_000, 'x');
    const r = parse({ client_id: huge, user_id: huge, events: [{ name: huge, params: { [huge]: huge, v: huge } }], [huge]: huge });
    expect(r.events).toEqual([]);
    expect(r.refused).toHaveLength(1);
    expect(r.validationMessages.every((m) => m.description.length < 400)).toBe(true);
  });

  it('caps the number of validation messages', () => {
    const params = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`_p${i}`, i]));
    const r = parse(req({}, params));
    expect(r.validationMessages).toHaveLength(GA4_MP_LIMITS.maxValidationMessages);
  });

  it('never throws on input that is not JSON at all', () => {
    const proxy = new Proxy(
      {},
      {
        ownKeys: () => {
          throw new Error('boom');
        },
      },
    );
    const r = parse(proxy);
    expect(r.events).toEqual([]);
    expect(r.refused).toHaveLength(1);
    for (const body of [
      { client_id: '1.2', events: [{ name: 'x', params: { f: () => 1 } }] },
      { client_id: 1n, events: [] },
    ]) {
      expect(() => parse(body)).not.toThrow();
    }
  });

  const WRONG_VALUES: unknown[] = [null, true, 0, -1, 1e308, '', 'x', [], [1, 'a'], {}, { value: 1 }, [[[]]], repeat(300)];
  // every request-level field the parser knows, and one it does not
  const FIELDS = [...KNOWN_TOP_LEVEL, 'non_personalized_ads'];

  it('survives every wrong type at every top-level and event-level field', () => {
    for (const value of WRONG_VALUES) {
      for (const field of FIELDS) checkInvariants({ ...req({}, { a: 1 }, { b: 2 }), [field]: value });
      for (const field of ['name', 'params', 'timestamp_micros', 'other']) {
        checkInvariants({ client_id: '1.2', events: [{ name: 'x', [field]: value }, { name: 'y' }] });
      }
      checkInvariants(req({}, { p: value, items: value }));
      checkInvariants(req({ user_properties: { u: value, v: { value } } }));
      checkInvariants(req({}, { items: [value, { item_id: value }] }));
    }
  });
});

describe('property: random JSON', () => {
  // Small seeded PRNG (mulberry32) so failures reproduce.
  function rng(seed: number) {
    return () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }
  const KEYS = [
    'client_id',
    'app_instance_id',
    'user_id',
    'timestamp_micros',
    'user_properties',
    'consent',
    'user_location',
    'device',
    'ip_override',
    'user_agent',
    'events',
    'name',
    'params',
    'value',
    'items',
    'session_id',
    'page_location',
    'validation_behavior',
    'country_id',
    'screen_resolution',
    'ad_user_data',
    '_x',
    'firebase_conversion',
    'a',
    'b_1',
    '__proto__',
    'x-y',
  ];

  function randomJson(r: () => number, depth: number): unknown {
    const k = r();
    if (depth > 5 || k < 0.35) {
      const s = r();
      if (s < 0.2) return null;
      if (s < 0.35) return r() < 0.5;
      if (s < 0.55) return Math.floor((r() - 0.3) * 10 ** Math.floor(r() * 18));
      if (s < 0.65) return 'ENFORCE_RECOMMENDATIONS';
      return 'ab_c1😀-.'.slice(0, Math.floor(r() * 9)).repeat(1 + Math.floor(r() * 30));
    }
    const n = Math.floor(r() * (k < 0.5 ? 30 : 6) * (depth > 1 ? 0.3 : 1));
    if (k < 0.65) return Array.from({ length: n }, () => randomJson(r, depth + 1));
    const o: Record<string, unknown> = {};
    for (let i = 0; i < n; i++)
      Object.defineProperty(o, KEYS[Math.floor(r() * KEYS.length)] + (r() < 0.2 ? String(i) : ''), {
        value: randomJson(r, depth + 1),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    return o;
  }

  it('parseGa4Mp never throws and keeps its invariants over 3000 random bodies', () => {
    const r = rng(20250115);
    let acceptedCount = 0;
    let refusedCount = 0;
    for (let i = 0; i < 3000; i++) {
      const v = randomJson(r, 0);
      const body = i % 2 === 0 && v && typeof v === 'object' && !Array.isArray(v) ? { client_id: '1.2', events: [v, { name: 'ok' }], ...v } : v;
      const out = checkInvariants(body);
      acceptedCount += out.events.length;
      refusedCount += out.refused.length;
    }
    // The generator must reach both outcomes, or the invariants prove little.
    expect(acceptedCount).toBeGreaterThan(100);
    expect(refusedCount).toBeGreaterThan(100);
  });

  it('parseGa4MpBody throws only malformed_body over random texts', () => {
    const r = rng(7);
    const pieces = ['{', '}', '[', ']', '"a"', ':', ',', '1', 'null', 'true', '"\\u00', ' ', '\uFEFF', '😀'];
    for (let i = 0; i < 2000; i++) {
      const text = Array.from({ length: Math.floor(r() * 12) }, () => pieces[Math.floor(r() * pieces.length)]).join('');
      const bytes = i % 5 === 0 ? Buffer.from(Array.from({ length: 8 }, () => Math.floor(r() * 256))) : Buffer.from(text);
      try {
        const v = parseGa4MpBody(bytes);
        expect(typeof v === 'object' && v !== null && !Array.isArray(v)).toBe(true);
        checkInvariants(v);
      } catch (e) {
        expect(e).toBeInstanceOf(TallyError);
        expect((e as TallyError).code).toBe('malformed_body');
      }
    }
  });
});

/** What must hold for any input: no throw, every event accounted for once, JSON-safe output. */
function checkInvariants(body: unknown): Ga4MpParseResult {
  let r!: Ga4MpParseResult;
  expect(() => (r = parse(body))).not.toThrow();
  const events = body && typeof body === 'object' ? (body as Body).events : undefined;
  const indexes = r.refused.map((x) => x.index);
  if (Array.isArray(events) && events.length > 0) {
    expect(new Set(indexes).size).toBe(indexes.length);
    expect(r.events.length + indexes.length).toBe(events.length);
    expect(indexes.every((i) => i >= 0 && i < events.length)).toBe(true);
  } else {
    expect(r.events).toEqual([]);
    expect(indexes).toEqual([-1]);
  }
  if (r.refused.length > 0) expect(r.validationMessages.length).toBeGreaterThan(0);
  for (const x of r.refused) expect(x.detail).not.toContain('internal parser error');
  expect(r.validationMessages.length).toBeLessThanOrEqual(GA4_MP_LIMITS.maxValidationMessages);
  for (const e of r.events) {
    expect(NAME_PATTERN.test(e.name)).toBe(true);
    expect(e.client_id).toEqual(expect.any(String));
    expect(JSON.parse(JSON.stringify(e.params)) as ParamValue).toEqual(e.params);
    expect(JSON.parse(JSON.stringify(e))).toEqual(e);
  }
  return r;
}

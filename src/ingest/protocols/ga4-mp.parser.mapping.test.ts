import { describe, expect, it } from 'vitest';
import { DROPPED_PARAM } from '../parsed-event.js';
import { USER_PROPERTY_TIMESTAMPS_PARAM } from './ga4-mp.event.js';
import { NOW, HOUR, ENFORCE, parse, req, accepted, one, refusedOnly, repeat } from './ga4-mp.parser.testkit.js';

describe('timestamps', () => {
  const micros = (ms: number) => ms * 1000;

  it('prefers the event timestamp, then the request timestamp, then null', () => {
    const body = {
      client_id: '1.2',
      timestamp_micros: micros(NOW - 2 * HOUR),
      events: [{ name: 'own', timestamp_micros: micros(NOW - HOUR) + 999 }, { name: 'inherits' }],
    };
    expect(accepted(body).map((e) => e.client_ts)).toEqual([NOW - HOUR, NOW - 2 * HOUR]);
    expect(one(req()).client_ts).toBeNull();
  });

  it('accepts exactly 72 h old; older is clamped and recorded (RELAXED) or refused (ENFORCE)', () => {
    const limit = NOW - 72 * HOUR;
    expect(one({ client_id: '1.2', events: [{ name: 'x', timestamp_micros: micros(limit) }] }).client_ts).toBe(limit);

    const old = micros(limit - 1);
    const e = one({ client_id: '1.2', events: [{ name: 'x', timestamp_micros: old }] });
    expect(e.client_ts).toBe(limit);
    expect(e.params[DROPPED_PARAM]).toEqual({ 'events[0].timestamp_micros': old });

    refusedOnly({ ...ENFORCE, client_id: '1.2', events: [{ name: 'x', timestamp_micros: old }] }, 'events[0].timestamp_micros', 'VALUE_OUT_OF_BOUNDS');
    const r = refusedOnly(
      { ...ENFORCE, client_id: '1.2', timestamp_micros: old, events: [{ name: 'a' }, { name: 'b' }] },
      'timestamp_micros',
      'VALUE_OUT_OF_BOUNDS',
    );
    expect(r.validationMessages).toHaveLength(1);
    expect(r.refused).toHaveLength(2);
  });

  it('clamps future timestamps to receipt time in both modes, keeping the original', () => {
    for (const extra of [{}, ENFORCE]) {
      const future = micros(NOW + 1);
      const e = one({ ...extra, client_id: '1.2', timestamp_micros: future, events: [{ name: 'x' }] });
      expect(e.client_ts).toBe(NOW);
      expect(e.params[DROPPED_PARAM]).toEqual({ timestamp_micros: future });
    }
    expect(one({ client_id: '1.2', events: [{ name: 'x', timestamp_micros: micros(NOW) }] }).client_ts).toBe(NOW);
  });

  it('refuses an event timestamp that is not a number', () => {
    refusedOnly({ client_id: '1.2', events: [{ name: 'x', timestamp_micros: 'yesterday' }] }, 'events[0].timestamp_micros', 'VALUE_INVALID');
    refusedOnly({ client_id: '1.2', events: [{ name: 'x', timestamp_micros: ' 1700000000000000' }] }, 'events[0].timestamp_micros', 'VALUE_INVALID');
  });

  it('takes int64 fields as decimal strings too, as proto3 JSON writes them (top level, per event, user properties)', () => {
    const body = {
      client_id: '1.2',
      timestamp_micros: String(micros(NOW - 2 * HOUR)),
      user_properties: { plan: { value: 'gold', timestamp_micros: String(micros(NOW - 3 * HOUR)) } },
      events: [{ name: 'own', timestamp_micros: String(micros(NOW - HOUR)) }, { name: 'inherits' }],
    };
    const r = parse(body);
    expect(r.refused).toEqual([]);
    expect(r.validationMessages).toEqual([]);
    expect(r.events.map((e) => e.client_ts)).toEqual([NOW - HOUR, NOW - 2 * HOUR]);
    expect(r.events[0].params[USER_PROPERTY_TIMESTAMPS_PARAM]).toEqual({ plan: micros(NOW - 3 * HOUR) });
  });

  it('notices what /mp/collect re-dates (for /debug/mp/collect), without refusing it', () => {
    const old = micros(NOW - 73 * HOUR);
    const relaxed = parse({
      client_id: '1.2',
      events: [{ name: 'x', timestamp_micros: old }, { name: 'y', timestamp_micros: micros(NOW + HOUR) }, { name: 'z' }],
    });
    expect(relaxed.events).toHaveLength(3);
    expect(relaxed.validationMessages).toEqual([]);
    expect(relaxed.notices.map((n) => [n.fieldPath, n.validationCode])).toEqual([
      ['events[0].timestamp_micros', 'VALUE_OUT_OF_BOUNDS'],
      ['events[1].timestamp_micros', 'VALUE_OUT_OF_BOUNDS'],
    ]);
    expect(relaxed.notices[0].description).toMatch(/re-dates the event to 72 hours before/);
    expect(relaxed.notices[1].description).toMatch(/re-dates the event to the time it is received/);
    // refused in ENFORCE: a validation message, and no notice for an event that is not kept
    const enforced = parse({ ...ENFORCE, client_id: '1.2', events: [{ name: 'x', timestamp_micros: old }] });
    expect(enforced.notices).toEqual([]);
    expect(enforced.validationMessages.map((m) => m.fieldPath)).toEqual(['events[0].timestamp_micros']);
  });
});

describe('mapping to ParsedEvent', () => {
  it('maps every field of a full request', () => {
    const body = {
      client_id: '1234567890.1700000000',
      user_id: 'user-42',
      timestamp_micros: (NOW - HOUR) * 1000,
      user_properties: { plan: { value: 'gold' } },
      consent: { ad_user_data: 'granted', ad_personalization: 'DENIED' },
      user_location: { city: 'Mountain View', region_id: 'US-CA', country_id: 'us', subcontinent_id: '021', continent_id: '019' },
      ip_override: '203.0.113.7',
      user_agent: 'Mozilla/5.0 (X11; Linux x86_64)',
      user_data: { sha256_email_address: ['abc'] },
      non_personalized_ads: false,
      custom_top: 'kept',
      events: [
        {
          name: 'page_view',
          extra_field: { nested: [1, 'two'] },
          params: {
            session_id: 1700000000,
            page_location: 'https://example.com/a?utm_source=x',
            page_referrer: 'https://google.com/',
            page_title: 'A page',
            engagement_time_msec: 100,
            source: 'newsletter',
          },
        },
      ],
    };
    expect(one(body)).toEqual({
      event_id: null,
      protocol: 'ga4mp',
      client_ts: NOW - HOUR,
      name: 'page_view',
      client_id: '1234567890.1700000000',
      user_id: 'user-42',
      session_id: '1700000000',
      url: 'https://example.com/a?utm_source=x',
      referrer: 'https://google.com/',
      title: 'A page',
      ua: 'Mozilla/5.0 (X11; Linux x86_64)',
      ip: '203.0.113.7',
      geo: { country: 'US', region: 'US-CA', city: 'Mountain View' },
      language: null,
      screen: null,
      consent: { ad_user_data: 'GRANTED', ad_personalization: 'DENIED' },
      params: {
        engagement_time_msec: 100,
        source: 'newsletter',
        extra_field: { nested: [1, 'two'] },
        user_location: body.user_location,
        user_data: { present: true },
        non_personalized_ads: false,
        custom_top: 'kept',
      },
      user_props: { plan: 'gold' },
    });
  });

  it('takes language and screen from device, ignores user_agent then, and keeps both in params', () => {
    const device = {
      category: 'mobile',
      language: 'en-us',
      screen_resolution: '1280x2856',
      operating_system: 'Android',
      operating_system_version: '14',
      model: 'Pixel 9 Pro',
      brand: 'Google',
      browser: 'Chrome',
      browser_version: '136.0.7103.60',
    };
    const e = one(req({ device, user_agent: 'Mozilla/5.0' }));
    expect(e.ua).toBeNull();
    expect(e.language).toBe('en-us');
    expect(e.screen).toBe('1280x2856');
    expect(e.params.device).toEqual(device);
    expect(e.params.user_agent).toBe('Mozilla/5.0');
  });

  it('uses app_instance_id as the client id, and keeps it in params when client_id is also sent', () => {
    const app = 'f'.repeat(32);
    expect(one({ app_instance_id: app, events: [{ name: 'x' }] }).client_id).toBe(app);
    const both = one({ client_id: '1.2', app_instance_id: app, events: [{ name: 'x' }] });
    expect(both.client_id).toBe('1.2');
    expect(both.params.app_instance_id).toBe(app);
  });

  it('takes session_id as a string whether sent as a string or a number', () => {
    expect(one(req({}, { session_id: '1700000000' })).session_id).toBe('1700000000');
    expect(one(req({}, { session_id: 1700000001 })).session_id).toBe('1700000001');
    const odd = one(req({}, { session_id: true }));
    expect(odd.session_id).toBeNull();
    expect(odd.params.session_id).toBe(true);
  });

  it('keeps a non-string page_location as a param instead of a URL', () => {
    const e = one(req({}, { page_location: 42 }));
    expect(e.url).toBeNull();
    expect(e.params.page_location).toBe(42);
  });

  it('on a name clash the event param wins and the other value is recorded, nothing lost', () => {
    const e = one({ client_id: '1.2', device: { category: 'desktop' }, events: [{ name: 'x', device: 'evt', params: { device: 'param' } }] });
    expect(e.params.device).toBe('param');
    expect(e.params[DROPPED_PARAM]).toEqual({ 'events[0].device': 'evt', device: { category: 'desktop' } });
  });

  it('keeps params and fields named like Object.prototype members, under the same length limit as any other', () => {
    const body = JSON.parse(
      '{"client_id":"1.2","toString":"top","events":[{"name":"sign_up","__proto__":"e","hasOwnProperty":"h",' +
        `"params":{"constructor":"c","toString":"t","valueOf":"${repeat(101)}"}}]}`,
    );
    const e = one(body);
    expect(Object.getOwnPropertyDescriptor(e.params, '__proto__')?.value).toBe('e');
    expect(e.params).toMatchObject({ constructor: 'c', toString: 't', hasOwnProperty: 'h' });
    expect(e.params[DROPPED_PARAM]).toEqual({ 'events[0].params.valueOf': repeat(101), toString: 'top' });
    expect(JSON.stringify(e.params)).toContain('"__proto__":"e"');
    refusedOnly(req(ENFORCE, JSON.parse(`{"constructor":"${repeat(101)}"}`)), 'events[0].params.constructor', 'VALUE_OUT_OF_BOUNDS');
  });

  it('keeps a __proto__ key as data', () => {
    const body = JSON.parse('{"client_id":"1.2","__proto__":{"polluted":1},"events":[{"name":"x","__proto__":"e"}]}');
    const e = one(body);
    expect(Object.getPrototypeOf(e.params)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(e.params, '__proto__')?.value).toBe('e');
    expect(e.params[DROPPED_PARAM]).toEqual(JSON.parse('{"__proto__":{"polluted":1}}'));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('accepts IPv6 overrides and empty consent', () => {
    const e = one(req({ ip_override: '2001:db8::1', consent: {} }));
    expect(e.ip).toBe('2001:db8::1');
    expect(e.consent).toEqual({});
  });

  it('does not share mutable objects between events of one request', () => {
    const [a, b] = accepted(req({ device: { category: 'x' }, consent: { ad_user_data: 'GRANTED' } }, {}, {}));
    expect(a.params.device).not.toBe(b.params.device);
    expect(a.consent).not.toBe(b.consent);
    expect(a.params.device).toEqual(b.params.device);
  });
});

import { describe, expect, it } from 'vitest';
import { parseUmami } from './umami.parser.js';

const NOW = Date.UTC(2026, 0, 15, 12);
const ctx = { receivedAt: NOW };

function ok(body: unknown) {
  const r = parseUmami(body, ctx);
  if (!r.ok) throw new Error(r.error);
  return r;
}

describe('Umami parser', () => {
  it('maps a tracker page view (no name) with paths resolved against the hostname', () => {
    // src/tracker/index.js getPayload(): website, screen, language, title, hostname, url, referrer, tag, id
    const r = ok({
      type: 'event',
      payload: {
        website: 'G-ABC123',
        screen: '1920x1080',
        language: 'en-US',
        title: 'Home',
        hostname: 'shop.example',
        url: '/pricing?utm_source=news',
        referrer: 'https://www.google.com/',
        tag: 'b',
      },
    });
    expect(r.website).toBe('G-ABC123');
    expect(r.event).toMatchObject({
      protocol: 'umami',
      name: 'page_view',
      url: 'https://shop.example/pricing?utm_source=news',
      referrer: 'https://www.google.com/',
      title: 'Home',
      language: 'en-US',
      screen: '1920x1080',
      client_id: null,
      user_id: null,
      client_ts: null,
    });
    expect(r.event.params).toEqual({ _tally_source_name: '(pageview)', hostname: 'shop.example', tag: 'b' });
  });

  it('maps a custom event with data, id, timestamp in seconds and payload ip/userAgent', () => {
    const r = ok({
      type: 'event',
      payload: {
        website: '400000001',
        name: 'signup',
        data: { plan: 'pro', seats: 3, meta: { a: 1 } },
        id: 'user-7',
        timestamp: NOW / 1000 - 60,
        ip: '203.0.113.9',
        userAgent: 'Mozilla/5.0 Test',
      },
    });
    expect(r.event).toMatchObject({
      name: 'signup',
      client_id: 'user-7',
      user_id: 'user-7',
      client_ts: NOW - 60_000,
      ip: '203.0.113.9',
      ua: 'Mozilla/5.0 Test',
    });
    expect(r.event.params).toEqual({ plan: 'pro', seats: 3, meta: { a: 1 }, _tally_source_name: 'signup' });
  });

  it('turns identify with an id into an identity link (client id filled by the route), data into user props', () => {
    const r = ok({ type: 'identify', payload: { website: 'G-ABC123', id: 'user-7', data: { plan: 'pro' } } });
    expect(r.event.name).toBe('tally_identity_link');
    expect(r.event).toMatchObject({ user_id: 'user-7', client_id: null, user_props: { plan: 'pro' } });
    expect(r.event.params).toMatchObject({ user_id: 'user-7', link_kind: 'identify', source_protocol: 'umami' });
    const anon = ok({ type: 'identify', payload: { website: 'G-ABC123', data: { plan: 'free' } } });
    expect(anon.event).toMatchObject({ name: 'umami_identify', user_id: null, user_props: { plan: 'free' } });
  });

  it('maps performance payloads to web_vitals, keeping the metrics', () => {
    const r = ok({ type: 'performance', payload: { website: 'G-ABC123', url: 'https://a.example/', lcp: 1200, cls: 0.01 } });
    expect(r.event.name).toBe('web_vitals');
    expect(r.event.params).toMatchObject({ lcp: 1200, cls: 0.01 });
  });

  it('clamps timestamps to the last 72 hours and to now, keeping the original', () => {
    const old = ok({ type: 'event', payload: { website: 'w', timestamp: NOW / 1000 - 10 * 86_400 } });
    expect(old.event.client_ts).toBe(NOW - 72 * 3_600_000);
    expect(old.event.params._tally_dropped).toEqual({ timestamp: NOW / 1000 - 10 * 86_400 });
    expect(ok({ type: 'event', payload: { website: 'w', timestamp: NOW / 1000 + 3600 } }).event.client_ts).toBe(NOW);
  });

  it('refuses hostile input with a message, never throws', () => {
    const cases: unknown[] = [
      null,
      [],
      'x',
      { type: 'event' },
      { type: 'nope', payload: { website: 'w' } },
      { type: 'event', payload: [] },
      { type: 'event', payload: {} },
      { type: 'event', payload: { website: 7 } },
      { type: 'event', payload: { website: 'w', name: 'n'.repeat(51) } },
      { type: 'event', payload: { website: 'w', hostname: 'h'.repeat(101) } },
      { type: 'event', payload: { website: 'w', url: 'u'.repeat(9000) } },
      { type: 'event', payload: { website: 'w', data: 'x' } },
      { type: 'event', payload: { website: 'w', data: { big: 'x'.repeat(70_000) } } },
      { type: 'event', payload: { website: 'w', timestamp: 'yesterday' } },
      { type: 'event', payload: { website: 'w', lcp: 'slow' } },
      { type: 'event', payload: { website: 'w', screen: { w: 1 } } },
    ];
    for (const c of cases) {
      const r = parseUmami(c, ctx);
      expect(r.ok, JSON.stringify(c)?.slice(0, 80)).toBe(false);
      if (!r.ok) expect(r.error).toMatch(/\w/);
    }
  });

  it('keeps data and payload fields named like Object.prototype members under their own name', () => {
    const r = ok(
      JSON.parse(`{"type":"event","payload":{
      "website": "G-ABC123", "hostname": "shop.example", "url": "/", "name": "signup", "toString": "t",
      "data": { "__proto__": "p", "constructor": "c", "hasOwnProperty": "h" }
    }}`),
    );
    const params = r.event.params;
    expect(Object.getOwnPropertyDescriptor(params, '__proto__')?.value).toBe('p');
    expect(params).toMatchObject({ constructor: 'c', hasOwnProperty: 'h', toString: 't' });
    expect(params._tally_dropped).toBeUndefined();
    expect(JSON.stringify(params)).toContain('"__proto__":"p"');

    const identify = ok(JSON.parse('{"type":"identify","payload":{"website":"G-ABC123","data":{"__proto__":"gold","toString":"t"}}}'));
    expect(Object.entries(identify.event.user_props)).toEqual([
      ['__proto__', 'gold'],
      ['toString', 't'],
    ]);
  });

  it('refuses data nested too deeply to serialise instead of throwing', () => {
    // JSON.parse accepts nesting that overflows JSON.stringify's stack, well within the 1 MB body limit
    const depth = 200_000;
    const body = JSON.parse(`{"type":"event","payload":{"website":"G-ABC123","data":{"a":${'['.repeat(depth)}${']'.repeat(depth)}}}}`);
    expect(parseUmami(body, ctx)).toEqual({ ok: false, error: 'payload.data: nested too deeply' });
  });
});

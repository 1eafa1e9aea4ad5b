import { describe, expect, it } from 'vitest';
import { parsePlausible, PLAUSIBLE_LIMITS } from './plausible.parser.js';

function ok(body: unknown) {
  const r = parsePlausible(body);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r;
}

describe('Plausible parser', () => {
  it('maps the short keys the official script sends (text/plain JSON)', () => {
    // tracker/src: { n, u, d, r, w, h?, p?, $? }
    const r = ok({ n: 'pageview', u: 'https://shop.example/pricing?utm_source=news#top', d: 'shop.example', r: 'https://google.com/', w: 1280, v: 21 });
    expect(r.domains).toEqual(['shop.example']);
    expect(r.event).toMatchObject({
      protocol: 'plausible',
      name: 'page_view',
      url: 'https://shop.example/pricing?utm_source=news',
      referrer: 'https://google.com/',
      client_id: null,
      client_ts: null,
    });
    expect(r.event.params).toEqual({ _tally_source_name: 'pageview', tracker_version: 21, screen_width: 1280 });
  });

  it('maps the long keys of the Events API, props given as a JSON string, revenue and hash mode', () => {
    const r = ok({
      name: 'Purchase',
      url: 'https://shop.example/checkout#step-2',
      domain: 'www.Shop.example, other.example',
      referrer: '',
      props: JSON.stringify({ plan: 'pro', seats: 3, nested: { x: 1 }, empty: '' }),
      revenue: { amount: '19.90', currency: 'eur' },
      hashMode: 1,
      interactive: false,
    });
    expect(r.domains).toEqual(['shop.example', 'other.example']);
    expect(r.event.name).toBe('Purchase');
    expect(r.event.url).toBe('https://shop.example/checkout#step-2');
    expect(r.event.referrer).toBeNull();
    expect(r.event.params).toEqual({
      _tally_source_name: 'Purchase',
      plan: 'pro',
      seats: '3',
      value: 19.9,
      currency: 'EUR',
      non_interaction: true,
      hash_mode: true,
    });
  });

  it('maps engagement events (sd, e) to user_engagement with engagement_time_msec', () => {
    const r = ok({ n: 'engagement', u: 'https://a.example/', d: 'a.example', sd: 57.4, e: 12_345 });
    expect(r.event.name).toBe('user_engagement');
    expect(r.event.params).toMatchObject({ engagement_time_msec: 12_345, percent_scrolled: 57 });
    expect(parsePlausible({ n: 'engagement', u: 'https://a.example/', d: 'a.example' })).toMatchObject({ ok: false });
  });

  it('accepts integer names (404 tracking) and falls back to the URL host for the domain', () => {
    const r = ok({ n: 404, u: 'https://www.a.example/missing' });
    expect(r.event.name).toBe('404');
    expect(r.domains).toEqual(['a.example']);
  });

  it('keeps unknown fields in params and a prop that collides with a mapped field in _tally_dropped', () => {
    const r = ok({ n: 'x', u: 'https://a.example/', d: 'a.example', custom: [1, 2], p: { currency: 'USD-prop' }, $: { amount: 1, currency: 'USD' } });
    expect(r.event.params.custom).toEqual([1, 2]);
    expect(r.event.params.currency).toBe('USD');
    expect(r.event.params._tally_dropped).toEqual({ 'props.currency': 'USD-prop' });
  });

  it('answers Plausible-style errors for invalid bodies', () => {
    expect(parsePlausible([])).toEqual({ ok: false, errors: { request: ['must be a JSON object'] } });
    expect(parsePlausible({ u: 'https://a.example/' })).toMatchObject({ ok: false, errors: { name: ["can't be blank"] } });
    expect(parsePlausible({ n: 'x' })).toMatchObject({ ok: false, errors: { url: ['is required'] } });
    expect(parsePlausible({ n: 'x', u: 'data:text/html,hi' })).toMatchObject({ ok: false, errors: { url: ['is invalid'] } });
    expect(parsePlausible({ n: 'x', u: 'not a url' })).toMatchObject({ ok: false });
    expect(parsePlausible({ n: 'x', u: 'https://a.example/', d: ' , ' })).toMatchObject({ ok: false, errors: { domain: ["can't be blank"] } });
  });

  it('refuses hostile input: wrong types and huge fields', () => {
    const big = 'x'.repeat(PLAUSIBLE_LIMITS.maxPropValueBytes + 1);
    const cases: unknown[] = [
      null,
      42,
      'pageview',
      { n: {}, u: 'https://a.example/' },
      { n: 'x'.repeat(121), u: 'https://a.example/' },
      { n: 'x', u: `https://a.example/${'a'.repeat(2100)}` },
      { n: 'x', u: 42 },
      { n: 'x', u: 'https://a.example/', d: ['a'] },
      { n: 'x', u: 'https://a.example/', r: {} },
      { n: 'x', u: 'https://a.example/', p: '{broken' },
      { n: 'x', u: 'https://a.example/', p: [1] },
      { n: 'x', u: 'https://a.example/', p: { k: big } },
      { n: 'x', u: 'https://a.example/', p: { ['k'.repeat(301)]: 'v' } },
      { n: 'x', u: 'https://a.example/', $: { amount: 'lots', currency: 'USD' } },
      { n: 'x', u: 'https://a.example/', $: 'ten' },
      { n: 'engagement', u: 'https://a.example/', sd: 'deep' },
      { n: 'x', u: 'https://a.example/', e: -5 },
    ];
    for (const c of cases) expect(parsePlausible(c).ok, JSON.stringify(c)?.slice(0, 80)).toBe(false);
  });

  it('keeps at most 30 props', () => {
    const p = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, i]));
    const r = ok({ n: 'x', u: 'https://a.example/', d: 'a.example', p });
    expect(Object.keys(r.event.params).filter((k) => k.startsWith('k'))).toHaveLength(30);
  });

  it('keeps props and fields named like Object.prototype members under their own name', () => {
    // JSON.parse, as the route reads the body: "__proto__" is an own key there
    const r = ok(
      JSON.parse(`{
        "n": "Signup", "u": "https://shop.example/", "d": "shop.example",
        "p": { "__proto__": "p", "constructor": "c", "toString": "t" },
        "hasOwnProperty": "h", "valueOf": "v"
      }`),
    );
    const params = r.event.params;
    expect(Object.getOwnPropertyDescriptor(params, '__proto__')?.value).toBe('p');
    expect(params).toMatchObject({ constructor: 'c', toString: 't', hasOwnProperty: 'h', valueOf: 'v' });
    expect(params._tally_dropped).toBeUndefined();
    expect(JSON.stringify(params)).toContain('"__proto__":"p"');
  });

  it('reads a top-level "toString" or "__proto__" as an unknown field, never as the prototype', () => {
    const r = ok(JSON.parse('{"n":"pageview","u":"https://shop.example/","toString":"t","__proto__":{"domain":"other.example","props":{"a":"b"}}}'));
    expect(r.domains).toEqual(['shop.example']);
    expect(r.event.params.toString).toBe('t');
    expect(Object.getOwnPropertyDescriptor(r.event.params, '__proto__')?.value).toEqual({ domain: 'other.example', props: { a: 'b' } });
    expect(r.event.params.a).toBeUndefined();
    expect(Object.keys(r.event.params)).not.toContain('function toString() { [native code] }');
  });
});

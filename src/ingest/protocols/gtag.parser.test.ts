import { describe, expect, it } from 'vitest';
import { gtagHits, gtagMeasurementId, parseGtag, parseGtagHit } from './gtag.parser.js';

// A batched gtag.js v2 request as gtag sends it with server_container_url set (PROTOCOLS.md §2,
// parameter set as captured from region1.analytics.google.com/g/collect).
const QUERY =
  'v=2&tid=G-ABC123&gtm=45je4a20v9171581443za200&_p=1700000000123&gcs=G101&gcd=13r3r3r2r5l1&npa=0&dma=0' +
  '&cid=1234567890.1700000000&ul=en-us&sr=1920x1080&uaa=x86&uab=64&uam=&uap=Windows&uapv=15.0.0&are=1&frm=0' +
  '&pscdl=noapi&_s=2&sid=1700000000&sct=3&seg=1&dl=https%3A%2F%2Fshop.example%2F%3Futm_source%3Dnews&dr=https%3A%2F%2Fwww.google.com%2F&dt=Home&tfd=2133';
const BODY = [
  'en=page_view&_fv=1&_nsi=1&_ss=1&_ee=1&tfd=2140',
  'en=add_to_cart&_et=4120&ep.coupon=SUMMER&epn.value=9.99&cu=USD&pr1=idSKU1~nmShoe~brAcme~caShoes~c2Men~pr9.99~qt1~k0color~v0red&pr2=idSKU2~nmSock~pr2~qt3&up.plan=pro&upn.lifetime_orders=4',
  'en=view_promotion&cs=hero&cn=summer_banner&ep.promotion_id=P1',
].join('\r\n');

function parse(query = QUERY, body = BODY) {
  const hits = gtagHits(new URLSearchParams(query), body);
  return parseGtag(hits, gtagMeasurementId(hits)!);
}

describe('gtag /g/collect parser', () => {
  it('splits one event per body line, each over the shared query parameters', () => {
    const { events, refused } = parse();
    expect(refused).toEqual([]);
    expect(events.map((e) => e.name)).toEqual(['page_view', 'add_to_cart', 'view_promotion']);
    for (const e of events) {
      expect(e).toMatchObject({
        protocol: 'gtag',
        client_id: '1234567890.1700000000',
        session_id: '1700000000',
        url: 'https://shop.example/?utm_source=news',
        referrer: 'https://www.google.com/',
        title: 'Home',
        language: 'en-us',
        screen: '1920x1080',
        client_ts: null,
        ua: null,
        ip: null,
      });
      expect(e.consent).toEqual({ gcs: 'G101', gcd: '13r3r3r2r5l1', ad_storage: 'DENIED', analytics_storage: 'GRANTED' });
      expect(e.params).toMatchObject({ session_engaged: '1', session_number: 3, v: '2', tid: 'G-ABC123', _p: '1700000000123', uaa: 'x86', uam: '' });
    }
  });

  it('types ep./epn./up./upn. parameters and decodes items', () => {
    const cart = parse().events[1];
    expect(cart.params).toMatchObject({ coupon: 'SUMMER', value: 9.99, currency: 'USD', engagement_time_msec: 4120 });
    expect(cart.params.items).toEqual([
      { item_id: 'SKU1', item_name: 'Shoe', item_brand: 'Acme', item_category: 'Shoes', item_category2: 'Men', price: 9.99, quantity: 1, color: 'red' },
      { item_id: 'SKU2', item_name: 'Sock', price: 2, quantity: 3 },
    ]);
    expect(cart.user_props).toEqual({ plan: 'pro', lifetime_orders: 4 });
    const first = parse().events[0];
    expect(first.params).toMatchObject({ _fv: '1', _ss: '1', _nsi: '1', _ee: '1', tfd: '2140' });
  });

  it('reads cs/cn as creative on promotion events and as campaign elsewhere', () => {
    expect(parse().events[2].params).toMatchObject({ creative_slot: 'hero', creative_name: 'summer_banner', promotion_id: 'P1' });
    const { events } = parse('v=2&tid=G-ABC123&cid=1.2&en=page_view&cs=newsletter&cm=email&cn=spring&ct=shoes&cc=top');
    expect(events[0].params).toMatchObject({
      campaign_source: 'newsletter',
      campaign_medium: 'email',
      campaign_name: 'spring',
      campaign_term: 'shoes',
      campaign_content: 'top',
    });
  });

  it('synthesizes a stable event id from cid + _p + _s + line + name, distinct per line', () => {
    const a = parse().events.map((e) => e.event_id);
    const b = parse().events.map((e) => e.event_id);
    expect(a).toEqual(b);
    expect(new Set(a).size).toBe(3);
    expect(a[0]).toBe('g2.1234567890.1700000000.1700000000123.2.0.page_view');
    expect(parse('v=2&tid=G-ABC123&cid=1.2&en=scroll', '').events[0].event_id).toBeNull();
    const long = parse(`v=2&tid=G-ABC123&_p=1&_s=1&cid=${'c'.repeat(200)}&en=scroll`, '').events[0].event_id!;
    expect(long).toMatch(/^g2\.[0-9a-f]{64}$/);
  });

  it('takes the query string alone as one event when the body is empty (GET, image transport)', () => {
    const { events } = parse('v=2&tid=G-ABC123&cid=9.9&en=page_view&dl=https%3A%2F%2Fa.example%2Fx', '');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ name: 'page_view', client_id: '9.9', url: 'https://a.example/x' });
  });

  it('refuses hits without a name, with another tid, or with huge values; never throws', () => {
    const body = ['_et=5', 'en=ok', 'en=other&tid=G-OTHER', `en=big&ep.x=${'y'.repeat(9000)}`, `en=${'n'.repeat(101)}`].join('\n');
    const { events, refused } = parse('v=2&tid=G-ABC123&cid=1.2', body);
    expect(events.map((e) => e.name)).toEqual(['ok']);
    expect(refused.map((r) => [r.index, r.reason])).toEqual([
      [0, 'invalid'],
      [2, 'unknown_property'],
      [3, 'over_limit'],
      [4, 'invalid'],
    ]);
    expect(refused[0].payload).toMatchObject({ tid: 'G-ABC123', cid: '1.2', _et: '5' });
  });

  it('keeps hostile keys as data and odd numbers as text', () => {
    const { events } = parse('v=2&tid=G-ABC123&cid=1.2', 'en=x&ep.__proto__=p&epn.n=12abc&epn.inf=Infinity&pr1=~~~zz&__proto__=q&%E0%A4%A=broken');
    const e = events[0];
    expect(Object.getPrototypeOf(e.params)).toBe(Object.prototype);
    expect(Object.prototype.hasOwnProperty.call(e.params, '__proto__')).toBe(true);
    expect(e.params.n).toBe('12abc');
    expect(e.params.inf).toBe('Infinity');
    expect(e.params.items).toEqual([{ zz: '' }]);
  });

  it('keeps parameters named like Object.prototype members under their own name', () => {
    const own = (o: object, k: string) => Object.getOwnPropertyDescriptor(o, k)?.value;
    const { events, refused } = parse(
      QUERY,
      [
        'en=sign_up&ep.__proto__=p&ep.constructor=c&ep.toString=t&up.hasOwnProperty=h&upn.__proto__=7',
        'en=sign_up&constructor=c2&toString=t2&__proto__=p2&valueOf=v2&pr1=idSKU1~toString~k0constructor~v0red',
      ].join('\n'),
    );
    expect(refused).toEqual([]);
    const [typed, bare] = events;
    expect(own(typed.params, '__proto__')).toBe('p');
    expect(typed.params).toMatchObject({ constructor: 'c', toString: 't' });
    expect(Object.entries(typed.user_props)).toEqual([
      ['hasOwnProperty', 'h'],
      ['__proto__', 7],
    ]);
    expect(own(bare.params, '__proto__')).toBe('p2');
    expect(bare.params).toMatchObject({ constructor: 'c2', toString: 't2', valueOf: 'v2', items: [{ item_id: 'SKU1', to: 'String', constructor: 'red' }] });
    expect(JSON.stringify(bare.params)).toContain('"__proto__":"p2"');
    expect(bare.client_id).toBe('1234567890.1700000000');
  });

  it('caps events per request', () => {
    const body = Array.from({ length: 501 }, (_, i) => `en=e${i}`).join('\n');
    const { events, refused } = parse('v=2&tid=G-ABC123&cid=1.2', body);
    expect(events).toHaveLength(500);
    expect(refused).toMatchObject([{ index: 500, reason: 'over_limit' }]);
  });

  it('maps a single hit with options (used by the pixel)', () => {
    const r = parseGtagHit(
      new Map([
        ['eid', 'e-1'],
        ['cid', 'c'],
      ]),
      { protocol: 'pixel', index: 0, defaultName: 'page_view', eventIdParam: 'eid' },
    );
    expect(r).toMatchObject({ protocol: 'pixel', name: 'page_view', event_id: 'e-1', client_id: 'c' });
  });
});

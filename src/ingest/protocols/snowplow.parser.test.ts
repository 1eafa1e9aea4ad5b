import { describe, expect, it } from 'vitest';
import { decodeBase64, parseSnowplowGet, parseSnowplowPost } from './snowplow.parser.js';

const NOW = 1_717_243_200_000;
const ctx = { receivedAt: NOW };
const b64url = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const b64std = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64');

const contexts = {
  schema: 'iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0',
  data: [{ schema: 'iglu:com.acme/user_tier/jsonschema/1-0-0', data: { tier: 'gold' } }],
};
const viewedProduct = {
  schema: 'iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0',
  data: { schema: 'iglu:com.acme/viewed_product/jsonschema/1-0-0', data: { sku: 'S1', price: 9.5 } },
};

// The payload_data envelope @snowplow/node-tracker 4.x posts to /com.snowplowanalytics.snowplow/tp2.
const body = {
  schema: 'iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4',
  data: [
    {
      e: 'pv',
      eid: '5a305bf5-32fc-40d9-b0e8-66052f0f2c95',
      tv: 'node-4.8.0',
      p: 'srv',
      aid: 'G-ABC123',
      tna: 'sp',
      url: 'https://shop.example/?utm_source=news',
      page: 'Home',
      refr: 'https://www.google.com/',
      duid: 'd-1',
      uid: 'u-1',
      sid: 'c6ef3124-b53a-4b13-a233-0088f79dcbcb',
      vid: '3',
      dtm: String(NOW - 10_000),
      stm: String(NOW - 9_000),
      res: '1920x1080',
      lang: 'en-GB',
      tz: 'Europe/London',
      ua: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/126.0',
      ip: '198.51.100.23',
      cx: b64url(contexts),
    },
    {
      e: 'ue',
      eid: 'e-2',
      tv: 'node-4.8.0',
      p: 'srv',
      aid: 'G-ABC123',
      duid: 'd-1',
      ue_px: b64std(viewedProduct),
      ttm: String(NOW - 60_000),
      dtm: String(NOW),
    },
    {
      e: 'se',
      eid: 'e-3',
      tv: 'node-4.8.0',
      p: 'srv',
      aid: '400000002',
      se_ca: 'shop',
      se_ac: 'add_to_cart',
      se_la: 'S1',
      se_pr: 'size',
      se_va: '2',
      nuid: 'n-1',
      co: JSON.stringify(contexts),
    },
    {
      e: 'ue',
      eid: 'e-4',
      tv: 'node-4.8.0',
      p: 'mob',
      aid: 'G-ABC123',
      ue_pr: JSON.stringify({
        schema: viewedProduct.schema,
        data: { schema: 'iglu:com.snowplowanalytics.mobile/screen_view/jsonschema/1-0-0', data: { name: 'Cart', id: 'x' } },
      }),
      cx: b64url({
        schema: contexts.schema,
        data: [{ schema: 'iglu:com.snowplowanalytics.snowplow/client_session/jsonschema/1-0-2', data: { userId: 'dev-9', sessionId: 's-9', sessionIndex: 2 } }],
      }),
    },
  ],
};

describe('Snowplow parser', () => {
  it('maps a tp2 POST batch: ids, columns, dtm corrected by stm, and keeps the rest in params', () => {
    const r = parseSnowplowPost(body, ctx);
    expect(r.refused).toEqual([]);
    expect(r.events.map((e) => [e.appId, e.event.name])).toEqual([
      ['G-ABC123', 'page_view'],
      ['G-ABC123', 'viewed_product'],
      ['400000002', 'add_to_cart'],
      ['G-ABC123', 'screen_view'],
    ]);
    const pv = r.events[0].event;
    expect(pv).toMatchObject({
      protocol: 'snowplow',
      event_id: '5a305bf5-32fc-40d9-b0e8-66052f0f2c95',
      client_id: 'd-1',
      user_id: 'u-1',
      session_id: 'c6ef3124-b53a-4b13-a233-0088f79dcbcb',
      url: 'https://shop.example/?utm_source=news',
      title: 'Home',
      referrer: 'https://www.google.com/',
      screen: '1920x1080',
      language: 'en-GB',
      ua: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/126.0',
      ip: '198.51.100.23',
      // collector − (stm − dtm) = NOW − 1 s
      client_ts: NOW - 1000,
      params: { aid: 'G-ABC123', tv: 'node-4.8.0', p: 'srv', tna: 'sp', vid: '3', tz: 'Europe/London', contexts: contexts.data },
    });
    expect(pv.params.cx).toBeUndefined();
  });

  it('decodes self-describing events and contexts (base64 url-safe or standard, or plain JSON); ttm wins', () => {
    const [, ue, se, screen] = parseSnowplowPost(body, ctx).events.map((e) => e.event);
    expect(ue).toMatchObject({
      client_ts: NOW - 60_000,
      params: { event_schema: 'iglu:com.acme/viewed_product/jsonschema/1-0-0', event_data: { sku: 'S1', price: 9.5 } },
    });
    expect(se).toMatchObject({ client_id: 'n-1', params: { se_ca: 'shop', se_la: 'S1', se_va: '2', snowplow_event: 'se', contexts: contexts.data } });
    expect(screen).toMatchObject({ client_id: 'dev-9', session_id: 's-9', params: { event_data: { name: 'Cart', id: 'x' } } });
    expect(decodeBase64('eyJhIjoxfQ')).toBe('{"a":1}');
    expect(decodeBase64('eyJhIjoxfQ==')).toBe('{"a":1}');
    expect(decodeBase64(Buffer.from('{"k":"ü?>"}').toString('base64').replace(/\+/g, ' '))).toBe('{"k":"ü?>"}');
    expect(decodeBase64('e')).toBeNull();
    expect(decodeBase64('%%%')).toBeNull();
    expect(decodeBase64(Buffer.from([0xff, 0xfe]).toString('base64'))).toBeNull();
  });

  it('reads a GET /i query string as one event', () => {
    const q = new URLSearchParams({
      e: 'pv',
      eid: 'g-1',
      tv: 'js-3.5.0',
      p: 'web',
      aid: 'G-ABC123',
      url: 'https://shop.example/',
      dtm: String(NOW + 5_000),
      cx: b64url(contexts),
    });
    const r = parseSnowplowGet(q, ctx);
    expect(r.events[0]).toMatchObject({
      appId: 'G-ABC123',
      event: { name: 'page_view', event_id: 'g-1', client_ts: NOW, params: { contexts: contexts.data } },
    });
  });

  it('dead-letters what it cannot read, per event, and never throws', () => {
    const bad = [
      { e: 'ue', aid: 'A', ue_px: 'not base64!' },
      { e: 'ue', aid: 'A', ue_pr: '{broken' },
      { e: 'ue', aid: 'A', ue_pr: '{"schema":"x","data":{}}' },
      { e: 'pv', aid: 'A', cx: b64url({ data: 'x' }) },
      { e: 'pv', aid: 'A', url: { nested: true } },
      { aid: 'A' },
      { e: 'se', aid: 'A' },
      { e: 'no such type!' },
      { e: 'pv', url: 'x'.repeat(100_001) },
      { e: 'pv', duid: 'd'.repeat(300) },
      { e: 'pv', cx: b64url({ data: [JSON.parse('['.repeat(40) + ']'.repeat(40))] }) },
      7,
      { e: 'pv', aid: 'A', dtm: 'soon' },
    ];
    const r = parseSnowplowPost({ schema: 's', data: bad }, ctx);
    expect(r.events.map((e) => e.event.client_ts)).toEqual([null]);
    expect(r.refused.map((x) => x.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(r.refused[8].reason).toBe('over_limit');
    for (const whole of [null, 'x', [], {}, { data: [] }, { data: 'x' }]) {
      expect(parseSnowplowPost(whole, ctx)).toMatchObject({ events: [], refused: [{ index: -1, reason: 'malformed_body' }] });
    }
    expect(parseSnowplowPost({ data: Array.from({ length: 1001 }, () => ({ e: 'pv' })) }, ctx).refused).toMatchObject([{ index: 1000, reason: 'over_limit' }]);
  });

  it('keeps fields named like Object.prototype members, and an event type such as "constructor" as its name', () => {
    const r = parseSnowplowPost(
      JSON.parse(`{"schema":"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4","data":[
        { "e": "pv", "aid": "G-ABC123", "duid": "d-1", "__proto__": "p", "constructor": "c", "toString": "t" },
        { "e": "constructor", "aid": "G-ABC123", "duid": "d-1" },
        { "e": "toString", "aid": "G-ABC123", "duid": "d-1" }
      ]}`),
      ctx,
    );
    expect(r.refused).toEqual([]);
    const [pv, ctor, toString] = r.events.map((x) => x.event);
    expect(Object.getOwnPropertyDescriptor(pv.params, '__proto__')?.value).toBe('p');
    expect(pv.params).toMatchObject({ constructor: 'c', toString: 't' });
    expect(JSON.stringify(pv.params)).toContain('"__proto__":"p"');
    expect([ctor.name, toString.name]).toEqual(['constructor', 'toString']);

    const [get] = parseSnowplowGet(new URLSearchParams('e=pv&aid=G-ABC123&duid=d-1&__proto__=q&valueOf=v'), ctx).events;
    expect(Object.getOwnPropertyDescriptor(get.event.params, '__proto__')?.value).toBe('q');
    expect(get.event.params.valueOf).toBe('v');
  });
});

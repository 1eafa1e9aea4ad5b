import { describe, expect, it } from 'vitest';
import { IDENTITY_LINK_EVENT } from '../../domain/identity-link.js';
import { parseSegment, SEGMENT_PATHS, segmentBasicKey } from './segment.parser.js';

const NOW = Date.parse('2024-06-01T12:00:00.000Z');
const ctx = { receivedAt: NOW };
const UA = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36';

// What @segment/analytics-node 3.x posts to /v1/batch (publisher.ts): a batch with writeKey and sentAt.
const nodeBatch = {
  batch: [
    {
      type: 'track',
      event: 'Order Completed',
      userId: 'u-1',
      anonymousId: 'a-1',
      properties: { revenue: 9.99, products: [{ sku: 'S1', quantity: 2 }] },
      messageId: 'node-next-1717243199000-6f1c2a',
      timestamp: '2024-06-01T11:59:58.000Z',
      context: { library: { name: '@segment/analytics-node', version: '3.1.0' } },
      integrations: {},
      _metadata: { nodeVersion: '20.11.0', jsRuntime: 'node' },
    },
    {
      type: 'identify',
      userId: 'u-1',
      anonymousId: 'a-1',
      traits: { email: 'u1@example.com', plan: 'pro' },
      messageId: 'node-next-1717243199001-aa',
      timestamp: '2024-06-01T11:59:58.500Z',
      context: { library: { name: '@segment/analytics-node', version: '3.1.0' } },
    },
    { type: 'alias', userId: 'u-1', previousId: 'a-old', messageId: 'm-alias', timestamp: '2024-06-01T11:59:59.000Z' },
    { type: 'group', userId: 'u-1', groupId: 'org-9', traits: { name: 'Acme', employees: 40 }, messageId: 'm-group' },
    { type: 'screen', anonymousId: 'a-2', name: 'Checkout', category: 'Shop', properties: { step: 2 }, messageId: 'm-screen' },
  ],
  writeKey: 'tk_ing_secret',
  sentAt: '2024-06-01T11:59:59.000Z',
};

// What analytics.js posts to /v1/p (text/plain, writeKey and sentAt in the message).
const browserPage = {
  type: 'page',
  name: 'Pricing',
  category: 'Docs',
  anonymousId: '2f5a9c1e-aaaa-4bbb-8ccc-1234567890ab',
  properties: {
    path: '/pricing',
    referrer: 'https://www.google.com/',
    search: '?utm_source=news',
    title: 'Pricing - Acme',
    url: 'https://acme.example/pricing?utm_source=news',
  },
  context: {
    page: {
      path: '/pricing',
      referrer: 'https://www.google.com/',
      search: '?utm_source=news',
      title: 'Pricing - Acme',
      url: 'https://acme.example/pricing?utm_source=news',
    },
    userAgent: UA,
    locale: 'en-US',
    library: { name: 'analytics.js', version: 'next-1.70.0' },
    campaign: { source: 'news', name: 'spring', medium: 'email' },
    ip: '203.0.113.77',
    screen: { width: 1440, height: 900, density: 2 },
    traits: { plan: 'free' },
  },
  messageId: 'ajs-next-1717243195000-0b3f',
  timestamp: '2024-06-01T13:00:00.000Z',
  sentAt: '2024-06-01T13:00:05.000Z',
  writeKey: 'tk_ing_browser',
  integrations: {},
};

describe('Segment parser', () => {
  it('maps an analytics-node batch: ids, messageId, skew-corrected time, identity links, traits', () => {
    const r = parseSegment(nodeBatch, 'batch', ctx);
    expect(r.writeKey).toBe('tk_ing_secret');
    expect(r.refused).toEqual([]);
    const [track, identify, alias, group, screen] = r.events;
    expect(track).toMatchObject({
      protocol: 'segment',
      name: 'Order Completed',
      event_id: 'node-next-1717243199000-6f1c2a',
      client_id: 'a-1',
      user_id: 'u-1',
      // timestamp + (receivedAt − sentAt) = 11:59:58 + 1 s
      client_ts: Date.parse('2024-06-01T11:59:59.000Z'),
      params: {
        revenue: 9.99,
        products: [{ sku: 'S1', quantity: 2 }],
        segment_type: 'track',
        integrations: {},
        _metadata: { nodeVersion: '20.11.0', jsRuntime: 'node' },
        original_timestamp: '2024-06-01T11:59:58.000Z',
        sent_at: '2024-06-01T11:59:59.000Z',
        context: { library: { name: '@segment/analytics-node', version: '3.1.0' } },
      },
    });
    expect(JSON.stringify(r.events)).not.toContain('tk_ing_secret');
    expect(identify).toMatchObject({
      name: IDENTITY_LINK_EVENT,
      client_id: 'a-1',
      user_id: 'u-1',
      user_props: { email: 'u1@example.com', plan: 'pro' },
      params: { link_kind: 'identify', user_id: 'u-1', client_id: 'a-1', source_protocol: 'segment', segment_type: 'identify' },
    });
    expect(alias).toMatchObject({ name: IDENTITY_LINK_EVENT, client_id: 'u-1', params: { link_kind: 'alias', client_id: 'a-old', user_id: 'u-1' } });
    expect(group).toMatchObject({
      name: 'group',
      client_id: 'u-1',
      params: { group_id: 'org-9', group_traits: { name: 'Acme', employees: 40 } },
      client_ts: null,
    });
    expect(screen).toMatchObject({
      name: 'screen_view',
      client_id: 'a-2',
      user_id: null,
      params: { screen_name: 'Checkout', screen_category: 'Shop', step: 2 },
    });
  });

  it('maps an analytics.js page call: page, campaign, UA, IP, screen, locale; future time clamped to receipt', () => {
    const r = parseSegment(browserPage, 'page', ctx);
    expect(r.writeKey).toBe('tk_ing_browser');
    const [e] = r.events;
    expect(e).toMatchObject({
      name: 'page_view',
      event_id: 'ajs-next-1717243195000-0b3f',
      client_id: '2f5a9c1e-aaaa-4bbb-8ccc-1234567890ab',
      user_id: null,
      url: 'https://acme.example/pricing?utm_source=news',
      referrer: 'https://www.google.com/',
      title: 'Pricing - Acme',
      ua: UA,
      ip: '203.0.113.77',
      language: 'en-US',
      screen: '1440x900',
      user_props: { plan: 'free' },
      params: { page_name: 'Pricing', page_category: 'Docs', utm_source: 'news', utm_campaign: 'spring', utm_medium: 'email' },
    });
    // 13:00:00 + (12:00:00 − 13:00:05) = 11:59:55: the client's clock is an hour ahead
    expect(e.client_ts).toBe(Date.parse('2024-06-01T11:59:55.000Z'));
    expect(JSON.stringify(e.params)).not.toContain('203.0.113.77');
    expect((e.params.context as Record<string, unknown>).userAgent).toBeUndefined();
    const noSent = parseSegment({ ...browserPage, sentAt: undefined }, 'page', ctx).events[0];
    expect(noSent.client_ts).toBe(NOW);
    const old = parseSegment({ ...browserPage, sentAt: undefined, timestamp: '2020-01-01T00:00:00Z' }, 'page', ctx).events[0];
    expect(old.client_ts).toBe(NOW - 72 * 3_600_000);
    expect(old.params.original_timestamp).toBe('2020-01-01T00:00:00Z');
  });

  it('merges the batch envelope context and keeps clashing fields instead of overwriting', () => {
    const r = parseSegment(
      {
        context: { ip: '198.51.100.1', app: { name: 'shop' } },
        batch: [{ type: 'track', event: 'A', userId: 7, properties: { context: 'mine', segment_type: 'p' }, context: { app: { name: 'own' } } }],
      },
      'batch',
      ctx,
    );
    const [e] = r.events;
    expect(e).toMatchObject({ client_id: '7', user_id: '7', ip: '198.51.100.1', params: { context: 'mine', segment_type: 'p' } });
    expect(e.params._tally_dropped).toEqual({ segment_type: 'track', context: { app: { name: 'own' } } });
  });

  it('refuses messages Segment drops, accepting the rest of the batch', () => {
    const deep: Record<string, unknown> = {};
    let cur = deep;
    for (let i = 0; i < 50; i++) cur = cur.x = {} as Record<string, unknown>;
    const batch = [
      { type: 'track', event: 'ok', anonymousId: 'a' },
      { type: 'track', anonymousId: 'a' },
      { type: 'track', event: 'x' },
      { type: 'nope', event: 'x', anonymousId: 'a' },
      { type: 'track', event: 'x', anonymousId: { id: 1 } },
      { type: 'track', event: 'x', anonymousId: 'a', properties: 'str' },
      { type: 'track', event: 'x', anonymousId: 'a', properties: { big: 'y'.repeat(33 * 1024) } },
      { type: 'track', event: 'x', anonymousId: 'a', properties: deep },
      'not an object',
      { type: 'page', anonymousId: 'a', messageId: 'm'.repeat(101), timestamp: 'yesterday' },
    ];
    const r = parseSegment({ batch, writeKey: 'k' }, 'batch', ctx);
    expect(r.events.map((e) => e.name)).toEqual(['ok', 'page_view']);
    expect(r.events[1]).toMatchObject({ event_id: null, client_ts: null, params: { message_id: 'm'.repeat(101), original_timestamp: 'yesterday' } });
    expect(r.refused.map((x) => [x.index, x.reason])).toEqual([
      [1, 'invalid'],
      [2, 'invalid'],
      [3, 'invalid'],
      [4, 'invalid'],
      [5, 'invalid'],
      [6, 'over_limit'],
      [7, 'invalid'],
      [8, 'invalid'],
    ]);
    expect(r.refused[1].detail).toMatch(/no_user_anon_id/);
  });

  it('throws 400-mapped errors only for a body that is not a message or batch', () => {
    for (const body of [null, [], 'x', 42]) expect(() => parseSegment(body, 'track', ctx)).toThrow(/JSON object/);
    expect(() => parseSegment({ batch: 'x' }, 'batch', ctx)).toThrow(/batch/);
    const over = parseSegment({ batch: Array.from({ length: 2501 }, () => ({ type: 'track', event: 'e', anonymousId: 'a' })) }, 'batch', ctx);
    expect(over.events).toHaveLength(2500);
    expect(over.refused).toMatchObject([{ index: 2500, reason: 'over_limit' }]);
  });

  it('reads the write key from Basic auth (key as user, empty password) and knows every path', () => {
    expect(segmentBasicKey(`Basic ${Buffer.from('tk_ing_abc:').toString('base64')}`)).toBe('tk_ing_abc');
    expect(segmentBasicKey(`basic ${Buffer.from('tk_ing_abc').toString('base64')}`)).toBe('tk_ing_abc');
    expect(segmentBasicKey('Bearer x')).toBeNull();
    expect(segmentBasicKey('Basic !!!')).toBeNull();
    expect(segmentBasicKey(null)).toBeNull();
    expect(Object.keys(SEGMENT_PATHS).sort()).toEqual(['a', 'alias', 'b', 'batch', 'g', 'group', 'i', 'identify', 'p', 'page', 's', 'screen', 't', 'track']);
  });

  it('keeps properties, traits and campaign fields named like Object.prototype members under their own name', () => {
    const r = parseSegment(
      JSON.parse(`{
        "type": "track", "event": "Signed Up", "anonymousId": "a-1", "messageId": "m-proto", "hasOwnProperty": "h",
        "properties": { "__proto__": "p", "constructor": "c", "toString": "t" },
        "context": { "campaign": { "constructor": "cc", "name": "summer" }, "traits": { "__proto__": "gold" } }
      }`),
      'track',
      ctx,
    );
    expect(r.refused).toEqual([]);
    const [e] = r.events;
    expect(Object.getOwnPropertyDescriptor(e.params, '__proto__')?.value).toBe('p');
    expect(e.params).toMatchObject({ constructor: 'c', toString: 't', hasOwnProperty: 'h', campaign_constructor: 'cc', utm_campaign: 'summer' });
    expect(e.params._tally_dropped).toBeUndefined();
    expect(JSON.stringify(e.params)).toContain('"__proto__":"p"');
    expect(Object.getOwnPropertyDescriptor(e.user_props, '__proto__')?.value).toBe('gold');
  });
});

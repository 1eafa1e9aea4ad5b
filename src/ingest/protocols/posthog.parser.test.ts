import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { isTallyError } from '../../infra/errors.js';
import { decodePostHogBody, parsePostHog, POSTHOG_LIMITS } from './posthog.parser.js';

const NOW = Date.UTC(2026, 0, 15, 12);
const KEY = 'tk_ing_test';
const q = (s = '') => new URLSearchParams(s);

/** The shape posthog-js sends on /e/: { api_key, batch, sent_at } with $-properties. */
const browserBatch = {
  api_key: KEY,
  sent_at: new Date(NOW + 5_000).toISOString(),
  batch: [
    {
      uuid: '0194c3f4-6f2a-7b7e-9a1b-2c3d4e5f6a7b',
      event: '$pageview',
      properties: {
        $os: 'Mac OS X',
        $browser: 'Chrome',
        $device_type: 'Desktop',
        $current_url: 'https://shop.example/?utm_source=news',
        $host: 'shop.example',
        $pathname: '/',
        $browser_language: 'en-US',
        $screen_height: 1117,
        $screen_width: 1728,
        $referrer: '$direct',
        $referring_domain: '$direct',
        $lib: 'web',
        $lib_version: '1.200.0',
        $insert_id: 'abc',
        $time: (NOW - 1_000) / 1000,
        distinct_id: '0194c3f4-device',
        $device_id: '0194c3f4-device',
        $session_id: '0194c3f4-session',
        $window_id: '0194c3f4-window',
        token: KEY,
        title: 'Home',
        $raw_user_agent: 'Mozilla/5.0 (Macintosh) Chrome/120',
      },
      timestamp: new Date(NOW + 4_000).toISOString(),
    },
  ],
};

function isErr(fn: () => unknown, code: string) {
  try {
    fn();
  } catch (e) {
    return isTallyError(e) && e.code === code;
  }
  return false;
}

describe('PostHog body decoding', () => {
  const json = JSON.stringify(browserBatch);
  it('reads plain JSON, a JSON array, base64, url-safe base64, gzip (query flag) and data= forms', () => {
    expect(decodePostHogBody(Buffer.from(json), q(), 1e6)).toEqual(browserBatch);
    expect(decodePostHogBody(Buffer.from(JSON.stringify([browserBatch.batch[0]])), q(), 1e6)).toEqual([browserBatch.batch[0]]);
    const b64 = Buffer.from(json).toString('base64');
    expect(decodePostHogBody(Buffer.from(b64), q('compression=base64'), 1e6)).toEqual(browserBatch);
    expect(decodePostHogBody(Buffer.from(Buffer.from(json).toString('base64url')), q(), 1e6)).toEqual(browserBatch);
    // posthog-js form encoding: data=<urlencoded base64>&compression=base64 (and an unescaped '+')
    expect(decodePostHogBody(Buffer.from(`data=${encodeURIComponent(b64)}&compression=base64`), q(), 1e6)).toEqual(browserBatch);
    expect(decodePostHogBody(Buffer.from(`data=${b64}`), q(), 1e6)).toEqual(browserBatch);
    expect(decodePostHogBody(Buffer.from(`data=${encodeURIComponent(json)}`), q(), 1e6)).toEqual(browserBatch);
    // gzip-js: readBody inflates raw gzip; base64 of gzip is inflated here
    expect(decodePostHogBody(Buffer.from(zlib.gzipSync(json).toString('base64')), q('compression=gzip-js'), 1e6)).toEqual(browserBatch);
    // GET with data in the query string
    expect(decodePostHogBody(Buffer.alloc(0), q(`data=${encodeURIComponent(b64)}&ver=1`), 1e6)).toEqual(browserBatch);
  });

  it('answers 400-class errors for broken base64, broken gzip, lz64 and non-JSON; 413 for a gzip bomb', () => {
    expect(isErr(() => decodePostHogBody(Buffer.from('!!!not base64!!!'), q(), 1e6), 'malformed_body')).toBe(true);
    expect(isErr(() => decodePostHogBody(Buffer.from('eyJicm9rZW4'), q(), 1e6), 'malformed_body')).toBe(true);
    expect(isErr(() => decodePostHogBody(Buffer.from('not gzip at all'), q('compression=gzip-js'), 1e6), 'malformed_body')).toBe(true);
    const truncated = zlib.gzipSync(json).subarray(0, 30);
    expect(isErr(() => decodePostHogBody(Buffer.from(truncated.toString('base64')), q(), 1e6), 'malformed_body')).toBe(true);
    expect(isErr(() => decodePostHogBody(Buffer.from('data=N4IgLg'), q('compression=lz64'), 1e6), 'malformed_body')).toBe(true);
    expect(isErr(() => decodePostHogBody(Buffer.from('compression=base64&ver=1'), q(), 1e6), 'malformed_body')).toBe(true);
    const bomb = zlib.gzipSync(Buffer.alloc(5_000_000, 0x20)).toString('base64');
    expect(isErr(() => decodePostHogBody(Buffer.from(bomb), q(), 1e6), 'payload_too_large')).toBe(true);
  });
});

describe('PostHog event mapping', () => {
  it('maps a posthog-js $pageview with skew correction, uuid as event id and $-properties to columns', () => {
    const r = parsePostHog(browserBatch, { receivedAt: NOW });
    expect(r.token).toBe(KEY);
    expect(r.refused).toEqual([]);
    const [e] = r.events;
    expect(e).toMatchObject({
      protocol: 'posthog',
      name: 'page_view',
      event_id: '0194c3f4-6f2a-7b7e-9a1b-2c3d4e5f6a7b',
      client_id: '0194c3f4-device',
      user_id: null,
      session_id: '0194c3f4-session',
      url: 'https://shop.example/?utm_source=news',
      referrer: null,
      title: 'Home',
      language: 'en-US',
      screen: '1728x1117',
      ua: 'Mozilla/5.0 (Macintosh) Chrome/120',
      client_ts: NOW - 1_000,
    });
    expect(e.params).toMatchObject({ _tally_source_name: '$pageview', $lib: 'web', $window_id: '0194c3f4-window' });
    expect(e.params).not.toHaveProperty('token');
  });

  it('maps an identified user: client id from $device_id, user id from distinct_id; $set into user props', () => {
    const r = parsePostHog(
      {
        api_key: KEY,
        batch: [
          {
            event: 'purchase',
            distinct_id: 'user@example.com',
            properties: { $device_id: 'dev-1', value: 9, $set: { plan: 'pro' }, $set_once: { first: 'x', plan: 'free' } },
          },
        ],
      },
      { receivedAt: NOW },
    );
    expect(r.events[0]).toMatchObject({
      name: 'purchase',
      client_id: 'dev-1',
      user_id: 'user@example.com',
      client_ts: null,
      user_props: { plan: 'pro', first: 'x' },
    });
    expect(r.events[0].params).toMatchObject({ value: 9, $set_once: { first: 'x', plan: 'free' } });
  });

  it('turns $identify and $create_alias (posthog-node shapes) into identity links', () => {
    const r = parsePostHog(
      {
        api_key: KEY,
        batch: [
          { event: '$identify', distinct_id: 'user-1', properties: { $set: { email: 'u@x.test' }, $anon_distinct_id: 'anon-1', $lib: 'posthog-node' } },
          { event: '$create_alias', distinct_id: 'user-1', properties: { distinct_id: 'user-1', alias: 'anon-2' } },
          { event: '$identify', distinct_id: 'user-2', properties: {} },
        ],
      },
      { receivedAt: NOW },
    );
    expect(r.events.map((e) => [e.name, e.client_id, e.user_id, e.params.link_kind, e.params.client_id])).toEqual([
      ['tally_identity_link', 'anon-1', 'user-1', 'identify', 'anon-1'],
      ['tally_identity_link', 'anon-2', 'user-1', 'alias', 'anon-2'],
      ['tally_identity_link', 'user-2', 'user-2', 'identify', 'user-2'],
    ]);
    expect(r.events[0].user_props).toEqual({ email: 'u@x.test' });
  });

  it('refuses (never throws on) a distinct id nested too deeply to serialise', () => {
    const deep = JSON.parse('['.repeat(300_000) + ']'.repeat(300_000));
    const r = parsePostHog({ event: 'x', distinct_id: deep, properties: { token: KEY } }, { receivedAt: NOW });
    expect(r.events).toEqual([]);
    expect(r.refused).toHaveLength(1);
  });

  it('accepts a single event with a per-event token, the old array form, /engage objects and offset', () => {
    expect(parsePostHog({ event: 'x', distinct_id: 1234, properties: { token: KEY } }, { receivedAt: NOW }).events[0].client_id).toBe('1234');
    expect(parsePostHog([{ event: 'x', distinct_id: 'd', $token: KEY, offset: 2_000 }], { receivedAt: NOW }).events[0].client_ts).toBe(NOW - 2_000);
    const engage = parsePostHog({ $set: { a: 1 }, distinct_id: 'd', token: KEY }, { receivedAt: NOW, engage: true });
    expect(engage.events[0]).toMatchObject({ name: 'tally_identity_link', user_props: { a: 1 } });
  });

  it('dead-letters events without a name or distinct id, and $performance_event; 401 without or with mixed keys', () => {
    const r = parsePostHog(
      {
        api_key: KEY,
        batch: [
          { event: 'ok', distinct_id: 'd' },
          { distinct_id: 'd' },
          { event: 'x' },
          { event: '$performance_event', distinct_id: 'd' },
          'str',
          { event: 'x', distinct_id: 'd', properties: [] },
          { event: 'x', distinct_id: 'd', timestamp: 'soon' },
          { event: 'x', distinct_id: 'd', uuid: 5 },
        ],
      },
      { receivedAt: NOW },
    );
    expect(r.events).toHaveLength(1);
    expect(r.refused.map((x) => x.index)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(isErr(() => parsePostHog({ batch: [{ event: 'x', distinct_id: 'd' }] }, { receivedAt: NOW }), 'unauthenticated')).toBe(true);
    expect(isErr(() => parsePostHog({ api_key: KEY, batch: [{ event: 'x', distinct_id: 'd', token: 'other' }] }, { receivedAt: NOW }), 'unauthenticated')).toBe(
      true,
    );
    expect(isErr(() => parsePostHog({ api_key: KEY, batch: [] }, { receivedAt: NOW }), 'malformed_body')).toBe(true);
    expect(isErr(() => parsePostHog({ api_key: KEY, batch: 'x' }, { receivedAt: NOW }), 'malformed_body')).toBe(true);
    expect(isErr(() => parsePostHog(42, { receivedAt: NOW }), 'malformed_body')).toBe(true);
    expect(isErr(() => parsePostHog({ api_key: 5, batch: [{ event: 'x', distinct_id: 'd' }] }, { receivedAt: NOW }), 'unauthenticated')).toBe(true);
  });

  it('truncates huge distinct ids to 200 characters and refuses huge names', () => {
    const r = parsePostHog(
      {
        api_key: KEY,
        batch: [
          { event: 'x', distinct_id: 'd'.repeat(5000) },
          { event: 'e'.repeat(201), distinct_id: 'd' },
        ],
      },
      { receivedAt: NOW },
    );
    expect(r.events[0].client_id).toHaveLength(POSTHOG_LIMITS.maxDistinctId);
    expect(r.refused).toHaveLength(1);
  });

  it('keeps properties and event fields named like Object.prototype members under their own name', () => {
    const body = decodePostHogBody(
      Buffer.from(`{"api_key":"${KEY}","batch":[{
        "event": "signed_up", "distinct_id": "d-1", "hasOwnProperty": "h",
        "properties": { "__proto__": "p", "constructor": "c", "toString": "t", "$set": { "__proto__": "u" } }
      }]}`),
      q(),
      1e6,
    );
    const [e] = parsePostHog(body, { receivedAt: NOW }).events;
    expect(Object.getOwnPropertyDescriptor(e.params, '__proto__')?.value).toBe('p');
    expect(e.params).toMatchObject({ constructor: 'c', toString: 't', hasOwnProperty: 'h' });
    expect(e.params._tally_dropped).toBeUndefined();
    expect(JSON.stringify(e.params)).toContain('"__proto__":"p"');
    expect(Object.getOwnPropertyDescriptor(e.user_props, '__proto__')?.value).toBe('u');
  });
});

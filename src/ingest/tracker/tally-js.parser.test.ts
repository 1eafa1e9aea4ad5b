import { describe, expect, it } from 'vitest';
import { isTallyError } from '../../infra/errors.js';
import { parseTallyJs, TALLY_JS_LIMITS } from './tally-js.parser.js';

const NOW = Date.UTC(2026, 0, 15, 12);

describe('tally.js payload parser', () => {
  it('maps a batch, correcting the browser clock by its send time', () => {
    const skew = 90_000; // the browser's clock runs 90 s fast
    const r = parseTallyJs(
      {
        c: 'lq3x.abc123',
        u: null,
        l: 'de-DE',
        s: '1280x720',
        cs: { analytics_storage: 'granted' },
        st: NOW + skew,
        e: [
          { n: 'page_view', u: 'https://a.example/x', r: 'https://g.example/', t: 'X', ts: NOW + skew - 3_000, p: {} },
          { n: 'file_download', u: 'https://a.example/x', ts: NOW + skew - 1_000, p: { file_extension: 'pdf', file_name: 'r.pdf' } },
        ],
      },
      { receivedAt: NOW },
    );
    expect(r.cookieless).toBe(false);
    expect(r.events.map((e) => [e.name, e.client_ts, e.client_id])).toEqual([
      ['page_view', NOW - 3_000, 'lq3x.abc123'],
      ['file_download', NOW - 1_000, 'lq3x.abc123'],
    ]);
    expect(r.events[0]).toMatchObject({
      protocol: 'tallyjs',
      url: 'https://a.example/x',
      referrer: 'https://g.example/',
      title: 'X',
      language: 'de-DE',
      screen: '1280x720',
      consent: { analytics_storage: 'granted' },
    });
  });

  it('keeps an extra event field whose name a param already has in params._tally_dropped', () => {
    const r = parseTallyJs({ st: NOW, e: [{ n: 'signup', ts: NOW, p: { plan: 'pro' }, plan: 'team', seats: 3 }] }, { receivedAt: NOW });
    expect(r.events[0].params).toEqual({ plan: 'pro', seats: 3, _tally_dropped: { plan: 'team' } });
  });

  it('refuses params nested too deeply to serialise as such, not as too large', () => {
    const p = { d: JSON.parse('['.repeat(300_000) + ']'.repeat(300_000)) };
    const r = parseTallyJs({ st: NOW, e: [{ n: 'x', ts: NOW, p }] }, { receivedAt: NOW });
    expect(r.refused.map((x) => x.detail)).toEqual(['p: nested too deeply']);
  });

  it('makes tally("user", id) an identity link', () => {
    const r = parseTallyJs({ st: NOW, e: [{ n: 'tally_identity_link', u: 'https://a.example/', ts: NOW, p: { user_id: 'u-1' } }] }, { receivedAt: NOW });
    expect(r.cookieless).toBe(true);
    expect(r.events[0]).toMatchObject({ user_id: 'u-1', params: { user_id: 'u-1', link_kind: 'user_id', source_protocol: 'tallyjs' } });
  });

  it('refuses broken events one by one and broken batches whole', () => {
    const r = parseTallyJs(
      {
        e: [
          { n: '' },
          { n: 'ok', p: [] },
          { n: 'ok', u: 5 },
          { n: 'ok', p: { x: 'y'.repeat(TALLY_JS_LIMITS.maxParamsBytes) } },
          'x',
          { n: 'ok' },
          { n: 'tally_identity_link' },
        ],
      },
      { receivedAt: NOW },
    );
    expect(r.events.map((e) => e.name)).toEqual(['ok']);
    expect(r.refused.map((x) => x.index)).toEqual([0, 1, 2, 3, 4, 6]);
    for (const bad of [
      null,
      [],
      { e: [] },
      { e: 'x' },
      { e: new Array(51).fill({ n: 'x' }) },
      { c: 'has space', e: [{ n: 'x' }] },
      { c: 5, e: [{ n: 'x' }] },
      { cs: [1], e: [{ n: 'x' }] },
    ]) {
      let code = '';
      try {
        parseTallyJs(bad, { receivedAt: NOW });
      } catch (e) {
        code = isTallyError(e) ? e.code : 'other';
      }
      expect(code, JSON.stringify(bad).slice(0, 60)).toBe('malformed_body');
    }
  });

  it('keeps params, event fields and consent named like Object.prototype members under their own name', () => {
    const r = parseTallyJs(
      JSON.parse(`{"st": ${NOW}, "cs": { "__proto__": "granted" }, "e": [
        { "n": "sign_up", "u": "https://a.example/", "ts": ${NOW}, "hasOwnProperty": "h",
          "p": { "__proto__": "p", "constructor": "c", "toString": "t" } }
      ]}`),
      { receivedAt: NOW },
    );
    const [e] = r.events;
    expect(Object.getOwnPropertyDescriptor(e.params, '__proto__')?.value).toBe('p');
    expect(e.params).toMatchObject({ constructor: 'c', toString: 't', hasOwnProperty: 'h' });
    expect(JSON.stringify(e.params)).toContain('"__proto__":"p"');
    expect(Object.getOwnPropertyDescriptor(e.consent, '__proto__')?.value).toBe('granted');
  });

  it('limits params by their UTF-8 bytes, not UTF-16 units', () => {
    const max = TALLY_JS_LIMITS.maxParamsBytes;
    // {"k":"…"} is 8 bytes around the value; "é" is 1 UTF-16 unit and 2 bytes
    const fits = 'é'.repeat((max - 8) / 2);
    const over = 'é'.repeat((max - 8) / 2 + 1);
    const r = parseTallyJs(
      {
        e: [
          { n: 'x', p: { k: fits } },
          { n: 'x', p: { k: over } },
        ],
      },
      { receivedAt: NOW },
    );
    expect(r.events.map((e) => e.params.k)).toEqual([fits]);
    expect(r.refused).toMatchObject([{ index: 1, reason: 'invalid', detail: `p: larger than ${max} bytes` }]);
  });
});

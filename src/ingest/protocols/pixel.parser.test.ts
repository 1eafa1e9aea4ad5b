import { describe, expect, it } from 'vitest';
import { parsePixel, pixelPropertyRef } from './pixel.parser.js';

describe('pixel /i.gif parser', () => {
  it('maps an email-open pixel: defaults to page_view, eid as the event id, ep.* kept', () => {
    const q = new URLSearchParams(
      'tid=G-ABC123&cid=sub-42&en=email_open&eid=open-42-7&dl=https%3A%2F%2Fmail.example%2Fnews%2F7&dt=Issue%207&ep.campaign=spring&epn.issue=7',
    );
    expect(pixelPropertyRef(q)).toBe('G-ABC123');
    expect(parsePixel(q)).toMatchObject({
      protocol: 'pixel',
      name: 'email_open',
      event_id: 'open-42-7',
      client_id: 'sub-42',
      url: 'https://mail.example/news/7',
      title: 'Issue 7',
      params: { campaign: 'spring', issue: 7, tid: 'G-ABC123' },
    });
    const pv = parsePixel(new URLSearchParams('mid=400000001&dl=https%3A%2F%2Fa.example%2F&dr=https%3A%2F%2Fb.example%2F'));
    expect(pv).toMatchObject({ name: 'page_view', event_id: null, client_id: null, referrer: 'https://b.example/' });
    expect(pixelPropertyRef(new URLSearchParams('mid=400000001'))).toBe('400000001');
    expect(pixelPropertyRef(new URLSearchParams('en=x'))).toBeNull();
  });

  it('refuses hostile values instead of throwing', () => {
    expect(parsePixel(new URLSearchParams(`tid=G-1&dl=${'x'.repeat(10_000)}`))).toMatchObject({ reason: 'over_limit' });
    expect(parsePixel(new URLSearchParams('tid=G-1&en=%00bad'))).toMatchObject({ reason: 'invalid' });
    expect(parsePixel(new URLSearchParams(`tid=G-1&eid=${'e'.repeat(200)}`))).toMatchObject({ event_id: null });
  });

  it('keeps parameters named like Object.prototype members under their own name', () => {
    const e = parsePixel(new URLSearchParams('tid=G-1&cid=c&constructor=c&toString=t&ep.__proto__=p'));
    expect(e).toMatchObject({ name: 'page_view', client_id: 'c', params: { constructor: 'c', toString: 't' } });
    if ('reason' in e) throw new Error(e.detail);
    expect(Object.getOwnPropertyDescriptor(e.params, '__proto__')?.value).toBe('p');
  });
});

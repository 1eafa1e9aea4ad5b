import { describe, expect, it } from 'vitest';
import { RequestUrl } from './request-url.js';

describe('RequestUrl', () => {
  it('splits path and query once, and reads the query as URL.searchParams does', () => {
    for (const raw of [
      '/mp/collect?measurement_id=G-1&api_secret=a%2Bb+c',
      '/g/collect?v=2&tid=G-1&en=page_view&ep.x=1&ep.x=2#frag',
      '/t/collect',
      '/p?',
      '/a?x=%E2%82%AC&=empty&novalue',
    ]) {
      const mine = RequestUrl.of(raw);
      const url = new URL(raw, 'http://collector');
      expect(mine.pathname).toBe(url.pathname);
      expect([...mine.searchParams]).toEqual([...url.searchParams]);
    }
    expect(RequestUrl.of(undefined).pathname).toBe('/');
  });
});

import { describe, expect, it } from 'vitest';
import { parsePageUrl, referrerHost } from './url.js';

describe('parsePageUrl', () => {
  it.each([
    ['https://www.example.com/store/contact-us?query_string=true', 'www.example.com', '/store/contact-us', 'query_string=true'],
    ['https://Shop.Example.COM:8443/a/b/?x=1&y=2#frag', 'shop.example.com', '/a/b/', 'x=1&y=2'],
    ['http://example.com', 'example.com', '/', null],
    ['http://example.com?', 'example.com', '/', null],
    ['http://example.com/?', 'example.com', '/', null],
    ['https://example.com#top', 'example.com', '/', null],
    ['https://user:pw@example.com:80/p', 'example.com', '/p', null],
    ['https://example.com./p', 'example.com', '/p', null],
    ['http://[2001:DB8::1]:8080/x?y', '[2001:db8::1]', '/x', 'y'],
    ['//cdn.example.com/lib.js?v=3', 'cdn.example.com', '/lib.js', 'v=3'],
    ['android-app://com.google.android.gm/', 'com.google.android.gm', '/', null],
    ['example.com/landing?utm_source=x', 'example.com', '/landing', 'utm_source=x'],
    // kept as sent: no decoding, no dot-segment resolution
    ['https://example.com/caf%C3%A9/../x?q=a+b%20c', 'example.com', '/caf%C3%A9/../x', 'q=a+b%20c'],
    ['https://example.com/a path?q=hello world', 'example.com', '/a path', 'q=hello world'],
    ['  https://example.com/trim  ', 'example.com', '/trim', null],
  ])('%s', (url, host, path, query) => {
    expect(parsePageUrl(url)).toEqual({ host, path, query });
  });

  it('keeps a path-only URL without a host', () => {
    expect(parsePageUrl('/pricing?plan=pro')).toEqual({ host: null, path: '/pricing', query: 'plan=pro' });
  });

  it.each([null, '', '   ', 'not a url', 'about:blank', 'javascript:alert(1)', 'mailto:a@b.com', 'localhost', 'http://exa mple.com/', 'http://[::1/'])(
    'returns nulls for garbage: %j',
    (url) => {
      expect(parsePageUrl(url)).toEqual({ host: null, path: null, query: null });
    },
  );

  it('never throws on arbitrary input', () => {
    let seed = 42;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const alphabet = 'ab:/?#@[]%.&= \u00e9\u0000\\-_';
    for (let i = 0; i < 2000; i++) {
      let s = '';
      const n = Math.floor(rnd() * 30);
      for (let j = 0; j < n; j++) s += alphabet[Math.floor(rnd() * alphabet.length)];
      const r = parsePageUrl(s);
      expect(r.host === null || r.host === r.host.toLowerCase()).toBe(true);
      if (r.host !== null) expect(r.path).not.toBeNull();
    }
  });
});

describe('referrerHost', () => {
  it('is the lowercased host without port, keeping www', () => {
    expect(referrerHost('https://WWW.Google.com:443/search?q=x')).toBe('www.google.com');
    expect(referrerHost('https://l.facebook.com/l.php?u=x')).toBe('l.facebook.com');
  });
  it('is null when there is none', () => {
    expect(referrerHost(null)).toBeNull();
    expect(referrerHost('')).toBeNull();
    expect(referrerHost('/relative/only')).toBeNull();
    expect(referrerHost('garbage')).toBeNull();
  });
});

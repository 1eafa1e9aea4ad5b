/**
 * URL splitting for page_location / page_referrer. Deliberately a small grammar rather than
 * WHATWG `URL`: no percent-encoding, dot-segment or IDN normalisation, so the Spark job can
 * reproduce it byte for byte with one regex (see data/README.md, "URL grammar").
 */

export interface PageUrlParts {
  host: string | null;
  path: string | null;
  query: string | null;
}

const NONE: PageUrlParts = { host: null, path: null, query: null };

// scheme://authority path ?query #fragment
const ABSOLUTE = /^([a-z][a-z0-9+.-]*:)?\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?/i;
// path ?query #fragment, for relative references that start with '/'
const PATH_ONLY = /^(\/[^?#]*)(?:\?([^#]*))?/;
// a bare host such as "example.com/x": at least one dot, a letter TLD, optional port
const BARE_HOST = /^[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}(:\d*)?([/?#]|$)/i;
const VALID_HOST = /^[a-z0-9._~!$&'()*+,;=%-]+$/i;
const IPV6_HOST = /^\[[0-9a-f:.]+\]$/i;

export function parsePageUrl(url: string | null): PageUrlParts {
  if (url === null || url === undefined) return NONE;
  const s = String(url).trim();
  if (s === '') return NONE;

  let m = ABSOLUTE.exec(s);
  if (m === null && !s.startsWith('/') && BARE_HOST.test(s)) m = ABSOLUTE.exec(`//${s}`);
  if (m !== null) {
    const host = normaliseHost(m[2]);
    if (host === undefined) return NONE;
    return { host, path: m[3] === '' ? '/' : m[3], query: emptyToNull(m[4]) };
  }
  if (s.startsWith('/')) {
    const p = PATH_ONLY.exec(s);
    if (p !== null) return { host: null, path: p[1], query: emptyToNull(p[2]) };
  }
  return NONE;
}

export function referrerHost(referrer: string | null): string | null {
  return parsePageUrl(referrer).host;
}

/** Lowercased host without user info and port; null when empty; undefined when not a host. */
function normaliseHost(authority: string): string | null | undefined {
  let h = authority;
  const at = h.lastIndexOf('@');
  if (at >= 0) h = h.slice(at + 1);
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    if (end < 0) return undefined;
    const rest = h.slice(end + 1);
    if (rest !== '' && !/^:\d*$/.test(rest)) return undefined;
    h = h.slice(0, end + 1);
    return IPV6_HOST.test(h) ? h.toLowerCase() : undefined;
  }
  h = h.replace(/:\d*$/, '').replace(/\.$/, '');
  if (h === '') return null;
  return VALID_HOST.test(h) ? h.toLowerCase() : undefined;
}

function emptyToNull(v: string | undefined): string | null {
  return v === undefined || v === '' ? null : v;
}

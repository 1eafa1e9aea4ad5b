/**
 * Which hosts a property's browser hits may come from (issue 9 §1). A property lists allowed
 * hostnames: `shop.acme.test` matches that host exactly, `*.acme.test` any subdomain of
 * `acme.test` (not `acme.test` itself). An empty list means the property's own domain (each of a
 * comma-separated list, `www.` ignored) and every subdomain of it. Hosts compare without port and
 * case; an IPv6 host is written in brackets as in a URL (`[::1]`).
 */
export type HostMatcher = (host: string) => boolean;

/** The allowed hostnames a property has when its list is empty: its domain(s) and their subdomains. */
export function defaultAllowedHostnames(domain: string | null | undefined): string[] {
  const out: string[] = [];
  for (const d of (domain ?? '').split(',')) {
    const host = d
      .trim()
      .toLowerCase()
      .replace(/^www\./, '');
    if (host) out.push(host, `*.${host}`);
  }
  return out;
}

/** One matcher per property, built once per credential snapshot: a Set for exact hosts, suffixes for wildcards. */
export function hostMatcher(domain: string | null | undefined, allowed: readonly string[]): HostMatcher {
  const list = allowed.length ? allowed : defaultAllowedHostnames(domain);
  const exact = new Set<string>();
  const suffixes: string[] = [];
  for (const raw of list) {
    const h = raw.trim().toLowerCase();
    if (h === '*') return () => true;
    if (h.startsWith('*.')) suffixes.push(h.slice(1));
    else if (h) exact.add(h);
  }
  return (host: string) => {
    if (exact.has(host)) return true;
    for (const s of suffixes) if (host.length > s.length && host.endsWith(s)) return true;
    return false;
  };
}

/** A valid entry for an allowed-hostnames list (for the API that edits it): a host, or `*.` and a domain. */
export function isAllowedHostnamePattern(entry: string): boolean {
  return entry === '*' || /^(\*\.)?([a-z0-9-]+\.)*[a-z0-9-]+$/i.test(entry) || /^\[[0-9a-f:.]+\]$/i.test(entry);
}

/**
 * The lower-cased host of an absolute http(s) URL or an Origin header, without port or user info;
 * null when there is none (a relative URL, `null`, another scheme). A string scan, not `new URL`:
 * this runs for every browser event.
 */
export function urlHost(url: string | null | undefined): string | null {
  if (!url) return null;
  const scheme = url.indexOf('://');
  if (scheme < 0 || scheme > 8) return null;
  const s = url.slice(0, scheme).toLowerCase();
  if (s !== 'http' && s !== 'https') return null;
  let end = url.length;
  for (let i = scheme + 3; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c === 47 /* / */ || c === 63 /* ? */ || c === 35 /* # */ || c === 92 /* \ */) {
      end = i;
      break;
    }
  }
  let authority = url.slice(scheme + 3, end);
  const at = authority.lastIndexOf('@');
  if (at >= 0) authority = authority.slice(at + 1);
  let host: string;
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']');
    host = close > 0 ? authority.slice(0, close + 1) : authority;
  } else {
    const colon = authority.indexOf(':');
    host = colon >= 0 ? authority.slice(0, colon) : authority;
  }
  host = host.toLowerCase();
  if (host.endsWith('.')) host = host.slice(0, -1);
  return host || null;
}

import net from 'node:net';

/** Strips the IPv4-mapped IPv6 prefix, brackets and an RFC 7239 port; null for anything that is not an address. */
export function normalizeIp(ip: string | null | undefined): string | null {
  if (!ip) return null;
  let s = ip.trim();
  if (s.startsWith('"') && s.endsWith('"') && s.length > 1) s = s.slice(1, -1);
  if (s.startsWith('[')) {
    const end = s.indexOf(']');
    if (end < 0) return null;
    s = s.slice(1, end);
  } else if (s.indexOf(':') > 0 && s.indexOf(':') === s.lastIndexOf(':')) {
    s = s.slice(0, s.indexOf(':')); // "1.2.3.4:8080"
  }
  if (s.length > 7 && s.slice(0, 7).toLowerCase() === '::ffff:' && net.isIPv4(s.slice(7))) s = s.slice(7);
  return net.isIP(s) ? s : null;
}

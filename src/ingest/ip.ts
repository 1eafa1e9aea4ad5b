import net from 'node:net';

export { normalizeIp } from '../domain/ip-address.js';

/** IPv4 to its /24, IPv6 to its /48: enough for coarse geo and abuse, not a person. */
export function truncateIp(ip: string): string | null {
  const v = net.isIP(ip);
  if (v === 4) {
    const p = ip.split('.');
    return `${p[0]}.${p[1]}.${p[2]}.0`;
  }
  if (v === 6) {
    const groups = expandIpv6(ip);
    return `${groups
      .slice(0, 3)
      .map((g) => parseInt(g, 16).toString(16))
      .join(':')}::`;
  }
  return null;
}

function expandIpv6(ip: string): string[] {
  const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, ''];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  // an embedded IPv4 tail counts as two groups
  const last = t.length ? t[t.length - 1] : h[h.length - 1];
  if (last && net.isIPv4(last)) {
    const parts = last.split('.').map(Number);
    const extra = [((parts[0] << 8) | parts[1]).toString(16), ((parts[2] << 8) | parts[3]).toString(16)];
    if (t.length) t.splice(t.length - 1, 1, ...extra);
    else h.splice(h.length - 1, 1, ...extra);
  }
  const fill = ip.includes('::') ? new Array(8 - h.length - t.length).fill('0') : [];
  return [...h, ...fill, ...t];
}

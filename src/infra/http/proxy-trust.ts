import type { IncomingMessage } from 'node:http';
import net from 'node:net';
import type { TLSSocket } from 'node:tls';
import { normalizeIp } from '../../domain/ip-address.js';
import type { ProxyTrust, ProxyTrustSetting } from './proxy-trust.port.js';

export type { ProxyTrust, ProxyTrustSetting } from './proxy-trust.port.js';
export { normalizeIp };

const ALIASES: Record<string, string[]> = {
  loopback: ['127.0.0.0/8', '::1/128'],
  private: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
};

/**
 * `false`/`0`: trust no proxy. `true`: one hop (the socket peer is a proxy; `true` used to mean "the
 * leftmost X-Forwarded-For entry", which the client writes). `N`: N hops. Otherwise a comma list of
 * proxy addresses or CIDRs (`10.0.0.0/8, 2001:db8::/32, loopback, private`). Throws on a bad entry.
 */
export function parseProxyTrust(value: string | undefined): ProxyTrustSetting {
  const v = (value ?? '').trim().toLowerCase();
  if (['', 'false', '0', 'no', 'off'].includes(v)) return { kind: 'none' };
  if (['true', 'yes', 'on'].includes(v)) return { kind: 'hops', hops: 1 };
  if (/^\d+$/.test(v)) {
    const hops = Number(v);
    if (hops > 32) throw new Error('at most 32 hops');
    return { kind: 'hops', hops };
  }
  const cidrs: string[] = [];
  for (const raw of v.split(',')) {
    const entry = raw.trim();
    if (!entry) continue;
    if (ALIASES[entry]) {
      cidrs.push(...ALIASES[entry]);
      continue;
    }
    const [addr, bits, extra] = entry.split('/');
    const family = net.isIP(addr);
    const max = family === 4 ? 32 : 128;
    if (!family || extra !== undefined || (bits !== undefined && !(/^\d+$/.test(bits) && Number(bits) <= max))) {
      throw new Error(`"${entry}" is not an IP address, a CIDR, "loopback" or "private"`);
    }
    cidrs.push(bits === undefined ? `${addr}/${max}` : entry);
  }
  if (!cidrs.length) return { kind: 'none' };
  return { kind: 'cidrs', cidrs };
}

/** One hop as a proxy reported it: who it received the request from, and over which scheme. */
interface Hop {
  for: string;
  proto: string | undefined;
}

/**
 * The chain of forwarding hops, client side first. `Forwarded` (RFC 7239) when present, since each of
 * its elements carries `for` and `proto` together; else `X-Forwarded-For` with `X-Forwarded-Proto`
 * (aligned entry by entry when the counts match, else its last value: the one the nearest proxy set).
 */
function forwardedHops(req: IncomingMessage): Hop[] {
  const fwd = req.headers.forwarded;
  if (fwd) return parseForwarded(fwd);
  const xff = req.headers['x-forwarded-for'];
  if (!xff) return [];
  const fors = (Array.isArray(xff) ? xff.join(',') : xff).split(',');
  const xfp = req.headers['x-forwarded-proto'];
  const protos = xfp ? (Array.isArray(xfp) ? xfp.join(',') : xfp).split(',') : [];
  const last = protos.length ? protos[protos.length - 1].trim().toLowerCase() : undefined;
  return fors.map((f, i) => ({ for: f.trim(), proto: protos.length === fors.length ? protos[i].trim().toLowerCase() : last }));
}

/** RFC 7239 elements: `for=192.0.2.60;proto=http, for="[2001:db8:cafe::17]:4711"`. Unknown parameters are ignored. */
export function parseForwarded(header: string): Hop[] {
  const hops: Hop[] = [];
  for (const element of header.split(',')) {
    let f = '';
    let proto: string | undefined;
    for (const pair of element.split(';')) {
      const eq = pair.indexOf('=');
      if (eq < 0) continue;
      const key = pair.slice(0, eq).trim().toLowerCase();
      let value = pair.slice(eq + 1).trim();
      if (value.startsWith('"') && value.endsWith('"') && value.length > 1) value = value.slice(1, -1);
      if (key === 'for') f = value;
      else if (key === 'proto') proto = value.toLowerCase();
    }
    hops.push({ for: f, proto });
  }
  return hops;
}

const NO_TRUST: ProxyTrust = {
  setting: { kind: 'none' },
  enabled: false,
  clientIp: (req) => req.socket.remoteAddress ?? null,
  isHttps: (req) => Boolean((req.socket as TLSSocket).encrypted),
};

/**
 * Compiles the setting once. The walk goes from the socket's peer leftwards through the hops, and
 * stops at the first address not trusted: everything left of it was written by someone we do not trust.
 */
export function proxyTrust(setting: ProxyTrustSetting): ProxyTrust {
  if (setting.kind === 'none' || (setting.kind === 'hops' && setting.hops === 0)) return NO_TRUST;
  let trusted: (ip: string, depth: number) => boolean;
  if (setting.kind === 'hops') {
    trusted = (_ip, depth) => depth < setting.hops;
  } else {
    const list = new net.BlockList();
    for (const c of setting.cidrs) {
      const [addr, bits] = c.split('/');
      list.addSubnet(addr, Number(bits), net.isIPv4(addr) ? 'ipv4' : 'ipv6');
    }
    trusted = (ip) => {
      const a = normalizeIp(ip);
      return a !== null && list.check(a, net.isIPv4(a) ? 'ipv4' : 'ipv6');
    };
  }

  /** The index of the client's hop in `hops`, or -1 when the socket peer itself is the client. */
  const walk = (peer: string, hops: Hop[]): number => {
    if (!trusted(peer, 0)) return -1;
    let i = hops.length - 1;
    // hops[i].for is who the proxy at depth (len-1-i) saw; continue left while that one is trusted too
    while (i > 0 && normalizeIp(hops[i].for) !== null && trusted(hops[i].for, hops.length - i)) i--;
    return i;
  };

  return {
    setting,
    enabled: true,
    clientIp(req) {
      const peer = req.socket.remoteAddress ?? '';
      const hops = forwardedHops(req);
      if (!hops.length) return peer || null;
      const i = walk(peer, hops);
      // a trusted proxy that says "unknown" or an obfuscated id: there is no address to use
      return i < 0 ? peer || null : normalizeIp(hops[i].for);
    },
    isHttps(req) {
      if ((req.socket as TLSSocket).encrypted) return true;
      const hops = forwardedHops(req);
      if (!hops.length) return false;
      const i = walk(req.socket.remoteAddress ?? '', hops);
      return i >= 0 && hops[i].proto === 'https';
    },
  };
}

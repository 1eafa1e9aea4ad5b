import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/config.js';
import { parseForwarded, parseProxyTrust, proxyTrust, type ProxyTrust } from './proxy-trust.js';

// Requests arrive over a real loopback socket, so the peer is 127.0.0.1: the nearest proxy.
let server: http.Server;
let base: string;
let trust: ProxyTrust;
beforeAll(async () => {
  server = http.createServer((req, res) => res.end(JSON.stringify({ ip: trust.clientIp(req), https: trust.isHttps(req) })));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

async function seen(setting: string, headers: Record<string, string>): Promise<{ ip: string | null; https: boolean }> {
  trust = proxyTrust(parseProxyTrust(setting));
  return (await fetch(base, { headers })).json() as Promise<{ ip: string | null; https: boolean }>;
}

describe('client address behind proxies', () => {
  it('TALLY_TRUST_PROXY=true takes what the nearest proxy saw, not the leftmost entry the client wrote', async () => {
    // the old behaviour answered 6.6.6.6: the client's own X-Forwarded-For value
    const config = loadConfig({ TALLY_TRUST_PROXY: 'true' });
    trust = proxyTrust(config.http.trustProxy);
    const r = (await (await fetch(base, { headers: { 'x-forwarded-for': '6.6.6.6, 203.0.113.9' } })).json()) as { ip: string };
    expect(r.ip).toBe('203.0.113.9');
  });

  it('counts hops from the right', async () => {
    const xff = { 'x-forwarded-for': '6.6.6.6, 203.0.113.9, 10.0.0.2' };
    expect((await seen('1', xff)).ip).toBe('10.0.0.2');
    expect((await seen('2', xff)).ip).toBe('203.0.113.9');
    expect((await seen('9', xff)).ip).toBe('6.6.6.6');
    expect((await seen('false', xff)).ip).toBe('127.0.0.1');
  });

  it('walks trusted proxy CIDRs from the right and stops at the first untrusted address', async () => {
    const xff = { 'x-forwarded-for': '6.6.6.6, 203.0.113.9, 10.1.2.3, 10.0.0.2' };
    expect((await seen('loopback, 10.0.0.0/8', xff)).ip).toBe('203.0.113.9');
    expect((await seen('127.0.0.1', xff)).ip).toBe('10.0.0.2');
    // the socket peer is not a trusted proxy: its headers are ignored
    expect((await seen('192.168.0.0/16', xff)).ip).toBe('127.0.0.1');
    // IPv6 proxies and clients
    expect((await seen('loopback, 2001:db8::/32', { 'x-forwarded-for': '2001:db9::1, 2001:db8::5' })).ip).toBe('2001:db9::1');
  });

  it('reads RFC 7239 Forwarded, quoted IPv6 with ports included', async () => {
    const fwd = { forwarded: 'for=6.6.6.6;proto=http, for="[2001:db8:cafe::17]:4711";proto=https;by=10.0.0.1' };
    expect(await seen('1', fwd)).toEqual({ ip: '2001:db8:cafe::17', https: true });
    expect(await seen('2', fwd)).toEqual({ ip: '6.6.6.6', https: false });
    // a trusted proxy that hides the client gives no address rather than its own
    expect((await seen('1', { forwarded: 'for=unknown' })).ip).toBeNull();
    expect(parseForwarded('For="192.0.2.43:47011";Proto=HTTPS')).toEqual([{ for: '192.0.2.43:47011', proto: 'https' }]);
  });

  it('answers "was this HTTPS" from the same trust', async () => {
    expect((await seen('1', { 'x-forwarded-for': '203.0.113.9', 'x-forwarded-proto': 'https' })).https).toBe(true);
    // untrusted peer: the header is the client's word
    expect((await seen('false', { 'x-forwarded-for': '203.0.113.9', 'x-forwarded-proto': 'https' })).https).toBe(false);
    expect((await seen('10.0.0.0/8', { 'x-forwarded-proto': 'https' })).https).toBe(false);
    // one proto per hop: the one of the hop where the walk stopped
    expect((await seen('2', { 'x-forwarded-for': '203.0.113.9, 10.0.0.2', 'x-forwarded-proto': 'https, http' })).https).toBe(true);
    expect((await seen('1', { 'x-forwarded-for': '203.0.113.9, 10.0.0.2', 'x-forwarded-proto': 'https, http' })).https).toBe(false);
  });

  it('refuses settings that are not hops or addresses, naming the variable', () => {
    expect(() => loadConfig({ TALLY_TRUST_PROXY: '10.0.0.0/33' })).toThrow(/TALLY_TRUST_PROXY/);
    expect(() => loadConfig({ TALLY_TRUST_PROXY: 'nginx' })).toThrow(/TALLY_TRUST_PROXY/);
    expect(parseProxyTrust('10.0.0.1, private')).toEqual({
      kind: 'cidrs',
      cidrs: ['10.0.0.1/32', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
    });
    expect(parseProxyTrust(undefined)).toEqual({ kind: 'none' });
  });
});

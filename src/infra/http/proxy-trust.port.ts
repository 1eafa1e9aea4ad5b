import type { IncomingMessage } from 'node:http';

/**
 * Which peers may tell us the client's address (`TALLY_TRUST_PROXY`), as parsed by the config:
 * no one; the nearest N hops; or the proxies whose addresses are in these CIDRs.
 */
export type ProxyTrustSetting = { kind: 'none' } | { kind: 'hops'; hops: number } | { kind: 'cidrs'; cidrs: string[] };

/** What the edge asks, answered from the same trust setting everywhere (IP for geo and limits, scheme for cookies). */
export interface ProxyTrust {
  readonly setting: ProxyTrustSetting;
  /** True when some proxy is trusted (forwarding headers are then read at all). */
  readonly enabled: boolean;
  /** The address the nearest trusted proxy saw the request come from; the socket's peer without one. */
  clientIp(req: IncomingMessage): string | null;
  /** Whether the client's request was HTTPS: TLS on this socket, or the scheme a trusted proxy received. */
  isHttps(req: IncomingMessage): boolean;
}

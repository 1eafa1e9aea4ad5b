import net from 'node:net';

/**
 * Internal-traffic rules (GA4's "Define internal traffic" plus its "Internal Traffic" data filter),
 * per property. A rule gives the events whose client IP is in one of its ranges a `traffic_type`
 * (GA4's parameter; default `internal`). The collector matches the **full** IP before truncating
 * it and stamps the raw record; the transform drops the stamped events while the filter is active.
 *
 * Retroactive reach (README "Retroactive rules"): the raw zone keeps only the truncated IP (IPv4
 * /24, IPv6 /48). A range at least as wide as the truncation (IPv4 prefix ≤ 24, IPv6 ≤ 48)
 * contains a truncated address exactly when it contains the full one, so the transform also
 * matches those ranges on `ip_trunc`: added later, they apply to past events on a replay. A
 * narrower range (an office's /28, one /32 host) cannot be decided from the truncated IP: it
 * applies only to events the collector stamped while the rule existed.
 */

export interface InternalTrafficRule {
  /** Unique within the property, shown in the console. */
  name: string;
  /** The `traffic_type` value events in the ranges get (GA4: `internal`). */
  trafficType: string;
  /** CIDR ranges, IPv4 or IPv6 (`203.0.113.0/24`, `2001:db8::/32`); a bare address is a /32 or /128. */
  cidrs: string[];
}

export interface InternalTrafficSettings {
  rules: InternalTrafficRule[];
  /** `active`: events of any rule's traffic type are excluded from every report; `inactive`: counted. */
  filter: 'active' | 'inactive';
}

export const NO_INTERNAL_TRAFFIC: InternalTrafficSettings = Object.freeze({ rules: [], filter: 'active' }) as InternalTrafficSettings;

export const INTERNAL_TRAFFIC_LIMITS = { rules: 20, cidrsPerRule: 50, nameLength: 64, trafficTypeLength: 40 } as const;

/** The widest prefix of each family whose match is decided by the truncated IP alone (the truncation). */
export const TRUNCATION_PREFIX = { 4: 24, 6: 48 } as const;

export interface Cidr {
  family: 4 | 6;
  address: string;
  prefix: number;
}

/** Parses `a.b.c.d/n`, `x:y::/n` or a bare address; null when it is none of these. */
export function parseCidr(text: string): Cidr | null {
  const s = text.trim();
  const slash = s.indexOf('/');
  const address = slash < 0 ? s : s.slice(0, slash);
  const family = net.isIP(address);
  if (family !== 4 && family !== 6) return null;
  const max = family === 4 ? 32 : 128;
  if (slash < 0) return { family, address, prefix: max };
  const p = s.slice(slash + 1);
  if (!/^\d{1,3}$/.test(p) || Number(p) > max) return null;
  return { family, address, prefix: Number(p) };
}

/** Whether the truncated IP decides membership of this range exactly (README above). */
export const decidableOnTruncatedIp = (c: Cidr): boolean => c.prefix <= TRUNCATION_PREFIX[c.family];

type Matcher = (ip: string) => boolean;

function matcher(cidrs: readonly Cidr[]): Matcher {
  if (cidrs.length === 0) return () => false;
  const list = new net.BlockList();
  for (const c of cidrs) list.addSubnet(c.address, c.prefix, c.family === 4 ? 'ipv4' : 'ipv6');
  return (ip) => {
    const family = net.isIP(ip);
    return family !== 0 && list.check(ip, family === 4 ? 'ipv4' : 'ipv6');
  };
}

interface CompiledRule {
  trafficType: string;
  all: Matcher;
  truncated: Matcher;
}

const compileRules = (rules: readonly InternalTrafficRule[]): CompiledRule[] =>
  rules.map((r) => {
    const cidrs = r.cidrs.map(parseCidr).filter((c): c is Cidr => c !== null);
    return { trafficType: r.trafficType, all: matcher(cidrs), truncated: matcher(cidrs.filter(decidableOnTruncatedIp)) };
  });

/**
 * At the edge, on the full client IP: the traffic type of the first rule with a range holding it,
 * else null. Compile once per settings version (the collector caches it per property).
 */
export function edgeTrafficTyper(settings: InternalTrafficSettings | undefined): (fullIp: string | null) => string | null {
  const rules = compileRules(settings?.rules ?? []);
  if (rules.length === 0) return () => null;
  return (ip) => {
    if (ip === null) return null;
    for (const r of rules) if (r.all(ip)) return r.trafficType;
    return null;
  };
}

/**
 * In the transform, once per distinct (truncated IP, stamped traffic type): whether the event is
 * excluded now. Excluded when the filter is active and either its stamped type is still a rule's
 * type (deleting the rule brings its past events back on a replay) or a range decidable on the
 * truncated IP holds `ip_trunc` (a range added later reaches past events on a replay).
 */
export function internalExclusion(settings: InternalTrafficSettings | undefined): ((ipTrunc: string | null, stamped: string | null) => boolean) | null {
  if (settings === undefined || settings.filter !== 'active' || settings.rules.length === 0) return null;
  const rules = compileRules(settings.rules);
  const types = new Set(rules.map((r) => r.trafficType));
  return (ipTrunc, stamped) => (stamped !== null && types.has(stamped)) || (ipTrunc !== null && rules.some((r) => r.truncated(ipTrunc)));
}

import { uuidv7 } from './uuid7.js';
import type { RawEvent } from '../domain/raw-event.js';
import { edgeTrafficTyper, type InternalTrafficSettings } from '../domain/rules/internal-traffic.js';
import type { ParsedEvent } from './parsed-event.js';
import type { GeoLookup, GeoResult } from './geo.js';
import { normalizeIp, truncateIp } from './ip.js';
import { isServerSender } from './server-senders.js';

export interface RequestContext {
  receivedAt: number;
  /** The request's own User-Agent header and client IP. */
  userAgent: string | null;
  ip: string | null;
}

export interface TenantContext {
  tenantId: string;
  propertyId: string;
  /** The property's internal-traffic rules, matched here on the full IP before it is truncated. */
  internalTraffic?: InternalTrafficSettings;
}

// compiled once per settings object (the credential cache hands out a new one when they change)
const typers = new WeakMap<InternalTrafficSettings, (ip: string | null) => string | null>();
function trafficTypeOf(settings: InternalTrafficSettings | undefined, ip: string | null): string | null {
  if (settings === undefined || settings.rules.length === 0 || ip === null) return null;
  let typer = typers.get(settings);
  if (typer === undefined) typers.set(settings, (typer = edgeTrafficTyper(settings)));
  return typer(ip);
}

const MAX_EVENT_ID = 128;

/** The last IP truncated: a request's events share one IP, so they share one truncation. */
let lastIp = '';
let lastTrunc: string | null = null;
function truncateOnce(ip: string): string | null {
  if (ip !== lastIp) {
    lastTrunc = truncateIp(ip);
    lastIp = ip;
  }
  return lastTrunc;
}

/** The last geo lookup, likewise shared by a request's events. */
let lastGeoIp = '';
let lastGeoOf: GeoLookup | null = null;
let lastGeo: GeoResult = { country: null, region: null, city: null };
function lookupOnce(geo: GeoLookup, ip: string, prefix: string | null): GeoResult {
  if (ip !== lastGeoIp || geo !== lastGeoOf) {
    lastGeo = geo.lookup(ip, prefix);
    lastGeoIp = ip;
    lastGeoOf = geo;
  }
  return lastGeo;
}

/**
 * The only enrichment done at the edge: tenant, event id, the visitor's UA and IP (payload first,
 * else the request's unless a server-side sender sent it), geo and the internal-traffic type from
 * the full IP, then the IP truncated. Everything else (user agent parsing, referrers, sessions) belongs to the transform.
 */
export function toRawEvent(p: ParsedEvent, tenant: TenantContext, req: RequestContext, geo: GeoLookup): RawEvent {
  const requestIsVisitor = !isServerSender(req.userAgent);

  let ua: string | null = p.ua;
  let uaSource: RawEvent['ua_source'] = ua ? 'payload' : 'none';
  if (!ua && requestIsVisitor && req.userAgent) {
    ua = req.userAgent;
    uaSource = 'request';
  }

  let ip = normalizeIp(p.ip);
  let ipSource: RawEvent['ip_source'] = ip ? 'payload' : 'none';
  if (!ip && requestIsVisitor) {
    ip = normalizeIp(req.ip);
    if (ip) ipSource = 'request';
  }

  const ipTrunc = ip ? truncateOnce(ip) : null;
  let country = p.geo?.country ?? null;
  let region = p.geo?.region ?? null;
  let city = p.geo?.city ?? null;
  if (!p.geo && ip) ({ country, region, city } = lookupOnce(geo, ip, ipTrunc));

  const eventId = p.event_id && p.event_id.length <= MAX_EVENT_ID ? p.event_id : uuidv7();
  const trafficType = trafficTypeOf(tenant.internalTraffic, ip);
  const event: RawEvent = {
    event_id: eventId,
    tenant_id: tenant.tenantId,
    property_id: tenant.propertyId,
    protocol: p.protocol,
    received_at: req.receivedAt,
    client_ts: p.client_ts,
    name: p.name,
    client_id: p.client_id,
    user_id: p.user_id,
    session_id: p.session_id,
    url: p.url,
    referrer: p.referrer,
    title: p.title,
    ua,
    ua_source: uaSource,
    ip_trunc: ipTrunc,
    ip_source: ipSource,
    country,
    region,
    city,
    language: p.language,
    screen: p.screen,
    consent: p.consent,
    params: p.params,
    user_props: p.user_props,
  };
  // only on matching events, so the raw record of every other event is as before
  if (trafficType !== null) event.traffic_type = trafficType;
  return event;
}

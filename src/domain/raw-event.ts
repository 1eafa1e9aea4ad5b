/**
 * The raw event: what the collector appends to the event log, one JSON object per event.
 * Every protocol maps onto this one shape; nothing a protocol sends is silently lost
 * (fields without a column of their own go to `params`).
 */
export type Protocol = 'ga4mp' | 'native' | 'gtag' | 'segment' | 'snowplow' | 'plausible' | 'umami' | 'posthog' | 'pixel' | 'tallyjs';

/** Where the visitor's user agent / IP came from: the payload, the HTTP request, or nowhere. */
export type ClientInfoSource = 'payload' | 'request' | 'none';

export type ParamValue = string | number | boolean | null | ParamValue[] | { [k: string]: ParamValue };

export interface RawEvent {
  /** Client's id when it sends one, else a UUIDv7; the dedup key. */
  event_id: string;
  tenant_id: string;
  property_id: string;
  protocol: Protocol;
  /** Server receipt time, epoch ms. */
  received_at: number;
  /** Event time the client claims, epoch ms (clamped to at most 72 h in the past), or null. */
  client_ts: number | null;
  name: string;
  client_id: string | null;
  user_id: string | null;
  /** The client's own session id when the protocol carries one (GA4 `session_id`). */
  session_id: string | null;
  url: string | null;
  referrer: string | null;
  title: string | null;
  /** The visitor's user agent (never a server-side sender's own). */
  ua: string | null;
  ua_source: ClientInfoSource;
  /** IPv4 truncated to /24, IPv6 to /48; the full IP is never stored. */
  ip_trunc: string | null;
  ip_source: ClientInfoSource;
  /** ISO 3166-1 alpha-2 */
  country: string | null;
  region: string | null;
  city: string | null;
  language: string | null;
  /** "WxH" */
  screen: string | null;
  /** Tri-state consent signals as the protocol sent them, e.g. { ad_user_data: 'GRANTED' }. */
  consent: Record<string, string> | null;
  params: Record<string, ParamValue>;
  user_props: Record<string, ParamValue>;
  /** Set on events accepted past the plan's monthly events (below its hard cap): kept and counted, billed as overage. */
  over_quota?: true;
  /**
   * Set by the collector when the full client IP was in one of the property's internal-traffic
   * ranges (`rules/internal-traffic.ts`): that rule's traffic type (GA4's `traffic_type`, e.g.
   * `internal`). Absent otherwise. The full IP itself is never stored.
   */
  traffic_type?: string;
}

/** A refused event, kept with its reason so it is countable and replayable, never dropped. */
export interface DeadLetter {
  tenant_id: string | null;
  property_id: string | null;
  protocol: Protocol;
  received_at: number;
  reason: DeadLetterReason;
  detail: string;
  /** The offending payload (one event, or the whole body when it could not be split). */
  payload: unknown;
}

export type DeadLetterReason =
  | 'invalid'
  | 'over_limit'
  | 'name_reserved'
  | 'unknown_property'
  | 'bad_credentials'
  | 'malformed_body'
  /** A browser hit from a host the property does not allow (payload: the parsed event, replayable). */
  | 'hostname_not_allowed'
  /** Over the property's rate on a protocol whose clients never retry (GA4 MP): kept instead of lost. */
  | 'rate_limited'
  /** Past the plan's hard cap on a protocol whose clients never retry (GA4 MP): kept so an upgrade can re-drive them. */
  | 'quota_exceeded';

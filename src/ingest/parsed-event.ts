import type { Protocol, RawEvent } from '../domain/raw-event.js';

/**
 * Params key under which every parser keeps what it could not place under its own name (a value
 * over a limit, a field clashing with a param of the same name), keyed by where it came from.
 */
export const DROPPED_PARAM = '_tally_dropped';

/**
 * What a protocol parser produces: a raw event before the edge has resolved the tenant,
 * assigned an id, and turned the IP into geo + a truncated IP.
 */
export interface ParsedEvent extends Omit<
  RawEvent,
  'event_id' | 'tenant_id' | 'property_id' | 'received_at' | 'ua' | 'ua_source' | 'ip_trunc' | 'ip_source' | 'country' | 'region' | 'city'
> {
  /** The client's own event id (dedup key), when the protocol carries one. */
  event_id: string | null;
  /** The visitor's user agent as the payload states it; null lets the edge use the request's. */
  ua: string | null;
  /** The visitor's full IP as the payload states it (GA4 `ip_override`); null: the request's. */
  ip: string | null;
  /** Geo the payload states (GA4 `user_location`); wins over the IP lookup. */
  geo: { country: string | null; region: string | null; city: string | null } | null;
}

/**
 * An event of this protocol and name with nothing else known yet: parsers start from it and set
 * the fields their payload carries. Every parser's events thus share one shape.
 */
export function blankEvent(protocol: Protocol, name: string): ParsedEvent {
  return {
    event_id: null,
    protocol,
    client_ts: null,
    name,
    client_id: null,
    user_id: null,
    session_id: null,
    url: null,
    referrer: null,
    title: null,
    ua: null,
    ip: null,
    geo: null,
    language: null,
    screen: null,
    consent: null,
    params: {},
    user_props: {},
  };
}

/** One event a parser refused, with the reason it is dead-lettered under. */
export interface RefusedEvent {
  index: number;
  reason: import('../domain/raw-event.js').DeadLetterReason;
  detail: string;
  payload: unknown;
}

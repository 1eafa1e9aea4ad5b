import type { RawEvent } from '../domain/raw-event.js';

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

/** One event a parser refused, with the reason it is dead-lettered under. */
export interface RefusedEvent {
  index: number;
  reason: import('../domain/raw-event.js').DeadLetterReason;
  detail: string;
  payload: unknown;
}

import type { DeadLetter, RawEvent } from '../domain/raw-event.js';
import type { TenantProperty } from '../domain/tenant-property.js';
import { urlHost } from '../domain/allowed-hostnames.js';
import { toRawEvent } from './edge.js';
import type { GeoLookup } from './geo.js';
import type { PropertyResolver } from './ingest.ports.js';
import { logKeyOf } from './ingest.service.js';
import type { ParsedEvent } from './parsed-event.js';

export type Readmitted = { event: RawEvent; key: string } | { refused: string; detail: string };

/**
 * Today's rules for one kept dead letter (a support redrive): the letter's property as it is now,
 * its hosts against today's allowed hostnames, then the same edge enrichment as at ingest
 * (`toRawEvent`), with the receipt time the letter was refused at. Only letters whose payload is a
 * parsed event can be re-admitted (`hostname_not_allowed`, `rate_limited`, and every other reason
 * whose payload is the event after parsing); a letter holding the request as sent (invalid,
 * malformed, unknown property) is reported as still refused. Rate and quota are not charged again:
 * they belonged to the time of receipt. The request's own User-Agent and IP were never kept, so a
 * redriven event has the payload's only.
 */
export function deadLetterReadmitter(deps: { property: (id: string) => TenantProperty | null; hosts: Pick<PropertyResolver, 'hostAllowed'>; geo: GeoLookup }) {
  return async (letter: DeadLetter, eventId: string): Promise<Readmitted> => {
    const property = letter.property_id ? deps.property(letter.property_id) : null;
    if (!property || property.tenantId !== letter.tenant_id) return { refused: 'unknown_property', detail: 'the letter names no property that exists now' };
    const p = parsedEvent(letter.payload);
    if (!p) return { refused: 'not_replayable', detail: 'the letter keeps the request as sent, not a parsed event' };
    // the host the letter was refused for (its Origin or Referer may differ from the page URL)
    const refusedHost = letter.reason === 'hostname_not_allowed' ? (letter.detail.split(' ')[0] ?? '').toLowerCase() : null;
    for (const host of [refusedHost, urlHost(p.url)]) {
      if (host && !deps.hosts.hostAllowed(property, host)) return { refused: 'hostname_not_allowed', detail: `${host} is still not an allowed hostname` };
    }
    const event = toRawEvent(
      { ...p, event_id: p.event_id ?? eventId },
      { tenantId: property.tenantId, propertyId: property.propertyId, internalTraffic: property.internalTraffic },
      { receivedAt: letter.received_at, userAgent: null, ip: null },
      deps.geo,
    );
    return { event, key: logKeyOf(event) };
  };
}

function parsedEvent(v: unknown): ParsedEvent | null {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return null;
  const o = v as Record<string, unknown>;
  if (typeof o.name !== 'string' || typeof o.protocol !== 'string' || !('client_ts' in o) || !('params' in o)) return null;
  return {
    ...(o as unknown as ParsedEvent),
    event_id: typeof o.event_id === 'string' ? o.event_id : null,
    params: (o.params ?? {}) as ParsedEvent['params'],
    user_props: (o.user_props ?? {}) as ParsedEvent['user_props'],
  };
}

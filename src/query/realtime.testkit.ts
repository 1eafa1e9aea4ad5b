import type { RawEvent } from '../domain/raw-event.js';

export const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';

/** One collected event as the event log holds it: a Chrome page view of t1's p1, received now. */
export function liveEvent(over: Partial<RawEvent> = {}): RawEvent {
  return {
    event_id: Math.random().toString(36).slice(2),
    tenant_id: 't1',
    property_id: 'p1',
    protocol: 'native',
    received_at: Date.now(),
    client_ts: null,
    name: 'page_view',
    client_id: 'c1',
    user_id: null,
    session_id: null,
    url: 'https://a.example.com/',
    referrer: null,
    title: 'Home',
    ua: CHROME,
    ua_source: 'request',
    ip_trunc: null,
    ip_source: 'none',
    country: 'FR',
    region: null,
    city: 'Paris',
    language: null,
    screen: null,
    consent: null,
    params: {},
    user_props: {},
    ...over,
  };
}

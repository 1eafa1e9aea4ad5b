import type { RawEvent } from '../domain/raw-event.js';
import { botVerdict } from '../domain/enrichment/bot.js';
import { createUserAgentParser } from '../domain/enrichment/user-agent.js';
import { COUNTRY_NAMES } from './country-names.js';

/** How far back realtime answers (GA4 standard properties: minutes 29..0). */
export const REALTIME_MINUTES = 30;
const WINDOW_MS = (REALTIME_MINUTES + 1) * 60_000;

/** One event of the realtime window, reduced to what the realtime schema reads. */
export interface RealtimeEvent {
  /** Server receipt time, epoch ms (GA4's minutesAgo counts from collection). */
  ms: number;
  /** Reporting identity: user id, else client id, else the event id (a user of one event). */
  user: string;
  eventName: string;
  country: string;
  countryId: string;
  city: string;
  deviceCategory: string;
  unifiedScreenName: string;
  platform: string;
}

interface PropertyTail {
  events: RealtimeEvent[];
  /** Index of the first live event; the array is compacted when half of it is dead. */
  head: number;
}

const NOT_SET = '(not set)';

/**
 * The last 30 minutes of events of every property this process has seen on the event log, in
 * memory, per tenant and property (the tail of `raw-events`, not the warehouse). Bounded: events
 * older than the window are dropped as new ones arrive and on every read, and a property keeps at
 * most `maxEventsPerProperty` (the oldest go first), so one busy property cannot take the
 * process's memory.
 */
export class RealtimeWindow {
  private readonly tails = new Map<string, PropertyTail>();
  private readonly parseUa = createUserAgentParser(10_000);
  private dropped = 0;

  constructor(private readonly opts: { maxEventsPerProperty?: number } = {}) {}

  /** Adds one raw event (bots excluded, as the warehouse excludes them). */
  add(e: RawEvent, now = Date.now()): void {
    if (e.received_at < now - WINDOW_MS) return;
    // a backfill (an event the client dates before the window, e.g. an MP timestamp_micros or an
    // import) is not live activity, though it arrived just now
    if (e.client_ts !== null && e.client_ts < now - WINDOW_MS) return;
    if (botVerdict(e.ua, e.ua_source).isBot) return;
    const key = tailKey(e.tenant_id, e.property_id);
    let tail = this.tails.get(key);
    if (!tail) this.tails.set(key, (tail = { events: [], head: 0 }));
    const country = e.country ? e.country.toUpperCase() : null;
    tail.events.push({
      ms: e.received_at,
      user: e.user_id ?? e.client_id ?? e.event_id,
      eventName: e.name,
      country: country ? (COUNTRY_NAMES.get(country) ?? country) : NOT_SET,
      countryId: country ?? NOT_SET,
      city: e.city || NOT_SET,
      deviceCategory: this.parseUa(e.ua).deviceCategory,
      unifiedScreenName: e.title || NOT_SET,
      platform: 'web',
    });
    const max = this.opts.maxEventsPerProperty ?? 500_000;
    if (tail.events.length - tail.head > max) {
      this.dropped += tail.events.length - tail.head - max;
      tail.head = tail.events.length - max;
    }
    this.evict(tail, now);
  }

  /** The live events of one property with receipt time in [fromMs, toMs). */
  events(tenantId: string, propertyId: string, now = Date.now()): readonly RealtimeEvent[] {
    const tail = this.tails.get(tailKey(tenantId, propertyId));
    if (!tail) return [];
    this.evict(tail, now);
    return tail.events.slice(tail.head);
  }

  /** Events refused because a property went over its cap (for the README's honesty and metrics). */
  get droppedOverCap(): number {
    return this.dropped;
  }

  private evict(tail: PropertyTail, now: number): void {
    const cutoff = now - WINDOW_MS;
    // receipt times arrive nearly in order (one partition per key); a late straggler only delays eviction
    while (tail.head < tail.events.length && tail.events[tail.head].ms < cutoff) tail.head++;
    if (tail.head > 1024 && tail.head * 2 > tail.events.length) {
      tail.events = tail.events.slice(tail.head);
      tail.head = 0;
    }
  }
}

function tailKey(tenantId: string, propertyId: string): string {
  return `${tenantId}\u0000${propertyId}`;
}

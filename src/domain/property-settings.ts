import type { ChannelRule } from './enrichment/channel-group.js';
import type { BotPattern } from './rules/bot-patterns.js';
import type { InternalTrafficSettings } from './rules/internal-traffic.js';

/** What the pipeline needs to know about a property; owned by tenancy, read everywhere. */
export interface PropertySettings {
  tenantId: string;
  propertyId: string;
  /** IANA time zone; report dates and `dt=` partitions of the transformed zone are in it. */
  timeZone: string;
  currencyCode: string;
  /** Inactivity that ends a session when the client sends no session id. GA4: 30, max 475. */
  sessionTimeoutMinutes: number;
  /** A session longer than this is engaged. GA4: 10, adjustable 10–60. */
  engagedSessionSeconds: number;
  /** Event names counted as key events. */
  keyEvents: string[];
  /**
   * The retroactive rules (issue 13), read by the transform (and internal traffic also by the
   * collector); absent: none / the default channel group.
   */
  internalTraffic?: InternalTrafficSettings;
  /** Extra bot patterns on the visitor's user agent, after the built-in list. */
  botPatterns?: BotPattern[];
  /** The property's own channel group (ordered, first match wins); null or absent: GA4's default. */
  channelRules?: ChannelRule[] | null;
}

export const DEFAULT_PROPERTY_SETTINGS = {
  timeZone: 'UTC',
  currencyCode: 'USD',
  sessionTimeoutMinutes: 30,
  engagedSessionSeconds: 10,
  keyEvents: ['purchase'],
} as const;

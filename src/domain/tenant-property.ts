import type { PropertySettings } from './property-settings.js';

/**
 * A property as the edge and the report API see it: its settings plus what admission needs
 * (plan limits) and what identifies it on the wire. Tenancy loads it (`tenant.repository.ts`);
 * every other feature only reads this type, never tenancy's rows.
 */
export interface TenantProperty extends PropertySettings {
  /** Public: the GA4-style `G-…` id, for gtag `tid`, the pixel, tally.js and GA4 MP. */
  measurementId: string;
  /** Public: a random id for protocols whose id field is free-form (Snowplow `aid`, Umami `website`). */
  siteId: string;
  domain: string;
  /** Hosts browser hits may come from (`*.acme.test` wildcards); empty: `domain` and its subdomains. */
  allowedHostnames: string[];
  planId: string;
  /** Events a month the plan includes; past it events are accepted and flagged `over_quota`. */
  monthlyEventQuota: number;
  /** Events a month past which ingest refuses (`quota_exceeded`); absent: twice `monthlyEventQuota`. */
  quotaHardCap?: number;
  rateLimitPerSecond: number;
  /** Token bucket size: events a property may send at once before the per-second rate applies. */
  rateBurst: number;
}

/** What a key may do: send events, read reports, or sign GA4 Measurement Protocol hits. */
export type KeyScope = 'ingest' | 'read' | 'mp_secret';

import type { PropertySettings } from './property-settings.js';

/**
 * A property as the edge and the report API see it: its settings plus what admission needs
 * (plan limits) and what identifies it on the wire. Tenancy loads it (`tenant.repository.ts`);
 * every other feature only reads this type, never tenancy's rows.
 */
export interface TenantProperty extends PropertySettings {
  measurementId: string;
  domain: string;
  planId: string;
  monthlyEventQuota: number;
  rateLimitPerSecond: number;
}

/** What a key may do: send events, read reports, or sign GA4 Measurement Protocol hits. */
export type KeyScope = 'ingest' | 'read' | 'mp_secret';

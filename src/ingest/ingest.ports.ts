import type { KeyScope, TenantProperty } from '../domain/tenant-property.js';

/**
 * What ingest needs from other features, as ports: tenancy's credential cache and billing's usage
 * meter satisfy them, the composition root wires them in. Ingest never imports those features.
 */
export interface PropertyResolver {
  resolveKey(secret: string, scope: KeyScope): TenantProperty | null;
  resolveMeasurement(measurementId: string, apiSecret: string): { property: TenantProperty } | { error: 'unknown_measurement_id' | 'bad_api_secret' };
  resolvePublicId(id: string): TenantProperty | null;
  resolveDomain(domain: string): TenantProperty | null;
  /**
   * After a miss: waits for one refresh of what the resolver knows (shared by concurrent misses,
   * bounded, at most one per second); true when it completed, so the caller looks again.
   */
  awaitRefresh(): Promise<boolean>;
  /** Whether a browser hit from `host` (lower case, no port) may be counted for `property`. */
  hostAllowed(property: TenantProperty, host: string): boolean;
  /** Whether any property allows `host` (a CORS preflight names no property yet). */
  anyAllows(host: string): boolean;
}

export interface UsageRecorder {
  record(tenantId: string, propertyId: string, at: number, events: number, deadLetters: number): void;
}

export type QuotaThreshold = 80 | 100 | 'cap';

/**
 * Told when an organisation's month crosses 80 % or 100 % of its plan's events, or is refused at
 * the hard cap (billing e-mails the owners once each per month). Called once per crossing per
 * process; never awaited, so it must not throw.
 */
export interface QuotaObserver {
  crossed(c: { tenantId: string; month: string; threshold: QuotaThreshold; used: number; quota: number }): void;
}

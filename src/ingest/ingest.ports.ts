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
  /** Waits for one shared refresh after a miss; false when none may run now (at most one a second). */
  awaitRefresh(): Promise<boolean>;
  /** Whether a browser hit from `host` may count for the property (its allowed hostnames). */
  hostAllowed(property: TenantProperty, host: string): boolean;
  /** Whether any property allows `host` (a CORS preflight names no property yet). */
  anyAllows(host: string): boolean;
}

export interface UsageRecorder {
  record(tenantId: string, propertyId: string, at: number, events: number, deadLetters: number): void;
}

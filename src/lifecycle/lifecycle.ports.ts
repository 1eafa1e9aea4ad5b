import type { TenantProperty } from '../domain/tenant-property.js';

/**
 * What the lifecycle needs of other features, as ports the composition root (src/server) wires:
 * the pipeline's bookkeeping and jobs (jobs/), ingest's validation and event log (src/ingest),
 * tenancy's properties and audit log (src/tenancy). The lifecycle never imports those features.
 */

/** One raw object as the pipeline's manifest (`raw_objects`) records it. */
export interface RawManifestEntry {
  key: string;
  tenantId: string;
  propertyId: string;
  records: number;
  minEventMs: number;
  maxEventMs: number;
}

/** The pipeline's manifest of raw objects (jobs/pipeline-state.repository.ts satisfies it). */
export interface RawManifest {
  /** Records (or re-records) objects; each gets a new sequence number, so the next transform reads it. */
  recordRawObjects(entries: RawManifestEntry[]): Promise<void>;
  forgetRawObjects(keys: string[]): Promise<void>;
}

export type Progress = (done: number, total: number, unit?: string) => void;

/**
 * Re-transforms every date of one property from its raw zone and loads the changed partitions
 * into the warehouse (the transform job with `full`, then the load job). `archiverCaughtUp` first
 * waits until everything the event log holds now is in raw objects.
 */
export interface PipelinePort {
  archiverCaughtUp(): Promise<void>;
  rebuild(propertyId: string, progress: Progress): Promise<{ dates: number; partitions: number }>;
}

/** Ingest's own validation and event log, for a backfill: each row with the time it is filed under. */
export interface ImportSink {
  /**
   * Parses `rows` (Tally's native event format) with ingest's parser and appends the accepted ones
   * to the event log in one durable append, each received at its `receivedAt`. Returns the indexes
   * the parser refused, with why.
   */
  append(property: TenantProperty, rows: { row: unknown; receivedAt: number }[]): Promise<{ refused: { index: number; detail: string }[] }>;
}

/** Tenancy's view of a property (the credential cache). */
export interface PropertyLookup {
  property(propertyId: string): Promise<TenantProperty | null>;
}

/** Who asked, as tenancy's audit log records it. */
export interface LifecycleActor {
  kind: 'user' | 'staff' | 'operator';
  userId?: string | null;
  ip?: string | null;
  reason?: string | null;
}

/** Appends one entry to the organisation's audit log (tenancy's `appendAudit`). */
export type AuditPort = (
  actor: LifecycleActor,
  entry: { organizationId: string; action: string; targetType: string; targetId: string; after?: unknown },
) => Promise<void>;

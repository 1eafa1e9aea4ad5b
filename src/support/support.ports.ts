import type { Db } from '../infra/metadata/db.js';
import type { PropertySettings } from '../domain/property-settings.js';
import type { TransformedTable } from '../domain/transformed-schema.js';
import type { ObjectStore } from '../infra/object-store/object-store.port.js';
import type { TransformEngine } from '../infra/transform/transform-engine.port.js';
import type { RawEvent, DeadLetter } from '../domain/raw-event.js';

/**
 * What the support tools need of other modules, declared here and wired by src/server (a feature
 * never imports another feature): the pipeline's bookkeeping, its date locks, the audit log, the
 * ingest rules a redrive re-applies, and an engine that writes where it is told.
 */

/** One partition of the transformed zone as the pipeline's bookkeeping records it. */
export interface PartitionRecord {
  tenantId: string;
  propertyId: string;
  table: TransformedTable;
  date: string;
  keys: string[];
  rows: number;
}

/** The pipeline-state repository, as far as a replay uses it (jobs/pipeline-state.repository.ts). */
export interface ReplayPipeline {
  /** Recorded partitions of a property between two local dates (inclusive). */
  partitionsBetween(propertyId: string, from: string, to: string): Promise<PartitionRecord[]>;
  /** Records new file lists (the watermark never moves back: pass the current one). */
  markTransformed(tenantId: string, propertyId: string, uptoSeq: number, partitions: PartitionRecord[]): Promise<void>;
  transformedSeq(propertyId: string): Promise<number>;
  pendingLoads(propertyId?: string): Promise<(PartitionRecord & { transformedAt: Date })[]>;
  markLoaded(p: PartitionRecord, transformedAt: Date, loadedRows: number): Promise<void>;
}

export interface HeldLock {
  release(): Promise<void>;
}

/** The date locks the scheduler's transform and compaction also take (jobs/partition-locks.repository.ts). */
export interface DateLocks {
  acquire(propertyId: string, from: string, to: string, holder: string, waitMs: number): Promise<HeldLock>;
}

/** Who did it, as the organisation's audit log records it. */
export interface SupportActor {
  kind: 'user' | 'staff' | 'operator';
  userId?: string | null;
  ip?: string | null;
  reason?: string | null;
}

/**
 * The plan's feature gate (billing's `assertFeature`, wired by src/server): throws 403
 * `plan_feature_unavailable` when the organisation's plan lacks the feature.
 */
export type FeatureGate = (organizationId: string, feature: 'replay') => Promise<void>;

/**
 * Counts re-driven events in the usage billing reads (`usage_hourly`, billing's; wired by
 * src/server), on the transaction that records the letters as redriven: once per letter.
 */
export type RedriveUsage = (db: Db, entry: { tenantId: string; propertyId: string; at: number; events: number }) => Promise<void>;

export type AuditWriter = (
  actor: SupportActor,
  entry: { organizationId: string; action: string; targetType: string; targetId?: string | null; after?: unknown },
) => Promise<void>;

/** A property's settings and identity, as the credential cache knows it. */
export interface SupportProperty {
  settings: PropertySettings;
  organizationId: string;
}

export type PropertyLookup = (propertyId: string) => Promise<SupportProperty | null>;

/** A transform engine writing into `store` (the staging area of a replay). */
export type EngineFactory = (store: ObjectStore) => TransformEngine;

/**
 * Today's ingest rules for one kept dead letter (src/ingest wires it): the raw event to append,
 * with its log key, or why it is still refused. `eventId` is the id the event gets when its payload carries none,
 * so a second redrive of the same letter appends the same event (deduplicated downstream).
 */
export type Readmit = (letter: DeadLetter, eventId: string) => Promise<{ event: RawEvent; key: string } | { refused: string; detail: string }>;

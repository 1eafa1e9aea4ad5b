import type { PropertySettings } from '../../domain/property-settings.js';
import type { TransformedTable } from '../../domain/transformed-schema.js';

/**
 * The transform port: raw zone -> transformed zone (ARCHITECTURE §4).
 * Embedded: DuckDB. At scale: Spark. Both give identical rows for the same input.
 */
export interface TransformRequest {
  settings: PropertySettings;
  /** Local dates (YYYY-MM-DD, property time zone) whose partitions are rewritten whole. */
  dates: string[];
}

export interface WrittenPartition {
  table: TransformedTable;
  date: string;
  /** Object keys of the partition's files, e.g. transformed/events/tenant=T/property=P/dt=D/part-0.parquet */
  keys: string[];
  rows: number;
}

export interface TransformResult {
  partitions: WrittenPartition[];
  /** Raw records read (before dedup) and events written. */
  rawRead: number;
  eventsWritten: number;
}

export interface TransformEngine {
  transform(request: TransformRequest, onProgress?: (done: number, total: number) => void): Promise<TransformResult>;
  close(): Promise<void>;
}

/** Event time is at most this long before receipt (the collector clamps client_ts). */
export const MAX_LATENESS_MS = 72 * 3_600_000;

/** One incremental cycle of a property (README: "Incremental cycles"). */
export interface CycleRequest {
  settings: PropertySettings;
  /** Raw objects archived since the property's last cycle. */
  newKeys: string[];
  /** Raw objects of earlier cycles that may hold events from `startMs` to `endMs`: a rebuild's context. */
  earlierKeys(startMs: number, endMs: number): Promise<string[]>;
  /** Names this cycle's files; increasing from cycle to cycle (e.g. the raw watermark). */
  cycleId: string;
  /** Re-transform every date from this local date on, whole (a `--full` run). */
  rebuildFrom?: string;
  /**
   * The wall clock of this cycle (epoch ms). A record received from now on is late when its event
   * time is before `now − late allowance`, so the cut may move there even when no newer record
   * arrived (a backfill's or a quiet property's last sessions close), never past the point that
   * closes every session it has read. Absent: the cut follows received times only.
   */
  nowMs?: number;
}

export interface CycleResult extends TransformResult {
  /** The first date re-transformed whole, when late or duplicate events (or rebuildFrom) asked for it. */
  rebuiltFrom: string | null;
  /** New records before the last cut (or otherwise touching closed sessions). */
  late: number;
  /** New records dropped as later copies of events already written. */
  duplicates: number;
}

/** An engine that can transform what arrived since the last cycle, keeping open sessions between cycles. */
export interface IncrementalTransformEngine extends TransformEngine {
  cycle(request: CycleRequest): Promise<CycleResult>;
  /**
   * One cycle for many properties at once (the run's fixed cost paid once), each property's
   * settings joined in as data; results in the requests' order. The requests share one cycleId.
   */
  cycleMany(requests: CycleRequest[]): Promise<CycleResult[]>;
  /**
   * Merges a closed day's files of one table into one sorted file (null: nothing to do). The
   * caller records `keys` as the partition's files, then deletes `obsolete`.
   */
  compact(settings: PropertySettings, table: TransformedTable, date: string): Promise<{ keys: string[]; obsolete: string[]; rows: number } | null>;
}

export function isIncremental(engine: TransformEngine): engine is IncrementalTransformEngine {
  return typeof (engine as Partial<IncrementalTransformEngine>).cycle === 'function';
}

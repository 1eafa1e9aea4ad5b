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


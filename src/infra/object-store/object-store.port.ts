/**
 * The object store port. Embedded: a folder on local disk. At scale: S3 or any S3-compatible
 * store. Keys use the same Hive-style layout in both (ARCHITECTURE §4).
 */
export interface ObjectInfo {
  key: string;
  size: number;
  /** epoch ms */
  lastModified: number;
}

export interface ObjectStore {
  /** Writes the whole object atomically: readers see the old object or the new, never a part. */
  put(key: string, body: Buffer): Promise<void>;
  /** The object's bytes, or null when there is none. */
  get(key: string): Promise<Buffer | null>;
  /** Every object whose key starts with `prefix`, in key order. */
  list(prefix: string): Promise<ObjectInfo[]>;
  delete(keys: string[]): Promise<void>;
  /**
   * A location an engine can read directly: a local path for the folder store,
   * `s3://bucket/key` for S3. Used by DuckDB / Spark to scan objects without copying them.
   */
  locate(key: string): string;
  close(): Promise<void>;
}

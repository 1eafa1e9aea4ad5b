/**
 * The event log port: an ordered, partitioned, durable append-only log.
 * Embedded: a segment log in the data dir. At scale: Kafka.
 *
 * Code appends to named outputs ("raw-events", "dead-letter"); each implementation maps a name
 * to its own storage (a folder, a Kafka topic from config).
 */
export type LogOutput = 'raw-events' | 'dead-letter';

export interface LogRecordIn {
  /** Partitioning key: records with the same key keep their order (property id + client id). */
  key: string;
  value: Buffer;
}

export interface LogRecord {
  partition: number;
  offset: number;
  key: string;
  value: Buffer;
  /** Append time, epoch ms. */
  timestamp: number;
}

export interface LogBatch {
  output: LogOutput;
  partition: number;
  records: LogRecord[];
  /** The offset one past the last record of the batch: what a consumer commits after the batch. */
  nextOffset: number;
}

export interface ConsumeOptions {
  maxBatchRecords?: number;
  /** How long to wait for more records before handing a partial batch to the handler. */
  maxWaitMs?: number;
}

export interface LogConsumer {
  /** Stops fetching; resolves when the batch in flight (if any) has been handled and committed. */
  stop(): Promise<void>;
}

export interface EventLog {
  readonly partitionCount: number;
  /**
   * Appends records; resolves only once all of them are durable (fsync'd / acknowledged by all
   * in-sync replicas). Rejects with TallyError('unavailable') when durability cannot be had.
   */
  append(output: LogOutput, records: LogRecordIn[]): Promise<void>;
  /**
   * Consumes as consumer group `group`, from its committed offsets. The handler's batch is
   * committed only after the handler resolves; when it throws, the same records are offered again.
   */
  consume(output: LogOutput, group: string, handler: (batch: LogBatch) => Promise<void>, options?: ConsumeOptions): Promise<LogConsumer>;
  /** Per partition: the offset the next appended record will get. */
  endOffsets(output: LogOutput): Promise<number[]>;
  /** Per partition: the committed offset of a group (0 when it has none). */
  committedOffsets(output: LogOutput, group: string): Promise<number[]>;
  /**
   * Reads without consuming (no group offset moves; for inspection): per partition, the records
   * from `from[partition]` (clamped to the earliest retained) up to its end offset at the call.
   * Stops early once `maxRecords` are read in all or `timeoutMs` has passed; `complete` says
   * whether every partition was read to its end.
   */
  readRange(output: LogOutput, from: number[], bounds: ReadBounds): Promise<{ records: LogRecord[]; complete: boolean }>;
  close(): Promise<void>;
}

export interface ReadBounds {
  maxRecords: number;
  timeoutMs: number;
}

/**
 * The log's tail: what `group` (e.g. the archiver) has not committed yet, read without moving its
 * offsets, bounded by `bounds` (every record read counts: the bound is on the work, not the matches).
 */
export async function readTail(
  log: EventLog,
  output: LogOutput,
  group: string,
  bounds: ReadBounds,
): Promise<{ records: LogRecord[]; complete: boolean; from: number[]; end: number[] }> {
  const [from, end] = await Promise.all([log.committedOffsets(output, group), log.endOffsets(output)]);
  const { records, complete } = await log.readRange(output, from, bounds);
  return { records, complete, from, end };
}

/** Stable partition for a key (murmur2 in Kafka; FNV-1a here, used only by the local log). */
export function partitionForKey(key: string, partitions: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % partitions;
}

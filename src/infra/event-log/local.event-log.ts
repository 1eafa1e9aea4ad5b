import { mkdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { TallyError } from '../errors.js';
import { acquireDirLock, type DirLock } from '../dir-lock.js';
import type { Logger } from '../logger.js';
import {
  partitionForKey,
  type ConsumeOptions,
  type EventLog,
  type LogBatch,
  type LogConsumer,
  type LogOutput,
  type LogRecord,
  type LogRecordIn,
  type ReadBounds,
} from './event-log.port.js';
import { BACKOFF_MIN_MS, batchOptions, handleUntilDone, nextBackoff, StopSignal } from './consume-loop.js';
import { fsyncDir } from '../durable-fs.js';
import { encodeFrame } from './local-log-frame.js';
import { openPartition, refuseFewerPartitions, type Partition } from './local-log-segment.js';
import { assertGroupName, commitOffset, groupKey, loadGroups, type GroupState } from './local-log-groups.js';
import { readRecords, resetCursor, type Cursor } from './local-log-reader.js';
import { writePartition, type PendingWrite, type WriteOptions } from './local-log-writer.js';

/*
 * On disk (see README.md):
 *   <dir>/LOCK                                  pid of the owning process
 *   <dir>/<output>/<partition>/<base:20>.seg    frames: [u32 len][u32 crc32(payload)][payload]
 *                                               payload: [u64 ts][u16 keyLen][key utf8][value]
 *   <dir>/<output>/offsets/<group>.json         {"offsets":[...]} one committed offset per partition
 * All integers big-endian. A record's offset is its segment's base offset + its index in the segment.
 */

const OUTPUTS: readonly LogOutput[] = ['raw-events', 'dead-letter'];
const RETENTION_CHECK_MS = 60_000;

export interface LocalEventLogOptions {
  dir: string;
  partitions: number;
  /** Roll to a new segment once the current one would exceed this. Default 64 MiB. */
  segmentBytes?: number;
  /**
   * Extra time an append on an idle log waits for others to share its write and fsync. Default 0:
   * flush on the next event-loop turn (measured faster than a 2 ms window at every load tried).
   */
  groupCommitMs?: number;
  /** Consumed segments are deleted once their newest record is older than this. Default 7 days. */
  retentionMs?: number;
  logger?: Pick<Logger, 'warn' | 'error'>;
  /** Fault injection for tests: runs after a partition's bytes are written, before its fsync. */
  hooks?: { beforeSync?: WriteOptions['beforeSync'] };
}

interface AppendWaiter {
  partitions: Partition[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

const noop = (): void => {};

export class LocalEventLog implements EventLog {
  readonly partitionCount: number;
  private readonly segmentBytes: number;
  private readonly groupCommitMs: number;
  private readonly retentionMs: number;
  private readonly logger: Pick<Logger, 'warn' | 'error'>;
  private readonly hooks: LocalEventLogOptions['hooks'];

  private pending = new Map<Partition, PendingWrite>();
  private appendWaiters: AppendWaiter[] = [];
  private cancelScheduledFlush: (() => void) | null = null;
  private flushing: Promise<void> | null = null;
  private closing = false;
  private closed: Promise<void> | null = null;
  private retentionRun: Promise<number> | null = null;
  private readonly retentionTimer: NodeJS.Timeout;
  private readonly consumers = new Set<LogConsumer>();

  private constructor(
    private readonly dir: string,
    private readonly lock: DirLock,
    private readonly parts: Map<LogOutput, Partition[]>,
    private readonly groups: Map<string, GroupState>,
    opts: LocalEventLogOptions,
  ) {
    this.partitionCount = opts.partitions;
    this.segmentBytes = opts.segmentBytes ?? 64 * 1024 * 1024;
    this.groupCommitMs = opts.groupCommitMs ?? 0;
    this.retentionMs = opts.retentionMs ?? 7 * 24 * 3_600_000;
    this.logger = opts.logger ?? { warn: noop, error: noop };
    this.hooks = opts.hooks;
    this.retentionTimer = setInterval(() => this.retentionInBackground(), RETENTION_CHECK_MS).unref();
  }

  static async open(opts: LocalEventLogOptions): Promise<LocalEventLog> {
    if (!Number.isInteger(opts.partitions) || opts.partitions < 1 || opts.partitions > 1024) {
      throw new TallyError('invalid_argument', 'partitions must be an integer from 1 to 1024');
    }
    if (opts.segmentBytes !== undefined && !(Number.isInteger(opts.segmentBytes) && opts.segmentBytes > 0)) {
      throw new TallyError('invalid_argument', 'segmentBytes must be a positive integer');
    }
    if (opts.groupCommitMs !== undefined && !(opts.groupCommitMs >= 0)) {
      throw new TallyError('invalid_argument', 'groupCommitMs must be >= 0');
    }
    if (opts.retentionMs !== undefined && !(opts.retentionMs >= 0)) {
      throw new TallyError('invalid_argument', 'retentionMs must be >= 0');
    }
    await mkdir(opts.dir, { recursive: true });
    const lock = await acquireDirLock(opts.dir, 'event log dir');
    const opened: Partition[] = [];
    try {
      const parts = new Map<LogOutput, Partition[]>();
      const groups = new Map<string, GroupState>();
      for (const output of OUTPUTS) {
        const outDir = join(opts.dir, output);
        await mkdir(join(outDir, 'offsets'), { recursive: true });
        await refuseFewerPartitions(outDir, opts.partitions);
        const list: Partition[] = [];
        for (let i = 0; i < opts.partitions; i++) {
          const p = await openPartition(output, i, join(outDir, String(i)), opts.logger);
          opened.push(p);
          list.push(p);
        }
        parts.set(output, list);
        for (const [name, offsets] of await loadGroups(join(outDir, 'offsets'), opts.partitions)) {
          groups.set(groupKey(output, name), {
            output,
            file: join(outDir, 'offsets', `${name}.json`),
            offsets,
            chain: Promise.resolve(),
            consuming: false,
          });
        }
      }
      await fsyncDir(opts.dir);
      return new LocalEventLog(opts.dir, lock, parts, groups, opts);
    } catch (err) {
      await Promise.all(opened.map((p) => p.fh?.close().catch(noop)));
      await lock.release();
      throw err;
    }
  }

  append(output: LogOutput, records: LogRecordIn[]): Promise<void> {
    if (this.closing) return Promise.reject(new TallyError('unavailable', 'event log is closed'));
    const timestamp = Date.now();
    const parts: Partition[] = [];
    const frames: Buffer[] = [];
    try {
      const list = this.partitionsOf(output);
      if (records.length === 0) return Promise.resolve();
      // every frame is encoded before any is queued: an append that throws leaves nothing behind
      for (const r of records) {
        parts.push(list[partitionForKey(r.key, this.partitionCount)]);
        frames.push(encodeFrame(r.key, r.value, timestamp));
      }
    } catch (err) {
      return Promise.reject(err);
    }
    const touched = new Set<Partition>();
    for (let i = 0; i < frames.length; i++) {
      const p = parts[i];
      let w = this.pending.get(p);
      if (!w) this.pending.set(p, (w = { frames: [], maxTimestamp: timestamp }));
      w.frames.push(frames[i]);
      if (timestamp > w.maxTimestamp) w.maxTimestamp = timestamp;
      touched.add(p);
    }
    return new Promise<void>((resolve, reject) => {
      this.appendWaiters.push({ partitions: [...touched], resolve, reject });
      this.scheduleFlush();
    });
  }

  async consume(output: LogOutput, group: string, handler: (batch: LogBatch) => Promise<void>, options: ConsumeOptions = {}): Promise<LogConsumer> {
    if (this.closing) throw new TallyError('unavailable', 'event log is closed');
    const list = this.partitionsOf(output);
    const g = this.groupState(output, group);
    if (g.consuming) {
      throw new TallyError('conflict', `group ${group} already has a consumer on ${output} in this process`);
    }
    const { maxBatchRecords, maxWaitMs } = batchOptions(options);
    g.consuming = true;
    const ctl = new ConsumerControl();
    const loops = list.map((p) => this.consumePartition(ctl, p, g, handler, maxBatchRecords, maxWaitMs));
    const done = Promise.all(loops).then(() => {
      g.consuming = false;
    });
    const consumer: LogConsumer = {
      stop: async () => {
        ctl.stop();
        await done;
        this.consumers.delete(consumer);
      },
    };
    this.consumers.add(consumer);
    return consumer;
  }

  async endOffsets(output: LogOutput): Promise<number[]> {
    return this.partitionsOf(output).map((p) => p.nextOffset);
  }

  async committedOffsets(output: LogOutput, group: string): Promise<number[]> {
    this.partitionsOf(output);
    assertGroupName(group);
    const g = this.groups.get(groupKey(output, group));
    return g ? g.offsets.slice() : new Array<number>(this.partitionCount).fill(0);
  }

  async readRange(output: LogOutput, from: number[], bounds: ReadBounds): Promise<{ records: LogRecord[]; complete: boolean }> {
    const list = this.partitionsOf(output);
    const deadline = Date.now() + bounds.timeoutMs;
    const records: LogRecord[] = [];
    for (const p of list) {
      // the end at the call: what is appended meanwhile is not read
      const end = p.nextOffset;
      let offset = Math.max(from[p.partition] ?? 0, p.segments[0].baseOffset);
      const cursor: Cursor = { seg: null, fh: null, pos: 0, offset: -1 };
      try {
        while (offset < end) {
          if (records.length >= bounds.maxRecords || Date.now() >= deadline) return { records, complete: false };
          const got = await readRecords(p, cursor, offset, Math.min(1_000, bounds.maxRecords - records.length, end - offset));
          if (got.length === 0) break;
          records.push(...got);
          offset = got[got.length - 1].offset + 1;
        }
      } finally {
        await resetCursor(cursor);
      }
    }
    return { records, complete: true };
  }

  /** Deletes whole segments consumed by every known group and older than retentionMs; returns how many. */
  async enforceRetention(now = Date.now()): Promise<number> {
    while (this.retentionRun) await this.retentionRun.catch(noop);
    const run = this.deleteExpiredSegments(now);
    this.retentionRun = run;
    try {
      return await run;
    } finally {
      if (this.retentionRun === run) this.retentionRun = null;
    }
  }

  close(): Promise<void> {
    this.closed ??= this.shutdown();
    return this.closed;
  }

  private async shutdown(): Promise<void> {
    clearInterval(this.retentionTimer);
    await Promise.all([...this.consumers].map((c) => c.stop()));
    this.closing = true;
    await this.drain();
    while (this.retentionRun) await this.retentionRun.catch(noop);
    for (const list of this.parts.values()) {
      for (const p of list) {
        await p.fh?.close().catch(noop);
        p.fh = null;
      }
    }
    for (const g of this.groups.values()) await g.chain;
    await this.lock.release();
  }

  private partitionsOf(output: LogOutput): Partition[] {
    const list = this.parts.get(output);
    if (!list) throw new TallyError('invalid_argument', `unknown log output ${String(output)}`);
    return list;
  }

  private groupState(output: LogOutput, group: string): GroupState {
    assertGroupName(group);
    const key = groupKey(output, group);
    let g = this.groups.get(key);
    if (!g) {
      g = {
        output,
        file: join(this.dir, output, 'offsets', `${group}.json`),
        offsets: new Array<number>(this.partitionCount).fill(0),
        chain: Promise.resolve(),
        consuming: false,
      };
      this.groups.set(key, g);
    }
    return g;
  }

  // ---- group commit ----------------------------------------------------------------------------

  private scheduleFlush(): void {
    if (this.flushing || this.cancelScheduledFlush) return;
    const run = (): void => {
      this.cancelScheduledFlush = null;
      this.startFlush();
    };
    // Under load, appends gather while the previous flush's fsync runs; an idle log flushes on
    // the next turn of the event loop, which batches every append made in the current one.
    if (this.groupCommitMs > 0) {
      const t = setTimeout(run, this.groupCommitMs);
      this.cancelScheduledFlush = () => clearTimeout(t);
    } else {
      const t = setImmediate(run);
      this.cancelScheduledFlush = () => clearImmediate(t);
    }
  }

  private startFlush(): void {
    const run: Promise<void> = this.flushLoop().finally(() => {
      if (this.flushing === run) this.flushing = null;
      if (this.pending.size > 0) this.scheduleFlush();
    });
    this.flushing = run;
  }

  private async drain(): Promise<void> {
    while (this.flushing || this.pending.size > 0) {
      this.cancelScheduledFlush?.();
      this.cancelScheduledFlush = null;
      if (!this.flushing) this.startFlush();
      await this.flushing;
    }
  }

  private async flushLoop(): Promise<void> {
    while (this.pending.size > 0) {
      const pending = this.pending;
      const waiters = this.appendWaiters;
      this.pending = new Map();
      this.appendWaiters = [];
      const failed = new Map<Partition, unknown>();
      await Promise.all(
        [...pending].map(async ([p, w]) => {
          try {
            await this.flushPartition(p, w);
          } catch (err) {
            failed.set(p, err);
            this.logger.error({ err, output: p.output, partition: p.partition }, 'event log write failed');
          }
        }),
      );
      for (const w of waiters) {
        const bad = w.partitions.find((p) => failed.has(p));
        if (!bad) {
          w.resolve();
          continue;
        }
        const cause = failed.get(bad);
        w.reject(
          new TallyError(
            'unavailable',
            `event log write failed on ${bad.output}/${bad.partition}`,
            { output: bad.output, partition: bad.partition },
            { cause },
          ),
        );
      }
    }
  }

  /** Writes one partition's share of a flush: one write and one fdatasync per segment file touched. */
  private flushPartition(p: Partition, w: PendingWrite): Promise<void> {
    return writePartition(p, w, {
      segmentBytes: this.segmentBytes,
      logger: this.logger,
      beforeSync: this.hooks?.beforeSync,
      onNewSegment: () => this.retentionInBackground(),
    });
  }

  // ---- consuming -------------------------------------------------------------------------------

  private async consumePartition(
    ctl: ConsumerControl,
    p: Partition,
    g: GroupState,
    handler: (batch: LogBatch) => Promise<void>,
    maxBatchRecords: number,
    maxWaitMs: number,
  ): Promise<void> {
    const cursor: Cursor = { seg: null, fh: null, pos: 0, offset: -1 };
    let offset = g.offsets[p.partition] ?? 0;
    let readBackoff = BACKOFF_MIN_MS;
    try {
      while (!ctl.stopped) {
        offset = Math.max(offset, p.segments[0].baseOffset);
        if (offset >= p.nextOffset) {
          await ctl.waitFor(p);
          continue;
        }
        if (maxWaitMs > 0 && p.nextOffset - offset < maxBatchRecords) {
          const deadline = Date.now() + maxWaitMs;
          while (!ctl.stopped && p.nextOffset - offset < maxBatchRecords && Date.now() < deadline) {
            await ctl.waitFor(p, deadline - Date.now());
          }
          if (ctl.stopped) break;
        }
        let records: LogRecord[];
        try {
          records = await readRecords(p, cursor, offset, maxBatchRecords);
          readBackoff = BACKOFF_MIN_MS;
        } catch (err) {
          this.logger.error({ err, output: p.output, partition: p.partition, offset }, 'event log read failed');
          await resetCursor(cursor);
          if (!(await ctl.sleep(readBackoff))) break;
          readBackoff = nextBackoff(readBackoff);
          continue;
        }
        if (records.length === 0) continue;
        const batch: LogBatch = {
          output: p.output,
          partition: p.partition,
          records,
          nextOffset: records[records.length - 1].offset + 1,
        };
        if (!(await this.deliver(ctl, g, handler, batch))) break;
        offset = batch.nextOffset;
      }
    } finally {
      await resetCursor(cursor);
    }
  }

  /** Hands a batch to the handler until it succeeds, then commits it. False when stopped first. */
  private async deliver(ctl: ConsumerControl, g: GroupState, handler: (batch: LogBatch) => Promise<void>, batch: LogBatch): Promise<boolean> {
    if (!(await handleUntilDone(handler, batch, ctl, this.logger))) return false;
    let delay = BACKOFF_MIN_MS;
    for (;;) {
      try {
        await commitOffset(g, batch.partition, batch.nextOffset);
        return true;
      } catch (err) {
        this.logger.error({ err, file: g.file }, 'event log offset commit failed');
      }
      if (!(await ctl.sleep(delay))) return false;
      delay = nextBackoff(delay);
    }
  }

  // ---- retention -------------------------------------------------------------------------------

  private retentionInBackground(): void {
    if (this.retentionRun || this.closing) return;
    this.enforceRetention().catch((err: unknown) => this.logger.error({ err }, 'event log retention failed'));
  }

  private async deleteExpiredSegments(now: number): Promise<number> {
    let deleted = 0;
    for (const [output, list] of this.parts) {
      const groups = [...this.groups.values()].filter((g) => g.output === output);
      if (groups.length === 0) continue;
      for (const p of list) {
        const committed = Math.min(...groups.map((g) => g.offsets[p.partition] ?? 0));
        while (p.segments.length > 1) {
          const [oldest, next] = p.segments;
          if (next.baseOffset > committed || now - oldest.maxTimestamp < this.retentionMs) break;
          p.segments.shift();
          try {
            await unlink(oldest.path);
            deleted++;
          } catch (err) {
            this.logger.warn({ err, path: oldest.path }, 'event log could not delete an expired segment');
          }
        }
      }
    }
    return deleted;
  }
}

class ConsumerControl extends StopSignal {
  /** Resolves on the partition's next append, on stop, or after `ms`. */
  waitFor(p: Partition, ms?: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.stopped) return resolve();
      let timer: NodeJS.Timeout | undefined;
      const done = (): void => {
        clearTimeout(timer);
        p.waiters.delete(done);
        sub.forget();
        resolve();
      };
      p.waiters.add(done);
      const sub = this.onStop(done);
      if (ms !== undefined) timer = setTimeout(done, Math.max(0, ms));
    });
  }
}

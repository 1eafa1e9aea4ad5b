import { mkdir, open, readFile, readdir, unlink, type FileHandle } from 'node:fs/promises';
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
} from './event-log.port.js';
import { BACKOFF_MIN_MS, batchOptions, handleUntilDone, nextBackoff, StopSignal } from './consume-loop.js';
import { fsyncDir, writeAllSync, writeJsonAtomic } from '../durable-fs.js';
import { decodeFrame, encodeFrame, scanFrames } from './local-log-frame.js';
import { buildIndex, INDEX_EVERY, lastAtOrBelow, openPartition, refuseFewerPartitions, segmentPath, type Partition, type Segment } from './local-log-segment.js';

/*
 * On disk (see README.md):
 *   <dir>/LOCK                                  pid of the owning process
 *   <dir>/<output>/<partition>/<base:20>.seg    frames: [u32 len][u32 crc32(payload)][payload]
 *                                               payload: [u64 ts][u16 keyLen][key utf8][value]
 *   <dir>/<output>/offsets/<group>.json         {"offsets":[...]} one committed offset per partition
 * All integers big-endian. A record's offset is its segment's base offset + its index in the segment.
 */

const OUTPUTS: readonly LogOutput[] = ['raw-events', 'dead-letter'];
const GROUP_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
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
  hooks?: { beforeSync?: (at: { output: LogOutput; partition: number; path: string }) => void | Promise<void> };
}

interface PendingWrite {
  frames: Buffer[];
  maxTimestamp: number;
}

interface AppendWaiter {
  partitions: Partition[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

interface GroupState {
  output: LogOutput;
  file: string;
  offsets: number[];
  chain: Promise<void>;
  consuming: boolean;
}

interface Cursor {
  seg: Segment | null;
  fh: FileHandle | null;
  pos: number;
  offset: number;
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

  async consume(
    output: LogOutput,
    group: string,
    handler: (batch: LogBatch) => Promise<void>,
    options: ConsumeOptions = {},
  ): Promise<LogConsumer> {
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
            await this.writePartition(p, w);
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
  private async writePartition(p: Partition, w: PendingWrite): Promise<void> {
    const fh = p.fh ?? (await this.reopenWriteHandle(p));
    const active = p.segments[p.segments.length - 1];
    type Chunk = { base: number; start: number; frames: Buffer[]; bytes: number; fresh: boolean };
    const chunks: Chunk[] = [];
    let cur: Chunk = { base: active.baseOffset, start: active.size, frames: [], bytes: 0, fresh: false };
    let offset = p.nextOffset;
    for (const frame of w.frames) {
      const size = cur.start + cur.bytes;
      if (size > 0 && size + frame.length > this.segmentBytes) {
        if (cur.frames.length > 0) chunks.push(cur);
        cur = { base: offset, start: 0, frames: [], bytes: 0, fresh: true };
      }
      cur.frames.push(frame);
      cur.bytes += frame.length;
      offset++;
    }
    chunks.push(cur);

    const created: { path: string; fh: FileHandle }[] = [];
    try {
      for (const c of chunks) {
        let handle = fh;
        let path = active.path;
        if (c.fresh) {
          path = segmentPath(p.dir, c.base);
          handle = await open(path, 'w+');
          created.push({ path, fh: handle });
        }
        // into the page cache from this thread: a thread-pool round trip costs more than the copy
        // and delays the fsync behind whatever the event loop is doing
        writeAllSync(handle, c.frames.length === 1 ? c.frames[0] : Buffer.concat(c.frames, c.bytes), c.start);
        if (this.hooks?.beforeSync) await this.hooks.beforeSync({ output: p.output, partition: p.partition, path });
        await handle.datasync();
      }
      if (created.length > 0) await fsyncDir(p.dir);
    } catch (err) {
      await this.rollback(p, created);
      throw err;
    }

    let next = p.nextOffset;
    for (const c of chunks) {
      const seg: Segment = c.fresh
        ? { baseOffset: c.base, path: segmentPath(p.dir, c.base), size: 0, index: { offsets: [], positions: [] }, maxTimestamp: 0 }
        : active;
      const index = seg.index!;
      let pos = c.start;
      for (const frame of c.frames) {
        if ((next - seg.baseOffset) % INDEX_EVERY === 0) {
          index.offsets.push(next);
          index.positions.push(pos);
        }
        pos += frame.length;
        next++;
      }
      seg.size = pos;
      seg.maxTimestamp = Math.max(seg.maxTimestamp, w.maxTimestamp);
      if (c.fresh) p.segments.push(seg);
    }
    p.nextOffset = next;
    if (created.length > 0) {
      await fh.close().catch(noop);
      for (const c of created.slice(0, -1)) await c.fh.close().catch(noop);
      p.fh = created[created.length - 1].fh;
      this.retentionInBackground();
    }
    for (const wake of [...p.waiters]) wake();
  }

  /** After a failed rollback: the active segment re-opened and cut back to its fsync'd size. */
  private async reopenWriteHandle(p: Partition): Promise<FileHandle> {
    const active = p.segments[p.segments.length - 1];
    const fh = await open(active.path, 'r+');
    try {
      await fh.truncate(active.size);
      await fh.datasync();
    } catch (err) {
      await fh.close().catch(noop);
      throw err;
    }
    p.fh = fh;
    return fh;
  }

  /** Puts the partition back to its last fsync'd state so a failed batch never becomes visible. */
  private async rollback(p: Partition, created: { path: string; fh: FileHandle }[]): Promise<void> {
    for (const c of created) {
      await c.fh.close().catch(noop);
      await unlink(c.path).catch(noop);
    }
    const active = p.segments[p.segments.length - 1];
    try {
      if (!p.fh) return;
      await p.fh.truncate(active.size);
      await p.fh.datasync();
    } catch (err) {
      this.logger.error({ err, path: active.path }, 'event log rollback failed; retrying on the next write');
      await p.fh?.close().catch(noop);
      p.fh = null;
    }
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
          records = await this.readRecords(p, cursor, offset, maxBatchRecords);
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
  private async deliver(
    ctl: ConsumerControl,
    g: GroupState,
    handler: (batch: LogBatch) => Promise<void>,
    batch: LogBatch,
  ): Promise<boolean> {
    if (!(await handleUntilDone(handler, batch, ctl, this.logger))) return false;
    let delay = BACKOFF_MIN_MS;
    for (;;) {
      try {
        await this.commit(g, batch.partition, batch.nextOffset);
        return true;
      } catch (err) {
        this.logger.error({ err, file: g.file }, 'event log offset commit failed');
      }
      if (!(await ctl.sleep(delay))) return false;
      delay = nextBackoff(delay);
    }
  }

  private commit(g: GroupState, partition: number, offset: number): Promise<void> {
    const run = g.chain.then(async () => {
      const next = g.offsets.slice();
      next[partition] = offset;
      await writeJsonAtomic(g.file, { offsets: next });
      g.offsets = next;
    });
    g.chain = run.catch(noop);
    return run;
  }

  private async readRecords(p: Partition, cursor: Cursor, from: number, max: number): Promise<LogRecord[]> {
    if (cursor.seg === null || cursor.offset !== from || !p.segments.includes(cursor.seg)) {
      await this.seek(p, cursor, from);
    }
    const out: LogRecord[] = [];
    while (out.length < max) {
      const seg = cursor.seg!;
      if (cursor.pos >= seg.size) {
        const i = p.segments.indexOf(seg);
        if (i === -1) {
          await this.seek(p, cursor, cursor.offset);
          continue;
        }
        if (i === p.segments.length - 1) break;
        await resetCursor(cursor);
        cursor.seg = p.segments[i + 1];
        cursor.pos = 0;
        cursor.offset = cursor.seg.baseOffset;
        continue;
      }
      cursor.fh ??= await open(seg.path, 'r');
      const { pos, status } = await scanFrames(cursor.fh, cursor.pos, seg.size, true, (buf, off, len) => {
        out.push(decodeFrame(buf, off, len, p.partition, cursor.offset));
        cursor.offset++;
        return out.length < max;
      });
      if (status === 'torn' || status === 'invalid') {
        throw new TallyError('internal', `corrupt record in ${seg.path} at byte ${pos}`, { path: seg.path, pos });
      }
      cursor.pos = pos;
    }
    return out;
  }

  /** Positions the cursor at `offset` (or the earliest retained offset) via the sparse index. */
  private async seek(p: Partition, cursor: Cursor, offset: number): Promise<void> {
    const segs = p.segments;
    offset = Math.max(offset, segs[0].baseOffset);
    const seg = segs[lastAtOrBelow(segs.map((s) => s.baseOffset), offset)];
    if (cursor.seg !== seg) await resetCursor(cursor);
    const fh = (cursor.fh ??= await open(seg.path, 'r'));
    const index = seg.index ?? (seg.index = await buildIndex(fh, seg));
    let pos = 0;
    let at = seg.baseOffset;
    const j = lastAtOrBelow(index.offsets, offset);
    if (j >= 0) {
      pos = index.positions[j];
      at = index.offsets[j];
    }
    if (at < offset) {
      const res = await scanFrames(fh, pos, seg.size, false, () => ++at < offset);
      pos = res.pos;
    }
    cursor.seg = seg;
    cursor.pos = pos;
    cursor.offset = at;
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

async function loadGroups(offsetsDir: string, partitions: number): Promise<Map<string, number[]>> {
  const groups = new Map<string, number[]>();
  for (const name of await readdir(offsetsDir)) {
    if (!name.endsWith('.json')) continue;
    const group = name.slice(0, -'.json'.length);
    if (!GROUP_NAME.test(group)) continue;
    const file = join(offsetsDir, name);
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(file, 'utf8'));
    } catch (err) {
      throw new TallyError('internal', `unreadable consumer offsets file ${file}`, { file }, { cause: err });
    }
    const offsets = (parsed as { offsets?: unknown }).offsets;
    if (!Array.isArray(offsets) || !offsets.every((o) => Number.isInteger(o) && o >= 0)) {
      throw new TallyError('internal', `malformed consumer offsets file ${file}`, { file });
    }
    groups.set(group, Array.from({ length: partitions }, (_, i) => (offsets[i] as number | undefined) ?? 0));
  }
  return groups;
}

// ---- small helpers -----------------------------------------------------------------------------

function assertGroupName(group: string): void {
  if (!GROUP_NAME.test(group)) {
    throw new TallyError('invalid_argument', `invalid consumer group name ${JSON.stringify(group)}`);
  }
}

function groupKey(output: LogOutput, group: string): string {
  return `${output}/${group}`;
}

async function resetCursor(cursor: Cursor): Promise<void> {
  const fh = cursor.fh;
  cursor.fh = null;
  cursor.seg = null;
  await fh?.close().catch(noop);
}

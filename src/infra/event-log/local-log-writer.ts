import { open, unlink, type FileHandle } from 'node:fs/promises';
import type { Logger } from '../logger.js';
import type { LogOutput } from './event-log.port.js';
import { fsyncDir, writeAllSync } from '../durable-fs.js';
import { INDEX_EVERY, segmentPath, type Partition, type Segment } from './local-log-segment.js';

/** Writing to a partition of the local log: a flush's frames, rolled into new segments, fsync'd, or rolled back. */

const noop = (): void => {};

export interface PendingWrite {
  frames: Buffer[];
  maxTimestamp: number;
}

export interface WriteOptions {
  segmentBytes: number;
  logger: Pick<Logger, 'error'>;
  /** Fault injection for tests: runs after a partition's bytes are written, before its fsync. */
  beforeSync?: (at: { output: LogOutput; partition: number; path: string }) => void | Promise<void>;
  /** Called once a write has started a new segment (before the partition's readers are woken). */
  onNewSegment: () => void;
}

/** Writes one partition's share of a flush: one write and one fdatasync per segment file touched. */
export async function writePartition(p: Partition, w: PendingWrite, opts: WriteOptions): Promise<void> {
  const fh = p.fh ?? (await reopenWriteHandle(p));
  const active = p.segments[p.segments.length - 1];
  type Chunk = { base: number; start: number; frames: Buffer[]; bytes: number; fresh: boolean };
  const chunks: Chunk[] = [];
  let cur: Chunk = { base: active.baseOffset, start: active.size, frames: [], bytes: 0, fresh: false };
  let offset = p.nextOffset;
  for (const frame of w.frames) {
    const size = cur.start + cur.bytes;
    if (size > 0 && size + frame.length > opts.segmentBytes) {
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
      if (opts.beforeSync) await opts.beforeSync({ output: p.output, partition: p.partition, path });
      await handle.datasync();
    }
    if (created.length > 0) await fsyncDir(p.dir);
  } catch (err) {
    await rollback(p, created, opts.logger);
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
    opts.onNewSegment();
  }
  for (const wake of [...p.waiters]) wake();
}

/** After a failed rollback: the active segment re-opened and cut back to its fsync'd size. */
async function reopenWriteHandle(p: Partition): Promise<FileHandle> {
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
async function rollback(p: Partition, created: { path: string; fh: FileHandle }[], logger: WriteOptions['logger']): Promise<void> {
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
    logger.error({ err, path: active.path }, 'event log rollback failed; retrying on the next write');
    await p.fh?.close().catch(noop);
    p.fh = null;
  }
}

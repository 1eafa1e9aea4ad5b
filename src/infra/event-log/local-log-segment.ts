import { mkdir, open, readdir, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { TallyError } from '../errors.js';
import type { Logger } from '../logger.js';
import { fsyncDir } from '../durable-fs.js';
import type { LogOutput } from './event-log.port.js';
import { frameTimestamp, scanFrames } from './local-log-frame.js';

/** Segment files of one partition: `<base offset, 20 digits>.seg`, with a sparse offset index. */
export const INDEX_EVERY = 4096;
const SEGMENT_FILE = /^(\d{20})\.seg$/;
const noop = (): void => {};

export interface SparseIndex {
  offsets: number[];
  positions: number[];
}

export interface Segment {
  baseOffset: number;
  path: string;
  /** Durable bytes: readers never look past this. */
  size: number;
  /** Null until first needed for a segment sealed before this process opened the log. */
  index: SparseIndex | null;
  maxTimestamp: number;
}

export interface Partition {
  output: LogOutput;
  partition: number;
  dir: string;
  segments: Segment[];
  /** Write handle on the last segment; null after a failed rollback (re-opened and truncated on next write). */
  fh: FileHandle | null;
  nextOffset: number;
  waiters: Set<() => void>;
}

export async function buildIndex(fh: FileHandle, seg: Segment): Promise<SparseIndex> {
  const index: SparseIndex = { offsets: [], positions: [] };
  let n = 0;
  let maxTimestamp = 0;
  await scanFrames(fh, 0, seg.size, false, (buf, off, _len, pos) => {
    if (n % INDEX_EVERY === 0) {
      index.offsets.push(seg.baseOffset + n);
      index.positions.push(pos);
    }
    maxTimestamp = Math.max(maxTimestamp, frameTimestamp(buf, off));
    n++;
    return true;
  });
  if (n > 0) seg.maxTimestamp = maxTimestamp;
  return index;
}

export function segmentPath(dir: string, baseOffset: number): string {
  return join(dir, `${String(baseOffset).padStart(20, '0')}.seg`);
}

/** Opens a partition: earlier segments are trusted, the last one is validated and cut at the first bad frame. */
export async function openPartition(output: LogOutput, partition: number, dir: string, logger: Pick<Logger, 'warn'> | undefined): Promise<Partition> {
  await mkdir(dir, { recursive: true });
  const bases = (await readdir(dir))
    .map((name) => SEGMENT_FILE.exec(name))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
  if (bases.length === 0) {
    await (await open(segmentPath(dir, 0), 'w')).close();
    await fsyncDir(dir);
    bases.push(0);
  }
  const segments: Segment[] = [];
  for (const base of bases.slice(0, -1)) {
    const path = segmentPath(dir, base);
    const st = await stat(path);
    segments.push({ baseOffset: base, path, size: st.size, index: null, maxTimestamp: st.mtimeMs });
  }
  const base = bases[bases.length - 1];
  const path = segmentPath(dir, base);
  const fh = await open(path, 'r+');
  try {
    const { size } = await fh.stat();
    const index: SparseIndex = { offsets: [], positions: [] };
    let count = 0;
    let maxTimestamp = 0;
    const res = await scanFrames(fh, 0, size, true, (buf, off, _len, pos) => {
      if (count % INDEX_EVERY === 0) {
        index.offsets.push(base + count);
        index.positions.push(pos);
      }
      maxTimestamp = Math.max(maxTimestamp, frameTimestamp(buf, off));
      count++;
      return true;
    });
    if (res.pos < size) {
      logger?.warn({ path, validBytes: res.pos, fileBytes: size, reason: res.status }, 'event log cut a damaged segment tail');
      await fh.truncate(res.pos);
      await fh.datasync();
    }
    segments.push({ baseOffset: base, path, size: res.pos, index, maxTimestamp });
    return { output, partition, dir, segments, fh, nextOffset: base + count, waiters: new Set() };
  } catch (err) {
    await fh.close().catch(noop);
    throw err;
  }
}

export async function refuseFewerPartitions(outDir: string, partitions: number): Promise<void> {
  for (const name of await readdir(outDir)) {
    if (/^\d+$/.test(name) && Number(name) >= partitions) {
      throw new TallyError('invalid_argument', `${outDir} has partition ${name} but the log was opened with ${partitions} partitions; the count may only grow`);
    }
  }
}

/** Index of the last element <= target in an ascending array, or -1. */
export function lastAtOrBelow(sorted: number[], target: number): number {
  let lo = 0;
  let hi = sorted.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] <= target) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}

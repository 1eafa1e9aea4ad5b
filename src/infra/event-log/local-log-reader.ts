import { open, type FileHandle } from 'node:fs/promises';
import { TallyError } from '../errors.js';
import type { LogRecord } from './event-log.port.js';
import { decodeFrame, scanFrames } from './local-log-frame.js';
import { buildIndex, lastAtOrBelow, type Partition, type Segment } from './local-log-segment.js';

/** Reading a partition of the local log: a cursor over its segments, positioned via the sparse index. */

const noop = (): void => {};

export interface Cursor {
  seg: Segment | null;
  fh: FileHandle | null;
  pos: number;
  offset: number;
}

export async function readRecords(p: Partition, cursor: Cursor, from: number, max: number): Promise<LogRecord[]> {
  if (cursor.seg === null || cursor.offset !== from || !p.segments.includes(cursor.seg)) {
    await seek(p, cursor, from);
  }
  const out: LogRecord[] = [];
  while (out.length < max) {
    const seg = cursor.seg!;
    if (cursor.pos >= seg.size) {
      const i = p.segments.indexOf(seg);
      if (i === -1) {
        await seek(p, cursor, cursor.offset);
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
async function seek(p: Partition, cursor: Cursor, offset: number): Promise<void> {
  const segs = p.segments;
  offset = Math.max(offset, segs[0].baseOffset);
  const seg =
    segs[
      lastAtOrBelow(
        segs.map((s) => s.baseOffset),
        offset,
      )
    ];
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

export async function resetCursor(cursor: Cursor): Promise<void> {
  const fh = cursor.fh;
  cursor.fh = null;
  cursor.seg = null;
  await fh?.close().catch(noop);
}

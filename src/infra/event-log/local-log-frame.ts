import type { FileHandle } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { TallyError } from '../errors.js';
import { readAt } from '../durable-fs.js';
import type { LogRecord } from './event-log.port.js';

/*
 * A segment file is a run of frames: [u32 len][u32 crc32(payload)][payload], payload =
 * [u64 ts][u16 keyLen][key utf8][value], all integers big-endian (see README.md).
 */
const HEADER_BYTES = 8;
const PAYLOAD_FIXED_BYTES = 10;
const MAX_PAYLOAD_BYTES = 1 << 30;
const READ_CHUNK_BYTES = 1 << 20;

export type ScanStatus = 'end' | 'stopped' | 'torn' | 'invalid';
export type FrameVisitor = (buf: Buffer, off: number, payloadLen: number, pos: number) => boolean;

export function encodeFrame(key: string, value: Buffer, timestamp: number): Buffer {
  const keyBytes = Buffer.byteLength(key, 'utf8');
  if (keyBytes > 0xffff) throw new TallyError('invalid_argument', 'log record key longer than 65535 bytes');
  if (!Buffer.isBuffer(value)) throw new TallyError('invalid_argument', 'log record value must be a Buffer');
  const payload = PAYLOAD_FIXED_BYTES + keyBytes + value.length;
  if (payload > MAX_PAYLOAD_BYTES) throw new TallyError('payload_too_large', 'log record larger than 1 GiB');
  const frame = Buffer.allocUnsafe(HEADER_BYTES + payload);
  frame.writeUInt32BE(payload, 0);
  frame.writeUInt32BE(Math.floor(timestamp / 0x1_0000_0000), 8);
  frame.writeUInt32BE(timestamp >>> 0, 12);
  frame.writeUInt16BE(keyBytes, 16);
  frame.write(key, 18, keyBytes, 'utf8');
  value.copy(frame, 18 + keyBytes);
  frame.writeUInt32BE(crc32(frame.subarray(HEADER_BYTES)), 4);
  return frame;
}

export function frameTimestamp(buf: Buffer, off: number): number {
  return buf.readUInt32BE(off + 8) * 0x1_0000_0000 + buf.readUInt32BE(off + 12);
}

export function decodeFrame(buf: Buffer, off: number, len: number, partition: number, offset: number): LogRecord {
  const keyBytes = buf.readUInt16BE(off + 16);
  const keyStart = off + 18;
  return {
    partition,
    offset,
    key: buf.toString('utf8', keyStart, keyStart + keyBytes),
    // a copy, so a handler that keeps a record does not pin the whole read chunk
    value: Buffer.from(buf.subarray(keyStart + keyBytes, off + HEADER_BYTES + len)),
    timestamp: frameTimestamp(buf, off),
  };
}

function frameIsValid(buf: Buffer, off: number, len: number): boolean {
  if (buf.readUInt16BE(off + 16) > len - PAYLOAD_FIXED_BYTES) return false;
  return crc32(buf.subarray(off + HEADER_BYTES, off + HEADER_BYTES + len)) === buf.readUInt32BE(off + 4);
}

/**
 * Walks the frames in [start, end) of a segment file, reading in large chunks. Stops at the
 * first frame that does not fit before `end` (torn) or fails validation (invalid), or when the
 * visitor returns false (stopped; `pos` is then just past the visited frame).
 */
export async function scanFrames(
  fh: FileHandle,
  start: number,
  end: number,
  verify: boolean,
  visit: FrameVisitor,
): Promise<{ pos: number; status: ScanStatus }> {
  let pos = start;
  let need = 0;
  while (pos < end) {
    const size = Math.min(Math.max(READ_CHUNK_BYTES, need), end - pos);
    const buf = Buffer.allocUnsafe(size);
    const n = await readAt(fh, buf, pos);
    if (n < size) end = pos + n;
    let off = 0;
    need = 0;
    while (off + HEADER_BYTES <= n) {
      const len = buf.readUInt32BE(off);
      if (len < PAYLOAD_FIXED_BYTES || len > MAX_PAYLOAD_BYTES) return { pos: pos + off, status: 'invalid' };
      const frameLen = HEADER_BYTES + len;
      if (pos + off + frameLen > end) return { pos: pos + off, status: 'torn' };
      if (off + frameLen > n) {
        if (off === 0) need = frameLen;
        break;
      }
      if (verify && !frameIsValid(buf, off, len)) return { pos: pos + off, status: 'invalid' };
      if (!visit(buf, off, len, pos + off)) return { pos: pos + off + frameLen, status: 'stopped' };
      off += frameLen;
    }
    if (off === 0 && need === 0) return { pos, status: 'torn' };
    pos += off;
  }
  return { pos, status: 'end' };
}

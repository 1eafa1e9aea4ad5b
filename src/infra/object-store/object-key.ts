import { TallyError } from '../errors.js';

/** Segment prefix the folder store reserves for its temp files; no key may use it on any store. */
export const TEMP_PREFIX = '.~put-';

/**
 * One key rule for every object store, so a key valid on one is valid on the other: relative,
 * '/'-separated, at most 1024 bytes (S3's limit), no empty, '.' or '..' segment, no backslash or
 * NUL, no reserved segment. A prefix may end with '/' or mid-segment.
 */
export function checkObjectKey(key: string, isPrefix: boolean): void {
  const bad = (why: string): never => {
    throw new TallyError('invalid_argument', `invalid object key ${JSON.stringify(key)}: ${why}`, { key });
  };
  if (typeof key !== 'string' || key.length === 0) bad('empty');
  if (key.includes('\\')) bad('backslash');
  if (key.includes('\0')) bad('NUL byte');
  if (key.startsWith('/') || /^[A-Za-z]:/.test(key)) bad('absolute path');
  if (Buffer.byteLength(key) > 1024) bad('longer than 1024 bytes');
  const segments = key.split('/');
  segments.forEach((seg, i) => {
    const last = i === segments.length - 1;
    if (seg === '' && !(isPrefix && last)) bad('empty segment');
    if (seg === '.' || seg === '..') bad('relative segment');
    if (seg.startsWith(TEMP_PREFIX)) bad('reserved segment');
  });
}

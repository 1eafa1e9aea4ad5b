/**
 * `Buffer.byteLength(JSON.stringify(value)) > maxBytes`, without serialising the value when an
 * upper bound of its size is already within the limit: size limits are checked on every message,
 * and serialising each one only to measure it cost more than the rest of its parse. null when
 * JSON.stringify throws (cycles, bigint) or yields nothing.
 */
export function jsonBytesOver(value: unknown, maxBytes: number): boolean | null {
  const bound = sizeBound(value, 0);
  if (bound >= 0 && bound <= maxBytes) return false;
  try {
    const s = JSON.stringify(value) as string | undefined;
    return s === undefined ? null : Buffer.byteLength(s) > maxBytes;
  } catch {
    return null;
  }
}

/** Past this depth the bound gives up and JSON.stringify decides (it also detects cycles). */
const MAX_WALK_DEPTH = 64;
/** The longest JSON number: "-1.7976931348623157e+308", "-0.0000012345678901234567". */
const MAX_NUMBER_CHARS = 25;

/**
 * At least the UTF-8 size of the value's JSON (a UTF-16 unit is at most 6 bytes, as `\u001f`),
 * or -1 for anything that is not plain JSON data (class instances, toJSON, bigint, deep nesting).
 */
function sizeBound(v: unknown, depth: number): number {
  switch (typeof v) {
    case 'string':
      return 6 * v.length + 2;
    case 'number':
      return Number.isFinite(v) ? MAX_NUMBER_CHARS : 4;
    case 'boolean':
      return 5;
    case 'object':
      break;
    default:
      return -1;
  }
  if (v === null) return 4;
  if (depth >= MAX_WALK_DEPTH || typeof (v as { toJSON?: unknown }).toJSON === 'function') return -1;
  const proto = Object.getPrototypeOf(v);
  if (Array.isArray(v)) {
    if (proto !== Array.prototype) return -1;
    let n = v.length + 2;
    for (let i = 0; i < v.length; i++) {
      const x: unknown = v[i];
      if (x === undefined || typeof x === 'function' || typeof x === 'symbol') n += 4;
      else {
        const s = sizeBound(x, depth + 1);
        if (s < 0) return -1;
        n += s;
      }
    }
    return n;
  }
  if (proto !== Object.prototype && proto !== null) return -1;
  const obj = v as Record<string, unknown>;
  let n = 2;
  for (const k of Object.keys(obj)) {
    const x = obj[k];
    if (x === undefined || typeof x === 'function' || typeof x === 'symbol') continue;
    const s = sizeBound(x, depth + 1);
    if (s < 0) return -1;
    n += 6 * k.length + 4 + s;
  }
  return n;
}

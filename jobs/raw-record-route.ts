/**
 * What the archiver routes a log record by (tenant, property, receipt time, client time), read
 * from the record's top-level JSON fields without parsing the rest: the collector writes these
 * fields first (`RawEventJson`, and the dead letters' `JSON.stringify`), so the scan usually
 * stops after the first ~150 bytes and never builds the event's object (`JSON.parse` of the whole
 * record was the archiver's largest cost).
 *
 * The scan walks the top-level object properly (keys, strings with escapes, nested objects and
 * arrays skipped by depth), so a nested `params.tenant_id` can never be taken for the record's
 * own: only the writers' top-level keys steer an object key. It returns `null` ("parse it
 * whole") for anything it does not read exactly as `JSON.parse` would: an escape inside a wanted
 * string or in a key, a wanted field holding an object or array, a malformed token, a record
 * that does not end with `}` or holds a raw newline (which would also split the NDJSON object).
 * Top-level keys are taken at their first occurrence; the writers never repeat one.
 */
export interface RouteFields {
  tenant_id?: unknown;
  property_id?: unknown;
  received_at?: unknown;
  client_ts?: unknown;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const NEWLINE = 0x0a;

const isSpace = (b: number): boolean => b === 0x20 || b === 0x09 || b === 0x0d;

function skipSpace(buf: Buffer, i: number): number {
  while (i < buf.length && isSpace(buf[i])) i++;
  return i;
}

/** Whether the last string `stringEnd` walked held an escape (set by it, read right after). */
let escaped = false;

/** The index just past the string starting at `i` (its opening quote), or -1 when it does not end. */
function stringEnd(buf: Buffer, i: number): number {
  escaped = false;
  for (let j = i + 1; j < buf.length; j++) {
    const b = buf[j];
    if (b === QUOTE) return j + 1;
    if (b === BACKSLASH) {
      escaped = true;
      j++;
    }
  }
  return -1;
}

/** The index just past the object or array starting at `i`, or -1 when it does not end. */
function nestedEnd(buf: Buffer, i: number): number {
  let depth = 0;
  for (let j = i; j < buf.length; j++) {
    const b = buf[j];
    if (b === QUOTE) {
      j = stringEnd(buf, j) - 1;
      if (j < 0) return -1;
    } else if (b === OPEN_OBJECT || b === OPEN_ARRAY) depth++;
    else if (b === CLOSE_OBJECT || b === CLOSE_ARRAY) {
      if (--depth === 0) return j + 1;
    }
  }
  return -1;
}

/** A scalar token (number, true, false, null) as JSON.parse reads it; undefined when it is none. */
function scalar(text: string): unknown {
  if (text === 'null') return null;
  if (text === 'true') return true;
  if (text === 'false') return false;
  if (!/^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/.test(text)) return undefined;
  return Number(text);
}

const KEYS = (['tenant_id', 'property_id', 'received_at', 'client_ts'] as const).map((k) => ({ name: k, bytes: Buffer.from(k, 'latin1') }));

/** Which wanted field a key names (compared byte by byte, no string made), or null. */
function wantedKey(buf: Buffer, start: number, end: number, withClientTs: boolean): keyof RouteFields | null {
  const n = end - start;
  if (n !== 9 && n !== 11) return null;
  for (let k = 0; k < (withClientTs ? 4 : 3); k++) {
    const key = KEYS[k].bytes;
    if (key.length !== n) continue;
    let j = 0;
    while (j < n && buf[start + j] === key[j]) j++;
    if (j === n) return KEYS[k].name;
  }
  return null;
}

/** A token of digits only (epoch ms), read without making a string; undefined for any other token. */
function digits(buf: Buffer, start: number, end: number): number | undefined {
  const n = end - start;
  if (n === 0 || n > 15 || (buf[start] === 0x30 && n > 1)) return undefined;
  let v = 0;
  for (let j = start; j < end; j++) {
    const d = buf[j] - 0x30;
    if (d < 0 || d > 9) return undefined;
    v = v * 10 + d;
  }
  return v;
}

/**
 * The routing fields of one record, or null when it must be parsed whole. `withClientTs`: also
 * find `client_ts` (raw events; dead letters have none, so the scan would read their payloads).
 */
export function readRouteFields(buf: Buffer, withClientTs: boolean): RouteFields | null {
  let end = buf.length;
  while (end > 0 && isSpace(buf[end - 1])) end--;
  if (end === 0 || buf[end - 1] !== CLOSE_OBJECT || buf.indexOf(NEWLINE) !== -1) return null;
  let i = skipSpace(buf, 0);
  if (buf[i] !== OPEN_OBJECT) return null;
  i = skipSpace(buf, i + 1);
  const out: RouteFields = {};
  const need = withClientTs ? 4 : 3;
  let found = 0;
  if (buf[i] === CLOSE_OBJECT) return out;
  for (;;) {
    if (buf[i] !== QUOTE) return null;
    const keyEnd = stringEnd(buf, i);
    if (keyEnd < 0 || escaped) return null;
    const field = wantedKey(buf, i + 1, keyEnd - 1, withClientTs);
    i = skipSpace(buf, keyEnd);
    if (buf[i] !== COLON) return null;
    i = skipSpace(buf, i + 1);
    const b = buf[i];
    let valueEnd: number;
    let value: unknown;
    if (b === QUOTE) {
      valueEnd = stringEnd(buf, i);
      if (valueEnd < 0) return null;
      if (field) {
        if (escaped) return null;
        value = buf.toString('utf8', i + 1, valueEnd - 1);
      }
    } else if (b === OPEN_OBJECT || b === OPEN_ARRAY) {
      if (field) return null;
      valueEnd = nestedEnd(buf, i);
      if (valueEnd < 0) return null;
    } else {
      valueEnd = i;
      while (valueEnd < end && buf[valueEnd] !== COMMA && buf[valueEnd] !== CLOSE_OBJECT && !isSpace(buf[valueEnd])) valueEnd++;
      if (field) {
        value = digits(buf, i, valueEnd) ?? scalar(buf.toString('latin1', i, valueEnd));
        if (value === undefined) return null;
      }
    }
    if (field && !(field in out)) {
      out[field] = value;
      if (++found === need) return out;
    }
    i = skipSpace(buf, valueEnd);
    if (buf[i] === CLOSE_OBJECT) return out;
    if (buf[i] !== COMMA) return null;
    i = skipSpace(buf, i + 1);
  }
}

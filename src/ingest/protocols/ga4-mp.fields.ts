import type { ParamValue } from '../../domain/raw-event.js';
import { GA4_MP_LIMITS as LIMITS, NAME_PATTERN, PARAM_VALUE_LENGTH_EXEMPT, PARAM_VALUE_LENGTH_OVERRIDES } from './ga4-mp.limits.js';
import type { Findings } from './ga4-mp.findings.js';
import { setOwn } from './own-property.js';

/** GA4 Measurement Protocol field checks (names, lengths, timestamps, strings) and JSON value helpers. */

export type Json = Record<string, unknown>;

/** False when the string is over its limit (then dropped in RELAXED, refused in ENFORCE). */
export function withinLength(name: string, value: string | number | boolean, path: string, f: Findings): boolean {
  if (typeof value !== 'string' || PARAM_VALUE_LENGTH_EXEMPT.has(name)) return true;
  const max = Object.hasOwn(PARAM_VALUE_LENGTH_OVERRIDES, name) ? PARAM_VALUE_LENGTH_OVERRIDES[name] : LIMITS.maxParamValueLength;
  if (codePointLength(value, max) <= max) return true;
  f.overLimit(path, `Value of [${name}] must be at most ${max} characters.`, 'VALUE_OUT_OF_BOUNDS', value);
  return false;
}

export function checkName(
  name: string,
  path: string,
  what: string,
  maxLength: number,
  reserved: ReadonlySet<string>,
  reservedPrefixes: readonly string[],
  f: Findings,
): boolean {
  if (reserved.has(name) || reservedPrefixes.some((p) => name.startsWith(p))) {
    f.fail(path, `${what} name [${preview(name)}] is reserved.`, 'NAME_RESERVED');
    return false;
  }
  if (!NAME_PATTERN.test(name)) {
    f.fail(
      path,
      `${what} name [${preview(name)}] is invalid. Names must start with an alphabetic character and contain only alphanumeric characters and underscores.`,
      'NAME_INVALID',
    );
    return false;
  }
  if (name.length > maxLength) {
    f.fail(path, `${what} name [${preview(name)}] is invalid. Names must be at most ${maxLength} characters.`, 'NAME_INVALID');
    return false;
  }
  return true;
}

/** An int64 field: a JSON number, or (proto3 JSON's encoding of int64) a string of decimal digits. */
export function optionalMicros(raw: unknown, path: string, f: Findings): number | null {
  if (raw === undefined || raw === null) return null;
  if (typeof raw === 'string' && /^\d{1,19}$/.test(raw)) raw = Number(raw);
  if (typeof raw !== 'number' || !Number.isFinite(raw) || raw < 0) {
    f.fail(
      path,
      `${path} must be a non-negative number of microseconds since the epoch (a number or a string of digits); got [${preview(raw)}].`,
      'VALUE_INVALID',
    );
    return null;
  }
  return raw;
}

/** The string at `obj[key]`; '' or null when absent, null with a problem when of another type. */
export function optionalString(obj: Json, key: string, prefix: string, f: Findings): string | null {
  const v = obj[key];
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  f.fail(`${prefix}${key}`, `${prefix}${key} must be a string; got [${typeName(v)}].`, 'VALUE_INVALID');
  return null;
}

export function fromEntries(entries: Array<[string, ParamValue]>): Record<string, ParamValue> {
  const out: Record<string, ParamValue> = {};
  for (const [k, v] of entries) setOwn(out, k, v);
  return out;
}

export function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** An optional object field: undefined when absent or null, and also (with a finding at `path`) when it is not an object. */
export function optionalObject(v: unknown, path: string, message: string, f: Findings): Json | undefined {
  if (v === undefined || v === null) return undefined;
  if (isObject(v)) return v;
  f.fail(path, message, 'VALUE_INVALID');
  return undefined;
}

export function isScalar(v: unknown): v is string | number | boolean {
  return typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
}

/** Length in code points, counting no further than just past `max`. */
export function codePointLength(s: string, max: number): number {
  if (s.length <= max) return s.length;
  let n = 0;
  for (const _ of s) if (++n > max) break;
  return n;
}

export function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

export function preview(v: unknown): string {
  const s = typeof v === 'string' ? v : typeName(v);
  return s.length > 64 ? `${s.slice(0, 64)}…` : s;
}

import { TallyError } from '../infra/errors.js';

/**
 * Reading GA4 Data API request bodies as proto3 JSON does: a field may be sent in lowerCamelCase
 * or in the proto's snake_case (`date_ranges`), unknown fields are refused naming the field, and
 * errors are Google's `INVALID_ARGUMENT` texts. Every method of the report router reads its body
 * with these, so all of them accept what one accepts.
 */

export function invalid(message: string, field?: string): TallyError {
  return new TallyError('invalid_argument', message, field ? { field } : {});
}

/** The body of a request as JSON (Google's clients do not always send application/json); empty is `{}`. */
export function readJsonBody(body: unknown): unknown {
  if (Buffer.isBuffer(body)) {
    const text = body.toString('utf8').trim();
    if (text === '') return {};
    try {
      return JSON.parse(text);
    } catch (e) {
      throw invalid(`Invalid JSON payload received. ${(e as Error).message}`);
    }
  }
  // an app-level JSON parser already ran
  return body && typeof body === 'object' ? body : {};
}

export function camel(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

export function object<K extends string>(value: unknown, path: string, keys: readonly K[]): Partial<Record<K, unknown>> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw invalid(`Invalid JSON payload received. Expected an object at '${path || 'request'}'.`, path);
  }
  const out: Partial<Record<K, unknown>> = {};
  for (const [k, v] of Object.entries(value)) {
    const key = camel(k) as K;
    if (!keys.includes(key)) {
      throw invalid(`Invalid JSON payload received. Unknown name "${k}"${path ? ` at '${path}'` : ''}: Cannot find field.`, path ? `${path}.${k}` : k);
    }
    out[key] = v;
  }
  return out;
}

export function list(value: unknown, path: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalid(`Invalid JSON payload received. Expected a list at '${path}'.`, path);
  return value;
}

export function requiredString(value: unknown, path: string, allowEmpty = false): string {
  if (typeof value !== 'string' || (!allowEmpty && value === '')) throw invalid(`${path} is required and must be a string.`, path);
  return value;
}

export function optionalString(value: unknown, path: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalid(`${path} must be a string.`, path);
  return value;
}

export function bool(value: unknown, path: string): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value !== 'boolean') throw invalid(`Invalid value at '${path}' (TYPE_BOOL), ${JSON.stringify(value)}.`, path);
  return value;
}

/** int64 arrives as a JSON string ("10000") or a number. */
export function int64(value: unknown, path: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  const n = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : typeof value === 'number' ? value : NaN;
  if (!Number.isSafeInteger(n)) throw invalid(`Invalid value at '${path}' (TYPE_INT64), ${JSON.stringify(value)}.`, path);
  return n;
}

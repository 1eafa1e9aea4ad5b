import { DROPPED_PARAM } from '../parsed-event.js';

/**
 * Writing untrusted keys (parameter names from a request) onto plain objects. `obj[k] = v` with
 * k === '__proto__' replaces the prototype instead of adding a property, and Object.assign does
 * the same with a source's own "__proto__" key (JSON.parse makes one), so that parameter was lost.
 * A property defined under that name is data, and JSON.stringify writes it out.
 * The store in setOwn is one site for every parser that calls it, so V8 sees it as megamorphic;
 * segment, snowplow and posthog store in their own code, which measured 5-10 % faster there.
 */

export function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

/** setOwn unless `obj` already has that key as its own (`k in obj` also sees `toString`, `constructor` …). */
export function setOwnIfAbsent<T>(obj: Record<string, T>, key: string, value: T): void {
  if (!Object.hasOwn(obj, key)) setOwn(obj, key, value);
}

/** Object.assign, keeping an own "__proto__" key of `source` as a property of `target`. */
export function assignOwn<T>(target: Record<string, T>, source: Record<string, T>): Record<string, T> {
  if (!Object.hasOwn(source, '__proto__')) return Object.assign(target, source);
  for (const k of Object.keys(source)) setOwn(target, k, source[k]);
  return target;
}

/**
 * Copies the fields of `source` not in `known` into `params`. A field whose name a param already
 * has goes to `params._tally_dropped` instead, as every parser keeps what it cannot place.
 */
export function keepExtraFields<T>(params: Record<string, T | Record<string, T>>, source: Record<string, T>, known: ReadonlySet<string>): void {
  let dropped: Record<string, T> | null = null;
  for (const k of Object.keys(source)) {
    if (known.has(k)) continue;
    if (Object.hasOwn(params, k)) setOwn((dropped ??= {}), k, source[k]);
    else setOwn(params, k, source[k]);
  }
  if (!dropped) return;
  const earlier = params[DROPPED_PARAM];
  if (earlier !== undefined) setOwn(dropped, DROPPED_PARAM, earlier as T);
  params[DROPPED_PARAM] = dropped;
}

import { addDays, startOfLocalDate, tzOffsetMs } from '../../domain/time-zone.js';
import type { PropertySettings } from '../../domain/property-settings.js';
import { internalExclusion } from '../../domain/rules/internal-traffic.js';
import { parseRawKey, rawDayPrefix } from '../../domain/transformed-schema.js';
import { TallyError } from '../errors.js';
import type { ObjectStore } from '../object-store/object-store.port.js';
import type { PropertyParams, TransformParams } from './transform.sql.js';
import { MAX_LATENESS_MS } from './transform-engine.port.js';

const HOUR_MS = 3_600_000;
export { MAX_LATENESS_MS };

export interface TransformWindow {
  /** Requested local dates, distinct and sorted. */
  dates: string[];
  /** Event-time window: the start of min(dates) - 1 day to the end of max(dates) + 1 day, local. */
  startMs: number;
  endMs: number;
}

/** The same window the DuckDB engine reads (see README: "window"); throws on a bad date or zone. */
export function transformWindow(settings: PropertySettings, requested: readonly string[]): TransformWindow | null {
  const dates = [...new Set(requested)].sort();
  if (dates.length === 0) return null;
  for (const d of dates) checkDate(d);
  checkTimeZone(settings.timeZone);
  return {
    dates,
    startMs: startOfLocalDate(addDays(dates[0], -1), settings.timeZone),
    endMs: startOfLocalDate(addDays(dates[dates.length - 1], 2), settings.timeZone),
  };
}

/** Raw objects received from the window start up to 72 h after its end, listed one UTC day at a time. */
export async function listRawKeys(store: ObjectStore, settings: PropertySettings, w: TransformWindow): Promise<string[]> {
  const lastMs = w.endMs + MAX_LATENESS_MS;
  const keys: string[] = [];
  for (let day = utcDate(w.startMs); day <= utcDate(lastMs); day = addDays(day, 1)) {
    for (const obj of await store.list(rawDayPrefix(settings, day))) {
      const raw = parseRawKey(obj.key);
      if (raw && raw.hourStartMs + HOUR_MS > w.startMs && raw.hourStartMs < lastMs) keys.push(obj.key);
    }
  }
  return keys;
}

function utcDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function checkDate(date: string): void {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || Number.isNaN(Date.parse(`${date}T00:00:00Z`)) || addDays(date, 0) !== date) {
    throw new TallyError('invalid_argument', `invalid date ${JSON.stringify(date)}, expected YYYY-MM-DD`, { date });
  }
}

export function checkTimeZone(timeZone: string): void {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
  } catch (e) {
    throw new TallyError('invalid_argument', `unknown time zone ${JSON.stringify(timeZone)}`, { timeZone }, { cause: e });
  }
}

/** The parameters of the shared transform statements for one property and window. */
export function transformParams(
  settings: PropertySettings,
  w: Pick<TransformWindow, 'startMs' | 'endMs'>,
  attributionParams: readonly string[],
  /** The event times the zone's offsets are needed for; default the window. */
  span: readonly [number, number] = [w.startMs, w.endMs],
): TransformParams {
  return { properties: [propertyParams(settings, w, span)], attributionParams };
}

/** One property's row of the statements' settings tables. */
export function propertyParams(settings: PropertySettings, w: Pick<TransformWindow, 'startMs' | 'endMs'>, span: readonly [number, number]): PropertyParams {
  return {
    tenantId: settings.tenantId,
    propertyId: settings.propertyId,
    startMs: w.startMs,
    endMs: w.endMs,
    timeoutMs: settings.sessionTimeoutMinutes * 60_000,
    engagedSessionSeconds: settings.engagedSessionSeconds,
    keyEvents: settings.keyEvents,
    ...ruleParams(settings),
    offsetSegments: offsetSegments(settings.timeZone, span[0], span[1]),
  };
}

/** The zone's offsets over [fromMs, toMs) as (from_ms, offset_ms) rows; the first from -inf. */
export function offsetSegments(timeZone: string, fromMs: number, toMs: number): [number, number][] {
  let current = tzOffsetMs(fromMs, timeZone);
  const out: [number, number][] = [[Number.MIN_SAFE_INTEGER, current]];
  for (let t = fromMs + HOUR_MS; t < toMs + HOUR_MS; t += HOUR_MS) {
    const next = tzOffsetMs(t, timeZone);
    if (next === current) continue;
    let lo = t - HOUR_MS; // old offset
    let hi = t; // new offset
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (tzOffsetMs(mid, timeZone) === current) lo = mid;
      else hi = mid;
    }
    out.push([hi, next]);
    current = next;
  }
  return out;
}

/**
 * A property's rules as the statements take them: '' (the defaults, shared by every property
 * without rules of its own) or the property's own id for its `ua`, `attr` and `traffic` dim rows.
 */
function ruleParams(settings: PropertySettings): Pick<PropertyParams, 'rulesId' | 'rules' | 'excludeInternal'> {
  const rules = { botPatterns: settings.botPatterns, channelRules: settings.channelRules, internalTraffic: settings.internalTraffic };
  const excludeInternal = internalExclusion(settings.internalTraffic) !== null;
  const own = excludeInternal || (settings.botPatterns?.length ?? 0) > 0 || (settings.channelRules ?? null) !== null;
  return { rulesId: own ? `${settings.tenantId}/${settings.propertyId}` : '', rules, excludeInternal };
}

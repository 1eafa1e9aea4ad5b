import { addDays, startOfLocalDate } from '../../domain/time-zone.js';
import type { PropertySettings } from '../../domain/property-settings.js';
import { parseRawKey, rawDayPrefix } from '../../domain/transformed-schema.js';
import { TallyError } from '../errors.js';
import type { ObjectStore } from '../object-store/object-store.port.js';

const HOUR_MS = 3_600_000;
/** Event time is at most this long before receipt (the collector clamps client_ts). */
export const MAX_LATENESS_MS = 72 * HOUR_MS;

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

function checkTimeZone(timeZone: string): void {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
  } catch (e) {
    throw new TallyError('invalid_argument', `unknown time zone ${JSON.stringify(timeZone)}`, { timeZone }, { cause: e });
  }
}

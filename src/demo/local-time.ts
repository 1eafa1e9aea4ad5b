import { TallyError } from '../infra/errors.js';

/** Calendar dates (YYYY-MM-DD) and local midnights in an IANA time zone, without a tz library. */

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat('en-US', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
    } catch (cause) {
      throw new TallyError('invalid_argument', `unknown time zone: ${timeZone}`, { timeZone }, { cause });
    }
    formatters.set(timeZone, f);
  }
  return f;
}

export function assertTimeZone(timeZone: string): void {
  formatter(timeZone);
}

export function parseDate(date: string): { y: number; m: number; d: number } {
  const m = DATE_RE.exec(date);
  if (m) {
    const y = Number(m[1]);
    const mo = Number(m[2]);
    const d = Number(m[3]);
    const t = new Date(Date.UTC(y, mo - 1, d));
    if (t.getUTCFullYear() === y && t.getUTCMonth() === mo - 1 && t.getUTCDate() === d) return { y, m: mo, d };
  }
  throw new TallyError('invalid_argument', `not a YYYY-MM-DD date: ${date}`, { date });
}

export function addDays(date: string, days: number): string {
  const { y, m, d } = parseDate(date);
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

/** 0 = Sunday. */
export function weekday(date: string): number {
  const { y, m, d } = parseDate(date);
  return new Date(Date.UTC(y, m - 1, d)).getUTCDay();
}

/** The local calendar date of an instant. */
export function localDateOf(ms: number, timeZone: string): string {
  let y = '';
  let mo = '';
  let d = '';
  for (const p of formatter(timeZone).formatToParts(ms)) {
    if (p.type === 'year') y = p.value;
    else if (p.type === 'month') mo = p.value;
    else if (p.type === 'day') d = p.value;
  }
  return `${y.padStart(4, '0')}-${mo}-${d}`;
}

/**
 * The first instant (epoch ms) whose local date is `date`: local midnight, or the first instant
 * after it when a DST jump skips midnight. Found by bisection, so no offset arithmetic is assumed.
 */
export function localMidnight(date: string, timeZone: string): number {
  const { y, m, d } = parseDate(date);
  const utc = Date.UTC(y, m - 1, d);
  // UTC offsets lie within [-12 h, +14 h]
  let lo = utc - 15 * 3_600_000;
  let hi = utc + 13 * 3_600_000;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (localDateOf(mid, timeZone) >= date) hi = mid;
    else lo = mid;
  }
  return hi;
}

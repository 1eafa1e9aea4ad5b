/**
 * The dates a report may ask for. Outside them the warehouses disagree (DuckDB and PostgreSQL
 * take years before 1 or after 9999 differently, JavaScript's Date stops at ±275,760) and no
 * event can exist anyway (GA4 itself has no data before 2015).
 */
export const MIN_REPORT_DATE = '1970-01-01';
export const MAX_REPORT_DATE = '9999-12-31';

/**
 * Resolves a DateRange end: 'YYYY-MM-DD', 'NdaysAgo', 'yesterday' or 'today', the relative
 * forms counted in the property's time zone. Returns null when the text is none of these or
 * the date is outside MIN_REPORT_DATE..MAX_REPORT_DATE.
 */
export function resolveDateRange(value: string, ctx: { timeZone: string; now?: Date }): string | null {
  const inRange = (d: string) => (d >= MIN_REPORT_DATE && d <= MAX_REPORT_DATE ? d : null);
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) {
    const d = new Date(`${value}T00:00:00Z`);
    return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === value ? inRange(value) : null;
  }
  const today = localToday(ctx.timeZone, ctx.now ?? new Date());
  if (value === 'today') return today;
  if (value === 'yesterday') return addDays(today, -1);
  // more than 6 digits of days is before year 1, past anything addDays can represent safely
  const m = /^(\d{1,6})daysAgo$/.exec(value);
  return m ? inRange(addDays(today, -Number(m[1]))) : null;
}

export function localToday(timeZone: string, now: Date): string {
  // en-CA formats as YYYY-MM-DD
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(now);
}

export function addDays(date: string, days: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/**
 * Resolves a DateRange end: 'YYYY-MM-DD', 'NdaysAgo', 'yesterday' or 'today', the relative
 * forms counted in the property's time zone. Returns null when the text is none of these.
 */
export function resolveDateRange(value: string, ctx: { timeZone: string; now?: Date }): string | null {
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) {
    const d = new Date(`${value}T00:00:00Z`);
    return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === value ? value : null;
  }
  const today = localToday(ctx.timeZone, ctx.now ?? new Date());
  if (value === 'today') return today;
  if (value === 'yesterday') return addDays(today, -1);
  const m = /^(\d+)daysAgo$/.exec(value);
  return m ? addDays(today, -Number(m[1])) : null;
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

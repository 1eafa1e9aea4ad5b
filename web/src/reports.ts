/**
 * What the dashboard asks the GA4 Data API (`:runReport`), and how it reads the answers. Pure:
 * no fetch here, so it is unit-tested (reports.test.ts).
 */

export type RangeKey = 'today' | 'yesterday' | '7d' | '28d' | '90d' | 'custom';

export const RANGES: { key: RangeKey; label: string }[] = [
  { key: 'today', label: 'Today' },
  { key: 'yesterday', label: 'Yesterday' },
  { key: '7d', label: 'Last 7 days' },
  { key: '28d', label: 'Last 28 days' },
  { key: '90d', label: 'Last 90 days' },
  { key: 'custom', label: 'Custom range' },
];

export interface DateRange {
  startDate: string;
  endDate: string;
}

/** YYYY-MM-DD plus `days`. */
export function addDays(date: string, days: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

export function daysBetween(a: string, b: string): number {
  return Math.round((Date.parse(`${b}T00:00:00Z`) - Date.parse(`${a}T00:00:00Z`)) / 86_400_000);
}

/** Today in a time zone, as YYYY-MM-DD. */
export function todayIn(timeZone: string, now = new Date()): string {
  try {
    return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(now);
  } catch {
    return now.toISOString().slice(0, 10);
  }
}

/**
 * The current and previous periods, in absolute dates of the property's time zone. "Last N days"
 * includes today (as Plausible's does); the previous period is the N days before it.
 */
export function periods(key: RangeKey, today: string, custom?: DateRange): { current: DateRange; previous: DateRange; days: number } {
  let current: DateRange;
  switch (key) {
    case 'today':
      current = { startDate: today, endDate: today };
      break;
    case 'yesterday':
      current = { startDate: addDays(today, -1), endDate: addDays(today, -1) };
      break;
    case 'custom':
      if (custom && /^\d{4}-\d{2}-\d{2}$/.test(custom.startDate) && /^\d{4}-\d{2}-\d{2}$/.test(custom.endDate)) {
        current = custom.startDate <= custom.endDate ? custom : { startDate: custom.endDate, endDate: custom.startDate };
        break;
      }
      current = { startDate: addDays(today, -27), endDate: today };
      break;
    default: {
      const n = Number(key.slice(0, -1));
      current = { startDate: addDays(today, -(n - 1)), endDate: today };
    }
  }
  const days = daysBetween(current.startDate, current.endDate) + 1;
  return { current, previous: { startDate: addDays(current.startDate, -days), endDate: addDays(current.startDate, -1) }, days };
}

/** The dimension a click on a table row filters by, and what the row shows. */
export interface Breakdown {
  id: string;
  label: string;
  /** the dimension shown */
  dimension: string;
  /** the dimension filtered on (a code where the shown value is a name) */
  filterDimension?: string;
  metric: string;
  metricLabel: string;
  /** the table's first column header, when not the label */
  column?: string;
  /** only rows with a positive metric (key events) */
  positiveOnly?: boolean;
}

export const BREAKDOWNS: Breakdown[] = [
  { id: 'pages', label: 'Pages', column: 'Page', dimension: 'pagePath', metric: 'screenPageViews', metricLabel: 'Views' },
  { id: 'landing', label: 'Landing pages', column: 'Landing page', dimension: 'landingPage', metric: 'sessions', metricLabel: 'Sessions' },
  { id: 'channels', label: 'Channels', dimension: 'sessionDefaultChannelGroup', metric: 'sessions', metricLabel: 'Sessions' },
  { id: 'sources', label: 'Sources / mediums', dimension: 'sessionSourceMedium', metric: 'sessions', metricLabel: 'Sessions' },
  { id: 'campaigns', label: 'Campaigns', dimension: 'sessionCampaignName', metric: 'sessions', metricLabel: 'Sessions' },
  { id: 'countries', label: 'Countries', dimension: 'country', filterDimension: 'countryId', metric: 'activeUsers', metricLabel: 'Users' },
  { id: 'cities', label: 'Cities', dimension: 'city', metric: 'activeUsers', metricLabel: 'Users' },
  { id: 'devices', label: 'Devices', dimension: 'deviceCategory', metric: 'activeUsers', metricLabel: 'Users' },
  { id: 'browsers', label: 'Browsers', dimension: 'browser', metric: 'activeUsers', metricLabel: 'Users' },
  { id: 'os', label: 'Operating systems', dimension: 'operatingSystem', metric: 'activeUsers', metricLabel: 'Users' },
  { id: 'keyEvents', label: 'Key events', column: 'Event', dimension: 'eventName', metric: 'keyEvents', metricLabel: 'Count', positiveOnly: true },
];

/** The cards of tables, each with its tabs. */
export const CARDS: { id: string; title: string; tabs: string[] }[] = [
  { id: 'pages', title: 'Pages', tabs: ['pages', 'landing'] },
  { id: 'sources', title: 'Acquisition', tabs: ['channels', 'sources', 'campaigns'] },
  { id: 'geo', title: 'Locations', tabs: ['countries', 'cities'] },
  { id: 'tech', title: 'Technology', tabs: ['devices', 'browsers', 'os'] },
  { id: 'keyEvents', title: 'Key events', tabs: ['keyEvents'] },
];

export const breakdown = (id: string): Breakdown => BREAKDOWNS.find((b) => b.id === id)!;

/** Dimensions a filter chip may name (anything else in the URL is ignored). */
export const FILTERABLE = new Map<string, string>([
  ['pagePath', 'Page'],
  ['landingPage', 'Landing page'],
  ['sessionDefaultChannelGroup', 'Channel'],
  ['sessionSourceMedium', 'Source / medium'],
  ['sessionCampaignName', 'Campaign'],
  ['countryId', 'Country'],
  ['city', 'City'],
  ['deviceCategory', 'Device'],
  ['browser', 'Browser'],
  ['operatingSystem', 'OS'],
  ['eventName', 'Event'],
]);

export interface Filter {
  dimension: string;
  value: string;
  /** what the chip shows (a country's name for its code) */
  label?: string;
}

export function dimensionFilter(filters: Filter[]): unknown {
  if (filters.length === 0) return undefined;
  const exprs = filters.map((f) => ({ filter: { fieldName: f.dimension, stringFilter: { matchType: 'EXACT', value: f.value } } }));
  return exprs.length === 1 ? exprs[0] : { andGroup: { expressions: exprs } };
}

export const KPIS: { metric: string; label: string; title?: string; format: 'int' | 'percent' | 'duration'; lowerIsBetter?: boolean; derived?: boolean }[] = [
  { metric: 'activeUsers', label: 'Users', title: 'Active users', format: 'int' },
  { metric: 'newUsers', label: 'New users', format: 'int' },
  { metric: 'sessions', label: 'Sessions', format: 'int' },
  { metric: 'screenPageViews', label: 'Views', format: 'int' },
  { metric: 'bounceRate', label: 'Bounce rate', format: 'percent', lowerIsBetter: true },
  { metric: 'averageEngagementTime', label: 'Engagement', title: 'Average engagement time per user', format: 'duration', derived: true },
  { metric: 'keyEvents', label: 'Key events', format: 'int' },
];

const KPI_METRICS = ['activeUsers', 'newUsers', 'sessions', 'screenPageViews', 'bounceRate', 'userEngagementDuration', 'keyEvents'];

export interface ReportResponse {
  dimensionHeaders?: { name: string }[];
  metricHeaders?: { name: string; type?: string | number }[];
  rows?: { dimensionValues: { value: string }[]; metricValues: { value: string }[] }[];
  rowCount?: number;
  metadata?: { timeZone?: string; currencyCode?: string; tallyCompleteUpTo?: string };
}

export function kpiRequest(current: DateRange, previous: DateRange | null, filters: Filter[]): unknown {
  return {
    dateRanges: previous
      ? [
          { ...current, name: 'current' },
          { ...previous, name: 'previous' },
        ]
      : [{ ...current, name: 'current' }],
    metrics: KPI_METRICS.map((name) => ({ name })),
    dimensionFilter: dimensionFilter(filters),
  };
}

export type KpiValues = Record<string, number>;

/** Rows per date range ('current' | 'previous'), with average engagement time derived. */
export function readKpis(r: ReportResponse): { current: KpiValues; previous: KpiValues | null } {
  const names = (r.metricHeaders ?? []).map((h) => h.name);
  const byRange = new Map<string, KpiValues>();
  const rangeCol = (r.dimensionHeaders ?? []).findIndex((h) => h.name === 'dateRange');
  for (const row of r.rows ?? []) {
    const range = rangeCol >= 0 ? (row.dimensionValues[rangeCol]?.value ?? 'current') : 'current';
    const v: KpiValues = {};
    names.forEach((n, i) => (v[n] = Number(row.metricValues[i]?.value ?? 0)));
    byRange.set(range, v);
  }
  const complete = (v: KpiValues | undefined): KpiValues => {
    const out: KpiValues = {};
    for (const n of KPI_METRICS) out[n] = v?.[n] ?? 0;
    out.averageEngagementTime = out.activeUsers > 0 ? out.userEngagementDuration / out.activeUsers : 0;
    return out;
  };
  // a range without a row has no events: zeros (GA4 omits empty rows)
  return { current: complete(byRange.get('current')), previous: rangeCol >= 0 || byRange.has('previous') ? complete(byRange.get('previous')) : null };
}

/** Relative change, or null when there is nothing to compare with. */
export function change(current: number, previous: number | undefined): number | null {
  if (previous === undefined || previous === 0) return null;
  return (current - previous) / previous;
}

export const SERIES_METRICS = ['activeUsers', 'sessions', 'screenPageViews', 'keyEvents'];

export function seriesRequest(range: DateRange, hourly: boolean, filters: Filter[]): unknown {
  const dim = hourly ? 'dateHour' : 'date';
  return {
    dateRanges: [range],
    dimensions: [{ name: dim }],
    metrics: SERIES_METRICS.map((name) => ({ name })),
    dimensionFilter: dimensionFilter(filters),
    orderBys: [{ dimension: { dimensionName: dim } }],
    limit: 10000,
  };
}

/**
 * Every bucket of the range (day, or hour of the one day) with its values; buckets without events
 * are zeros, so the chart's line does not skip them.
 */
export function readSeries(r: ReportResponse, range: DateRange, hourly: boolean): { keys: string[]; values: Record<string, number[]> } {
  const keys: string[] = [];
  if (hourly) for (let h = 0; h < 24; h++) keys.push(`${range.startDate.replaceAll('-', '')}${String(h).padStart(2, '0')}`);
  else for (let d = range.startDate; d <= range.endDate; d = addDays(d, 1)) keys.push(d.replaceAll('-', ''));
  const names = (r.metricHeaders ?? []).map((h) => h.name);
  const at = new Map(keys.map((k, i) => [k, i]));
  const values: Record<string, number[]> = {};
  for (const n of SERIES_METRICS) values[n] = keys.map(() => 0);
  for (const row of r.rows ?? []) {
    const i = at.get(row.dimensionValues[0]?.value ?? '');
    if (i === undefined) continue;
    names.forEach((n, j) => {
      if (values[n]) values[n][i] = Number(row.metricValues[j]?.value ?? 0);
    });
  }
  return { keys, values };
}

/** Seconds since the epoch (UTC) of a bucket key, for the chart's x axis. */
export function bucketTime(key: string): number {
  const y = key.slice(0, 4);
  const m = key.slice(4, 6);
  const d = key.slice(6, 8);
  const h = key.length >= 10 ? key.slice(8, 10) : '00';
  return Date.parse(`${y}-${m}-${d}T${h}:00:00Z`) / 1000;
}

export function tableRequest(b: Breakdown, range: DateRange, filters: Filter[], limit = 10): unknown {
  const dims = b.filterDimension ? [{ name: b.dimension }, { name: b.filterDimension }] : [{ name: b.dimension }];
  return {
    dateRanges: [range],
    dimensions: dims,
    metrics: [{ name: b.metric }],
    dimensionFilter: dimensionFilter(filters),
    metricFilter: b.positiveOnly ? { filter: { fieldName: b.metric, numericFilter: { operation: 'GREATER_THAN', value: { int64Value: '0' } } } } : undefined,
    orderBys: [{ metric: { metricName: b.metric }, desc: true }, { dimension: { dimensionName: b.dimension } }],
    limit,
  };
}

export interface TableRow {
  label: string;
  /** the value a click filters on */
  value: string;
  metric: number;
}

export function readTable(r: ReportResponse, b: Breakdown): { rows: TableRow[]; total: number } {
  const rows = (r.rows ?? []).map((row) => ({
    label: row.dimensionValues[0]?.value ?? '',
    value: row.dimensionValues[b.filterDimension ? 1 : 0]?.value ?? '',
    metric: Number(row.metricValues[0]?.value ?? 0),
  }));
  return { rows: b.positiveOnly ? rows.filter((x) => x.metric > 0) : rows, total: r.rowCount ?? rows.length };
}

// ---- formatting ----

const intFmt = new Intl.NumberFormat('en-US');
const compactFmt = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });

export function formatValue(v: number, format: 'int' | 'percent' | 'duration', compact = false): string {
  if (format === 'percent') return `${(v * 100).toFixed(v > 0 && v < 0.1 ? 1 : 0)}%`;
  if (format === 'duration') {
    const s = Math.round(v);
    if (s < 60) return `${s}s`;
    const m = Math.floor(s / 60);
    if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
    return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
  }
  return compact && Math.abs(v) >= 10_000 ? compactFmt.format(v) : intFmt.format(Math.round(v));
}

export function formatChange(c: number | null): string {
  if (c === null) return '—';
  const pct = Math.abs(c * 100);
  return `${c >= 0 ? '+' : '−'}${pct < 10 && pct !== 0 ? pct.toFixed(1) : Math.round(pct)}%`;
}

export function formatRange(r: DateRange): string {
  const fmt = (d: string, withYear: boolean) =>
    new Date(`${d}T12:00:00Z`).toLocaleDateString('en-US', { month: 'short', day: 'numeric', year: withYear ? 'numeric' : undefined, timeZone: 'UTC' });
  if (r.startDate === r.endDate) return fmt(r.startDate, true);
  return `${fmt(r.startDate, r.startDate.slice(0, 4) !== r.endDate.slice(0, 4))} – ${fmt(r.endDate, true)}`;
}

// ---- the dashboard's state in the URL ----

export interface DashboardState {
  range: RangeKey;
  custom?: DateRange;
  compare: boolean;
  filters: Filter[];
  metric: string;
}

export function readState(search: string): DashboardState {
  const q = new URLSearchParams(search);
  const range = (RANGES.some((r) => r.key === q.get('range')) ? q.get('range') : '28d') as RangeKey;
  const filters: Filter[] = [];
  for (const [k, v] of q) {
    if (!k.startsWith('f.')) continue;
    const dimension = k.slice(2);
    if (FILTERABLE.has(dimension) && v !== '' && !filters.some((f) => f.dimension === dimension)) filters.push({ dimension, value: v });
  }
  const from = q.get('from');
  const to = q.get('to');
  const metric = q.get('metric');
  return {
    range,
    custom: range === 'custom' && from && to ? { startDate: from, endDate: to } : undefined,
    compare: q.get('compare') !== '0',
    filters,
    metric: metric && SERIES_METRICS.includes(metric) ? metric : 'activeUsers',
  };
}

export function writeState(s: DashboardState): string {
  const q = new URLSearchParams();
  if (s.range !== '28d') q.set('range', s.range);
  if (s.range === 'custom' && s.custom) {
    q.set('from', s.custom.startDate);
    q.set('to', s.custom.endDate);
  }
  if (!s.compare) q.set('compare', '0');
  if (s.metric !== 'activeUsers') q.set('metric', s.metric);
  for (const f of s.filters) q.set(`f.${f.dimension}`, f.value);
  const text = q.toString();
  return text ? `?${text}` : '';
}

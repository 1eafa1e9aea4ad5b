import type { PropertySettings } from '../domain/property-settings.js';
import { atom, USER_KEY, type MetricType } from './catalog.js';
import { MAX_REPORT_DATE, MIN_REPORT_DATE, resolveDateRange } from './date-ranges.js';
import { enumName } from './ga4-enums.js';
import { bool, int64, invalid, list, object, optionalString, requiredString } from './proto-json.js';
import { identityCte, Params, type CompiledQuery, type TenantScope } from './report-compiler.js';
import { badEnum, DEFAULT_LIMIT, MAX_LIMIT } from './report-request.limits.js';
import type { ParseContext } from './report-request.js';
import { compact, formatMetric, metricTypeOut, type RunReportResponse } from './report-response.js';
import type { SqlDialect } from './sql-dialect.js';

/**
 * runReport with a `cohortSpec` (GA4-DEFINITIONS §C.2): users grouped by the date of their first
 * session (`firstSessionDate`, the only cohort dimension GA4 has), followed day by day, week by
 * week or month by month after the cohort's start. Dimensions: `cohort` and the
 * `cohortNthDay|Week|Month` of the granularity; metrics: `cohortActiveUsers` (the cohort's users
 * active in that window, by activeUsers' definition), `cohortTotalUsers` (the cohort's size, the
 * same on every row), and + - * / expressions over them (retention:
 * `cohortActiveUsers/cohortTotalUsers`).
 */
export const GRANULARITY = { GRANULARITY_UNSPECIFIED: 0, DAILY: 1, WEEKLY: 2, MONTHLY: 3 } as const;
type Granularity = 'DAILY' | 'WEEKLY' | 'MONTHLY';
const NTH: Record<Granularity, string> = { DAILY: 'cohortNthDay', WEEKLY: 'cohortNthWeek', MONTHLY: 'cohortNthMonth' };
const COHORT_METRICS = ['cohortActiveUsers', 'cohortTotalUsers'] as const;
/** Offsets a cohort report may span (GA4 documents none; a year of days). */
const MAX_OFFSETS = 366;

export interface CohortRequest {
  cohorts: { name: string; startDate: string; endDate: string }[];
  granularity: Granularity;
  startOffset: number;
  endOffset: number;
  accumulate: boolean;
  dimensions: string[];
  metrics: { name: string; expression?: string }[];
  offset: number;
  limit: number;
  currencyCode?: string;
  keepEmptyRows: boolean;
  returnPropertyQuota: boolean;
}

const KEYS = [
  'property',
  'dimensions',
  'metrics',
  'dateRanges',
  'cohortSpec',
  'offset',
  'limit',
  'currencyCode',
  'keepEmptyRows',
  'returnPropertyQuota',
] as const;

export function parseCohortRequest(body: unknown, ctx: ParseContext): CohortRequest {
  const r = object(body, '', KEYS);
  if (list(r.dateRanges, 'date_ranges').length > 0)
    throw invalid('A cohort request takes its dates from cohortSpec.cohorts; dateRanges must be empty.', 'dateRanges');
  const spec = object(r.cohortSpec, 'cohort_spec', ['cohorts', 'cohortsRange', 'cohortReportSettings']);
  const cohorts = list(spec.cohorts, 'cohort_spec.cohorts').map((v, i) => {
    const p = `cohort_spec.cohorts[${i}]`;
    const c = object(v, p, ['name', 'dimension', 'dateRange']);
    const dimension = requiredString(c.dimension, `${p}.dimension`);
    if (dimension !== 'firstSessionDate') throw invalid(`${p}.dimension must be firstSessionDate; received ${dimension}.`, `${p}.dimension`);
    const dr = object(c.dateRange, `${p}.date_range`, ['startDate', 'endDate', 'name']);
    const startDate = resolveDateRange(requiredString(dr.startDate, `${p}.date_range.start_date`), ctx);
    const endDate = resolveDateRange(requiredString(dr.endDate, `${p}.date_range.end_date`), ctx);
    if (!startDate || !endDate || startDate > endDate) {
      throw invalid(`${p}.dateRange must be a valid range from ${MIN_REPORT_DATE} to ${MAX_REPORT_DATE}, start before end.`, `${p}.date_range`);
    }
    return { name: optionalString(c.name, `${p}.name`) || `cohort_${i}`, startDate, endDate };
  });
  if (cohorts.length === 0) throw invalid('cohortSpec.cohorts must not be empty.', 'cohortSpec.cohorts');
  if (new Set(cohorts.map((c) => c.name)).size !== cohorts.length) throw invalid('Cohort names must be unique.', 'cohortSpec.cohorts');

  const range = object(spec.cohortsRange, 'cohort_spec.cohorts_range', ['granularity', 'startOffset', 'endOffset']);
  const g = enumName(GRANULARITY, range.granularity);
  if (!g || g === 'GRANULARITY_UNSPECIFIED') throw badEnum('cohort_spec.cohorts_range.granularity', 'CohortsRange.Granularity', range.granularity);
  const startOffset = int64(range.startOffset, 'cohort_spec.cohorts_range.start_offset') ?? 0;
  const endOffset = int64(range.endOffset, 'cohort_spec.cohorts_range.end_offset') ?? 0;
  if (startOffset < 0 || endOffset < startOffset) throw invalid('cohortsRange: 0 <= startOffset <= endOffset.', 'cohortSpec.cohortsRange');
  if (endOffset - startOffset + 1 > MAX_OFFSETS) throw invalid(`cohortsRange spans at most ${MAX_OFFSETS} offsets.`, 'cohortSpec.cohortsRange');
  const settings = object(spec.cohortReportSettings, 'cohort_spec.cohort_report_settings', ['accumulate']);

  const dimensions = list(r.dimensions, 'dimensions').map((v, i) => requiredString(object(v, `dimensions[${i}]`, ['name']).name, `dimensions[${i}].name`));
  if (!dimensions.includes('cohort')) throw invalid('A cohort request must include the cohort dimension.', 'dimensions');
  for (const d of dimensions) {
    if (d !== 'cohort' && d !== NTH[g]) throw invalid(`Dimension ${d} is not available in a ${g} cohort report (use cohort and ${NTH[g]}).`, d);
  }
  const metrics = list(r.metrics, 'metrics').map((v, i) => {
    const m = object(v, `metrics[${i}]`, ['name', 'expression', 'invisible']);
    const name = requiredString(m.name, `metrics[${i}].name`);
    const expression = optionalString(m.expression, `metrics[${i}].expression`) || undefined;
    if (expression) evaluate(expression, { cohortActiveUsers: 0, cohortTotalUsers: 1 });
    else if (!(COHORT_METRICS as readonly string[]).includes(name))
      throw invalid(`Metric ${name} is not available in a cohort report (cohortActiveUsers, cohortTotalUsers).`, name);
    return { name, expression };
  });
  if (metrics.length === 0) throw invalid('A cohort request needs at least one metric.', 'metrics');
  const limit = int64(r.limit, 'limit') ?? DEFAULT_LIMIT;
  const offset = int64(r.offset, 'offset') ?? 0;
  if (limit < 0 || offset < 0) throw invalid('limit and offset must be non-negative.', 'limit');
  return {
    cohorts,
    granularity: g,
    startOffset,
    endOffset,
    accumulate: bool(settings.accumulate, 'cohort_spec.cohort_report_settings.accumulate'),
    dimensions,
    metrics,
    offset,
    limit: limit === 0 ? DEFAULT_LIMIT : Math.min(limit, MAX_LIMIT),
    currencyCode: optionalString(r.currencyCode, 'currencyCode') || undefined,
    keepEmptyRows: bool(r.keepEmptyRows, 'keepEmptyRows'),
    returnPropertyQuota: bool(r.returnPropertyQuota, 'returnPropertyQuota'),
  };
}

/**
 * One query: each user's first event date over everything loaded (the first session starts with
 * it), the members of each cohort, and per cohort and offset the distinct active members; with
 * `accumulate`, active in any window up to the offset. Rows: cohort_idx, n, active, total.
 */
export function compileCohortReport(req: CohortRequest, scope: TenantScope, d: SqlDialect): CompiledQuery {
  const p = new Params(d);
  const tenant = p.add(scope.tenantId, 'text');
  const property = p.add(scope.propertyId, 'text');
  const pin = (a: string) => `${a}.tenant_id = ${tenant} AND ${a}.property_id = ${property} AND ${a}.is_bot IS NOT TRUE`;
  const cohorts = req.cohorts
    .map((c, i) => `SELECT ${i} AS idx, ${p.add(c.startDate, 'date')} AS start_date, ${p.add(c.endDate, 'date')} AS end_date`)
    .join(' UNION ALL ');
  const offsets = Array.from({ length: req.endOffset - req.startOffset + 1 }, (_, i) => `SELECT ${req.startOffset + i} AS n`).join(' UNION ALL ');
  const days = d.daysBetween('m.start_date', 'e.local_date');
  const month = (x: string) => `(CAST(EXTRACT(YEAR FROM ${x}) AS INTEGER) * 12 + CAST(EXTRACT(MONTH FROM ${x}) AS INTEGER))`;
  const nth =
    req.granularity === 'DAILY'
      ? days
      : req.granularity === 'WEEKLY'
        ? `CAST(FLOOR((${days}) / 7.0) AS INTEGER)`
        : `(${month('e.local_date')} - ${month('m.start_date')})`;
  const source =
    `FROM events e LEFT JOIN sessions s ON s.tenant_id = ${tenant} AND s.property_id = ${property} AND s.session_key = e.session_key ` +
    `LEFT JOIN idm ON idm.client_id = e.client_id`;
  const ctes = [
    identityCte(tenant, property),
    `c AS (${cohorts})`,
    `o AS (${offsets})`,
    `firsts AS (SELECT ${USER_KEY} AS uk, MIN(e.local_date) AS first_date FROM events e LEFT JOIN idm ON idm.client_id = e.client_id ` +
      `WHERE ${pin('e')} AND ${USER_KEY} IS NOT NULL GROUP BY ${USER_KEY})`,
    `m AS (SELECT f.uk, c.idx, c.start_date FROM firsts f JOIN c ON f.first_date BETWEEN c.start_date AND c.end_date)`,
    `totals AS (SELECT idx, COUNT(*) AS total FROM m GROUP BY idx)`,
    // the member's events from the cohort's start, each with its window number
    `ev AS (SELECT m.idx, ${nth} AS nth, e.*, s.engaged AS sess_engaged, idm.user_id AS idm_user_id ${source} JOIN m ON m.uk = ${USER_KEY} ` +
      `WHERE ${pin('e')} AND e.local_date >= m.start_date)`,
  ];
  // activeUsers' own aggregate (catalog us_active), read over ev's columns
  const active = atom('us_active')
    .sql(d)
    .replace(/\bs\.engaged\b/g, 'e.sess_engaged')
    .replace(/\bidm\.user_id\b/g, 'e.idm_user_id');
  ctes.push(
    `a AS (SELECT c.idx, o.n, ${active} AS active FROM c CROSS JOIN o JOIN ev e ON e.idx = c.idx AND e.nth ${req.accumulate ? '<=' : '='} o.n GROUP BY c.idx, o.n)`,
  );
  const select =
    'SELECT c.idx, o.n, COALESCE(t.total, 0) AS total, COALESCE(a.active, 0) AS active FROM c CROSS JOIN o ' +
    'LEFT JOIN totals t ON t.idx = c.idx LEFT JOIN a ON a.idx = c.idx AND a.n = o.n ORDER BY c.idx, o.n';
  return { sql: `WITH ${ctes.join(',\n')}\n${select}`, params: p.values };
}

/** Shapes the cohort rows as a RunReportResponse. */
export function shapeCohortResponse(
  req: CohortRequest,
  rows: Record<string, unknown>[],
  settings: PropertySettings,
  opts: { enumAsInt: boolean; completeUpTo?: Date | null },
): RunReportResponse {
  const nthName = NTH[req.granularity];
  const visible = rows
    .map((r) => {
      const values = { cohortActiveUsers: Number(r.active ?? 0), cohortTotalUsers: Number(r.total ?? 0) };
      return { r, values, metrics: req.metrics.map((m) => (m.expression ? evaluate(m.expression, values) : values[m.name as keyof typeof values])) };
    })
    .filter((x) => req.keepEmptyRows || x.metrics.some((v) => v !== 0));
  const types = req.metrics.map((m): MetricType => (m.expression ? 'TYPE_FLOAT' : 'TYPE_INTEGER'));
  return compact({
    dimensionHeaders: req.dimensions.map((name) => ({ name })),
    metricHeaders: req.metrics.map((m, i) => ({ name: m.name, type: metricTypeOut(types[i], opts.enumAsInt) })),
    rows: visible.slice(req.offset, req.offset + req.limit).map((x) => ({
      dimensionValues: req.dimensions.map((dim) => ({
        value: dim === 'cohort' ? req.cohorts[Number(x.r.idx)].name : dim === nthName ? String(Number(x.r.n)).padStart(4, '0') : '',
      })),
      metricValues: x.metrics.map((v, i) => ({ value: formatMetric(v, types[i]) })),
    })),
    rowCount: visible.length,
    metadata: {
      currencyCode: req.currencyCode ?? settings.currencyCode,
      timeZone: settings.timeZone,
      ...(opts.completeUpTo ? { tallyCompleteUpTo: opts.completeUpTo.toISOString() } : {}),
    },
    kind: 'analyticsData#runReport',
  });
}

/** + - * / and parentheses over the cohort metrics and numbers; division by zero is 0, as in runReport. */
function evaluate(text: string, values: Record<string, number>): number {
  const toks = text.match(/\s*([A-Za-z_][A-Za-z0-9_]*|\d+(?:\.\d+)?|[-+*/()])/g)?.map((t) => t.trim());
  if (!toks || toks.join('') !== text.replace(/\s+/g, '')) throw invalid(`Invalid metric expression "${text}".`, 'metrics');
  let pos = 0;
  const fail = (): never => {
    throw invalid(`Invalid metric expression "${text}".`, 'metrics');
  };
  const primary = (): number => {
    const t = toks[pos++] ?? fail();
    if (t === '(') {
      const v = sum();
      if (toks[pos++] !== ')') fail();
      return v;
    }
    if (t === '-') return -primary();
    if (/^\d/.test(t)) return Number(t);
    if (!Object.hasOwn(values, t)) throw invalid(`Metric ${t} is not available in a cohort report (cohortActiveUsers, cohortTotalUsers).`, t);
    return values[t];
  };
  const product = (): number => {
    let v = primary();
    while (toks[pos] === '*' || toks[pos] === '/') {
      const op = toks[pos++];
      const r = primary();
      v = op === '*' ? v * r : r === 0 ? 0 : v / r;
    }
    return v;
  };
  const sum = (): number => {
    let v = product();
    while (toks[pos] === '+' || toks[pos] === '-') v = toks[pos++] === '+' ? v + product() : v - product();
    return v;
  };
  const v = sum();
  if (pos !== toks.length) fail();
  return v;
}

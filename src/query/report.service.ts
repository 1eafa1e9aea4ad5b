import type { PropertySettings } from '../domain/property-settings.js';
import { TallyError } from '../infra/errors.js';
import type { Warehouse } from '../infra/warehouse/warehouse.port.js';
import type { ReportCache } from './report-cache.js';
import { compileReport } from './report-compiler.js';
import type { ReportRequest } from './report-request.js';
import { compact, formatMetric, metricTypeOut, RESERVED, type ReportRow, type RunReportResponse } from './report-response.js';
import { dialectFor } from './sql-dialect.js';

type Row = Record<string, unknown>;

/** How a report was answered (filled in by runReport when given). */
export interface ReportStats {
  /** Every statement came from the result cache. */
  cached: boolean;
  /** Rollups, detail tables, or both answered the rows (see CompiledReport.path). */
  path: 'rollup' | 'detail' | 'mixed';
  tables: string[];
}

export interface RunReportOptions {
  enumAsInt?: boolean;
  completeUpTo?: Date | null;
  /** epoch ms: every query is cancelled past it */
  deadline?: number;
  /** Answer from the warehouse's rollups when they can (default: when the warehouse keeps them). */
  rollups?: boolean;
  /** The result cache; used only when `completeUpTo` is known (it is part of the key). */
  cache?: ReportCache;
  /** The property's last partition load (part of the cache key: a reload makes every later report miss). */
  loadVersion?: string | null;
  /** The warehouse's currency rates refresh (part of the key of statements that convert money). */
  ratesVersion?: string | null;
  /** Filled in with how the report was answered. */
  stats?: ReportStats;
}

/** Answers one validated report request for one property, through the warehouse port. */
export async function runReport(warehouse: Warehouse, settings: PropertySettings, req: ReportRequest, opts: RunReportOptions = {}): Promise<RunReportResponse> {
  const rollups = (opts.rollups ?? true) && warehouse.rollups === true;
  const compiled = compileReport(req, settings, dialectFor(warehouse.dialect), { rollups });
  let cached = true;
  const run = (q: { sql: string; params: unknown[] }) => {
    cached = false;
    if (opts.deadline === undefined) return warehouse.query<Row>(q.sql, q.params);
    const timeoutMs = opts.deadline - Date.now();
    if (timeoutMs <= 0) throw new TallyError('deadline_exceeded', 'The report ran past its deadline.', { reason: 'statement_timeout' });
    return warehouse.query<Row>(q.sql, q.params, { timeoutMs });
  };
  const { cache, completeUpTo } = opts;
  const version = completeUpTo ? { completeUpTo, loadVersion: opts.loadVersion, ratesVersion: opts.ratesVersion } : null;
  const query = async (q: { sql: string; params: unknown[] }): Promise<Row[]> =>
    cache ? (await cache.through(settings, version, q, () => run(q))).rows : run(q);
  const multiRange = req.dateRanges.length > 1;
  const { dimensionColumns: dcols, metricColumns: mcols } = compiled;

  const rows = await query(compiled.rows);
  let rowCount = rows.length > 0 ? Number(rows[0].row_count) : 0;
  if (rows.length === 0 && req.offset > 0) {
    const [c] = await query(compiled.count);
    rowCount = Number(c?.row_count ?? 0);
  }

  // with comparisons, dr_idx = range × C + comparison (report-compiler.ts)
  const cmpCount = Math.max(1, req.comparisons.length);
  const dimValues = (r: Row, fixed?: string): { value: string }[] => {
    const values = dcols.map((c) => ({ value: fixed ?? String(r[c] ?? '') }));
    if (req.comparisons.length) values.splice(req.comparisonPosition, 0, { value: req.comparisons[Number(r.dr_idx) % cmpCount].name });
    if (multiRange) values.push({ value: String(r.dr_name) });
    return values;
  };
  const shape = (r: Row, fixed?: string, prefix = ''): ReportRow => ({
    dimensionValues: dimValues(r, fixed),
    metricValues: mcols.map((m) => ({ value: formatMetric(r[prefix + m.column], m.type) })),
  });

  const response: RunReportResponse = {
    dimensionHeaders: [
      ...withComparison(
        req.dimensions.map((d) => d.name),
        req,
      ),
      ...(multiRange ? ['dateRange'] : []),
    ].map((name) => ({ name })),
    metricHeaders: mcols.map((m) => ({ name: m.name, type: metricTypeOut(m.type, opts.enumAsInt ?? false) })),
    rows: rows.map((r) => shape(r)),
    rowCount,
    metadata: {
      currencyCode: req.currencyCode ?? settings.currencyCode,
      timeZone: settings.timeZone,
      ...(opts.completeUpTo ? { tallyCompleteUpTo: opts.completeUpTo.toISOString() } : {}),
    },
    kind: 'analyticsData#runReport',
  };

  if (compiled.totals) {
    const totals = await query(compiled.totals);
    response.totals = req.dateRanges.flatMap((range, i) =>
      Array.from({ length: cmpCount }, (_, j) => {
        const idx = i * cmpCount + j;
        const r = totals.find((t) => Number(t.dr_idx) === idx) ?? { dr_name: range.name, dr_idx: idx };
        return shape(r, RESERVED.TOTAL);
      }),
    );
  }
  if (compiled.extremes) {
    const ext = await query(compiled.extremes);
    if (req.metricAggregations.includes('MAXIMUM')) response.maximums = ext.map((r) => shape(r, RESERVED.MAXIMUM, 'max_'));
    if (req.metricAggregations.includes('MINIMUM')) response.minimums = ext.map((r) => shape(r, RESERVED.MINIMUM, 'min_'));
  }
  if (opts.stats) Object.assign(opts.stats, { cached, path: compiled.path, tables: compiled.tables });
  return compact(response);
}

/** The response's dimension names: the requested ones, with `comparison` in its place when there are comparisons. */
function withComparison(names: string[], req: ReportRequest): string[] {
  if (!req.comparisons.length) return names;
  const out = [...names];
  out.splice(req.comparisonPosition, 0, 'comparison');
  return out;
}

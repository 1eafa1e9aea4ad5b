import type { PropertySettings } from '../domain/property-settings.js';
import type { Warehouse } from '../infra/warehouse/warehouse.port.js';
import { compileReport } from './report-compiler.js';
import type { ReportRequest } from './report-request.js';
import { compact, formatMetric, metricTypeOut, RESERVED, type ReportRow, type RunReportResponse } from './report-response.js';
import { dialectFor } from './sql-dialect.js';

type Row = Record<string, unknown>;

/** Answers one validated report request for one property, through the warehouse port. */
export async function runReport(
  warehouse: Warehouse,
  settings: PropertySettings,
  req: ReportRequest,
  opts: { enumAsInt?: boolean; completeUpTo?: Date | null } = {},
): Promise<RunReportResponse> {
  const compiled = compileReport(req, settings, dialectFor(warehouse.dialect));
  const multiRange = req.dateRanges.length > 1;
  const { dimensionColumns: dcols, metricColumns: mcols } = compiled;

  const rows = await warehouse.query<Row>(compiled.rows.sql, compiled.rows.params);
  let rowCount = rows.length > 0 ? Number(rows[0].row_count) : 0;
  if (rows.length === 0 && req.offset > 0) {
    const [c] = await warehouse.query<Row>(compiled.count.sql, compiled.count.params);
    rowCount = Number(c?.row_count ?? 0);
  }

  const dimValues = (r: Row, fixed?: string): { value: string }[] => {
    const values = dcols.map((c) => ({ value: fixed ?? String(r[c] ?? '') }));
    if (multiRange) values.push({ value: String(r.dr_name) });
    return values;
  };
  const shape = (r: Row, fixed?: string, prefix = ''): ReportRow => ({
    dimensionValues: dimValues(r, fixed),
    metricValues: mcols.map((m) => ({ value: formatMetric(r[prefix + m.column], m.type) })),
  });

  const response: RunReportResponse = {
    dimensionHeaders: [...req.dimensions.map((d) => ({ name: d.name })), ...(multiRange ? [{ name: 'dateRange' }] : [])],
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
    const totals = await warehouse.query<Row>(compiled.totals.sql, compiled.totals.params);
    response.totals = req.dateRanges.map((range, i) => {
      const r = totals.find((t) => Number(t.dr_idx) === i) ?? { dr_name: range.name };
      return shape(r, RESERVED.TOTAL);
    });
  }
  if (compiled.extremes) {
    const ext = await warehouse.query<Row>(compiled.extremes.sql, compiled.extremes.params);
    if (req.metricAggregations.includes('MAXIMUM')) response.maximums = ext.map((r) => shape(r, RESERVED.MAXIMUM, 'max_'));
    if (req.metricAggregations.includes('MINIMUM')) response.minimums = ext.map((r) => shape(r, RESERVED.MINIMUM, 'min_'));
  }
  return compact(response);
}

import { enumName, METRIC_AGGREGATION, ORDER_TYPE } from './ga4-enums.js';
import { bool, int64, invalid, list, object, requiredString } from './proto-json.js';
import { badEnum, MAX_LIMIT } from './report-request.limits.js';
import { parseRunReportRequest, REQUEST_KEYS, type ParseContext, type ReportRequest } from './report-request.js';
import type { PropertyQuota, ReportRow, RunReportResponse } from './report-response.js';

/** runReport's fields a RunPivotReportRequest does not have: pivots page, order and aggregate. */
const NOT_IN_PIVOT = ['offset', 'limit', 'metricAggregations', 'orderBys'] as const;
type PivotRequestKey = Exclude<(typeof REQUEST_KEYS)[number], (typeof NOT_IN_PIVOT)[number]> | 'pivots';

/** RunPivotReportRequest (GA4-DEFINITIONS §C.14): runReport's fields plus pivots, minus paging and ordering. */
const PIVOT_REQUEST_KEYS: readonly PivotRequestKey[] = [
  ...REQUEST_KEYS.filter((k): k is Exclude<typeof k, (typeof NOT_IN_PIVOT)[number]> => !(NOT_IN_PIVOT as readonly string[]).includes(k)),
  'pivots',
];

type Aggregation = 'TOTAL' | 'MAXIMUM' | 'MINIMUM' | 'COUNT';

export interface Pivot {
  fieldNames: string[];
  orderBys: ({ kind: 'metric'; metricName: string; desc: boolean } | { kind: 'dimension'; dimensionName: string; orderType: string; desc: boolean })[];
  offset: number;
  limit: number;
  metricAggregations: Aggregation[];
}

export interface PivotRequest {
  /** The report over every dimension: the cells. */
  base: ReportRequest;
  pivots: Pivot[];
  returnPropertyQuota: boolean;
}

export interface RunPivotReportResponse {
  pivotHeaders?: { pivotDimensionHeaders?: { dimensionValues: { value: string }[] }[]; rowCount?: number }[];
  dimensionHeaders?: { name: string }[];
  metricHeaders?: { name: string; type: string | number }[];
  rows?: ReportRow[];
  aggregates?: ReportRow[];
  metadata: RunReportResponse['metadata'];
  propertyQuota?: PropertyQuota;
  kind: 'analyticsData#runPivotReport';
}

const RESERVED_OF: Record<Aggregation, string> = { TOTAL: 'RESERVED_TOTAL', MAXIMUM: 'RESERVED_MAX', MINIMUM: 'RESERVED_MIN', COUNT: 'RESERVED_COUNT' };

/** Validates a RunPivotReportRequest: every dimension in exactly one pivot, each pivot with a limit, their product at most 250,000. */
export function parsePivotRequest(body: unknown, ctx: ParseContext): PivotRequest {
  const r = object(body, '', PIVOT_REQUEST_KEYS);
  const { pivots: rawPivots, ...rest } = r;
  const base = parseRunReportRequest({ ...rest, limit: String(MAX_LIMIT) }, ctx);
  if (base.comparisons.length) throw invalid('Tally does not answer comparisons in pivot reports yet; use runReport.', 'comparisons');
  if (base.dateRanges.length > 1) {
    throw invalid('Tally answers pivot reports over one date range; send one request per range.', 'dateRanges');
  }
  const names = base.dimensions.map((d) => d.name);
  const pivots = list(rawPivots, 'pivots').map((v, i) => parsePivot(v, `pivots[${i}]`, names, base));
  if (pivots.length === 0) throw invalid('Must specify at least one pivot.', 'pivots');
  const seen = new Set<string>();
  for (const p of pivots) {
    for (const f of p.fieldNames) {
      if (seen.has(f)) throw invalid(`Field ${f} is in more than one pivot.`, 'pivots');
      seen.add(f);
    }
  }
  const missing = names.find((n) => !seen.has(n));
  if (missing) throw invalid(`Dimension ${missing} must be in one pivot's fieldNames.`, 'pivots');
  const product = pivots.reduce((n, p) => n * p.limit, 1);
  if (product > MAX_LIMIT) throw invalid(`The product of the pivots' limits must not exceed ${MAX_LIMIT}; it is ${product}.`, 'pivots');
  return { base, pivots, returnPropertyQuota: base.returnPropertyQuota };
}

function parsePivot(value: unknown, path: string, dims: string[], base: ReportRequest): Pivot {
  const p = object(value, path, ['fieldNames', 'orderBys', 'offset', 'limit', 'metricAggregations']);
  const fieldNames = list(p.fieldNames, `${path}.field_names`).map((f, i) => requiredString(f, `${path}.field_names[${i}]`));
  if (fieldNames.length === 0) throw invalid(`${path}.fieldNames must not be empty.`, path);
  for (const f of fieldNames) if (!dims.includes(f)) throw invalid(`Field ${f} in ${path}.fieldNames must be one of the request's dimensions.`, path);
  const limit = int64(p.limit, `${path}.limit`);
  if (limit === undefined || limit <= 0) throw invalid(`${path}.limit is required and must be positive.`, `${path}.limit`);
  const offset = int64(p.offset, `${path}.offset`) ?? 0;
  if (offset < 0) throw invalid(`${path}.offset must be non-negative.`, `${path}.offset`);
  const metricAggregations = list(p.metricAggregations, `${path}.metric_aggregations`).map((v, i) => {
    const name = enumName(METRIC_AGGREGATION, v);
    if (!name || name === 'METRIC_AGGREGATION_UNSPECIFIED') throw badEnum(`${path}.metric_aggregations[${i}]`, 'MetricAggregation', v);
    return name;
  });
  const orderBys = list(p.orderBys, `${path}.order_bys`).map((v, i): Pivot['orderBys'][number] => {
    const op = `${path}.order_bys[${i}]`;
    const o = object(v, op, ['desc', 'metric', 'dimension', 'pivot']);
    const desc = bool(o.desc, `${op}.desc`);
    if (o.pivot != null) throw invalid(`${op}.pivot (PivotOrderBy) is not supported by Tally yet.`, op);
    if ((o.metric != null) === (o.dimension != null)) throw invalid(`${op} must set exactly one of metric, dimension.`, op);
    if (o.metric != null) {
      const metricName = requiredString(object(o.metric, `${op}.metric`, ['metricName']).metricName, `${op}.metric.metric_name`);
      if (!base.metrics.some((m) => m.name === metricName)) throw invalid(`Field ${metricName} in ${op} must be one of the request's metrics.`, op);
      return { kind: 'metric', metricName, desc };
    }
    const d = object(o.dimension, `${op}.dimension`, ['dimensionName', 'orderType']);
    const dimensionName = requiredString(d.dimensionName, `${op}.dimension.dimension_name`);
    if (!fieldNames.includes(dimensionName)) throw invalid(`Field ${dimensionName} in ${op} must be one of the pivot's fieldNames.`, op);
    const t = d.orderType === undefined ? 'ALPHANUMERIC' : enumName(ORDER_TYPE, d.orderType);
    if (!t) throw badEnum(`${op}.dimension.order_type`, 'OrderBy.DimensionOrderBy.OrderType', d.orderType);
    return { kind: 'dimension', dimensionName, orderType: t === 'ORDER_TYPE_UNSPECIFIED' ? 'ALPHANUMERIC' : t, desc };
  });
  return { fieldNames, orderBys, offset, limit, metricAggregations };
}

/** The reports a pivot request needs: the cells (every dimension) and, per pivot, its own dimensions' totals. */
export function pivotQueries(req: PivotRequest): { cells: ReportRequest; perPivot: ReportRequest[] } {
  const cells: ReportRequest = { ...req.base, offset: 0, limit: MAX_LIMIT, orderBys: [], metricAggregations: [], returnPropertyQuota: false };
  const perPivot = req.pivots.map((p): ReportRequest => ({
    ...cells,
    dimensions: req.base.dimensions.filter((d) => p.fieldNames.includes(d.name)),
    // a pivot's headers are ordered and totalled over everything the dimension filter keeps
    metricFilter: undefined,
    keepEmptyRows: true,
  }));
  return { cells, perPivot };
}

/**
 * Shapes GA4's pivot response from the cells report and each pivot's own report: each pivot's
 * headers are its dimension combinations in its order, after its offset and limit (rowCount: all
 * of them); rows are the cells whose every pivot combination was selected, in header order;
 * aggregates are per pivot: TOTAL from the pivot's own report (distinct counts stay right),
 * MAXIMUM / MINIMUM / COUNT over the cells of each combination, the other dimensions RESERVED_*.
 */
export function shapePivotResponse(req: PivotRequest, cells: RunReportResponse, perPivot: RunReportResponse[]): RunPivotReportResponse {
  const dimNames = req.base.dimensions.map((d) => d.name);
  const metricNames = req.base.metrics.filter((m) => !m.invisible).map((m) => m.name);
  const key = (values: string[]) => JSON.stringify(values);
  const cellRows = cells.rows ?? [];

  const selected = req.pivots.map((p, pi) => {
    const own = perPivot[pi].rows ?? [];
    const sorted = [...own].sort((a, b) => comparePivotRows(p, metricNames, a, b, req));
    const order = new Map<string, number>();
    const headers = sorted.slice(p.offset, p.offset + p.limit).map((r, i) => {
      const values = r.dimensionValues.map((v) => v.value);
      order.set(key(values), i);
      return { dimensionValues: values.map((value) => ({ value })) };
    });
    return { headers, order, rowCount: own.length, idx: p.fieldNames.map((f) => dimNames.indexOf(f)), own };
  });
  // per pivot, the values of a cell in the pivot's own dimension order (its report's column order)
  const ownValues = (pi: number, r: ReportRow) =>
    req.base.dimensions.flatMap((d, i) => (req.pivots[pi].fieldNames.includes(d.name) ? [r.dimensionValues[i].value] : []));

  const rows = cellRows
    .map((r) => ({ r, pos: selected.map((s, pi) => s.order.get(key(ownValues(pi, r)))) }))
    .filter((x) => x.pos.every((p) => p !== undefined))
    .sort((a, b) => {
      for (let i = 0; i < a.pos.length; i++) if (a.pos[i] !== b.pos[i]) return a.pos[i]! - b.pos[i]!;
      return 0;
    })
    .map((x) => x.r);

  const aggregates: ReportRow[] = [];
  req.pivots.forEach((p, pi) => {
    const s = selected[pi];
    for (const agg of p.metricAggregations) {
      for (const h of s.headers) {
        const values = h.dimensionValues.map((v) => v.value);
        const dimensionValues = dimNames.map((n) => {
          const i = req.base.dimensions.filter((d) => p.fieldNames.includes(d.name)).findIndex((d) => d.name === n);
          return { value: i >= 0 ? values[i] : RESERVED_OF[agg] };
        });
        let metricValues: { value: string }[];
        if (agg === 'TOTAL') {
          const own = s.own.find((r) => key(r.dimensionValues.map((v) => v.value)) === key(values));
          metricValues = own?.metricValues ?? metricNames.map(() => ({ value: '0' }));
        } else {
          const mine = cellRows.filter((r) => key(ownValues(pi, r)) === key(values));
          metricValues =
            agg === 'COUNT'
              ? metricNames.map(() => ({ value: String(mine.length) }))
              : metricNames.map((_, m) => {
                  const nums = mine.map((r) => Number(r.metricValues[m].value));
                  const pick = agg === 'MAXIMUM' ? Math.max(...nums) : Math.min(...nums);
                  return { value: nums.length ? mine[nums.indexOf(pick)].metricValues[m].value : '0' };
                });
        }
        aggregates.push({ dimensionValues, metricValues });
      }
    }
  });

  const out: RunPivotReportResponse = {
    pivotHeaders: selected.map((s) => ({
      ...(s.headers.length ? { pivotDimensionHeaders: s.headers } : {}),
      ...(s.rowCount ? { rowCount: s.rowCount } : {}),
    })),
    dimensionHeaders: cells.dimensionHeaders,
    metricHeaders: cells.metricHeaders,
    rows,
    aggregates,
    metadata: cells.metadata,
    kind: 'analyticsData#runPivotReport',
  };
  for (const k of ['rows', 'aggregates', 'dimensionHeaders'] as const) if (!out[k]?.length) delete out[k];
  return out;
}

function comparePivotRows(p: Pivot, metricNames: string[], a: ReportRow, b: ReportRow, req: PivotRequest): number {
  const own = req.base.dimensions.filter((d) => p.fieldNames.includes(d.name)).map((d) => d.name);
  const byCode = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);
  const orders = p.orderBys.length ? p.orderBys : metricNames.length ? [{ kind: 'metric' as const, metricName: metricNames[0], desc: true }] : [];
  for (const o of orders) {
    let c = 0;
    if (o.kind === 'metric') {
      const i = metricNames.indexOf(o.metricName);
      c = Number(a.metricValues[i]?.value ?? 0) - Number(b.metricValues[i]?.value ?? 0);
    } else {
      const i = own.indexOf(o.dimensionName);
      const x = a.dimensionValues[i].value;
      const y = b.dimensionValues[i].value;
      if (o.orderType === 'NUMERIC') c = (Number(x) || 0) - (Number(y) || 0);
      else if (o.orderType === 'CASE_INSENSITIVE_ALPHANUMERIC') c = byCode(x.toLowerCase(), y.toLowerCase());
      else c = byCode(x, y);
    }
    if (c !== 0) return o.desc ? -c : c;
  }
  for (let i = 0; i < a.dimensionValues.length; i++) {
    const c = byCode(a.dimensionValues[i].value, b.dimensionValues[i].value);
    if (c !== 0) return c;
  }
  return 0;
}

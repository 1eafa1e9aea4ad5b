import { z } from 'zod';
import type { RouteConfig } from '@asteasolutions/zod-to-openapi';
import { FilterExpressionSchema, REPORT_ROUTE, RunReportRequestSchema, RunReportResponseSchema, gaEnum, int64 } from './report.api.js';
import type { RunPivotReportResponse } from './pivot-report.js';
import type { RunRealtimeReportResponse } from './realtime-report.js';

/** OpenAPI for runRealtimeReport, runPivotReport and batchRunPivotReports (report.api.ts has the shared schemas). */
const NameSchema = z.strictObject({ name: z.string() });
const responseFields = RunReportResponseSchema.shape;

export const RunRealtimeReportRequestSchema = z
  .strictObject({
    property: z.string().optional(),
    dimensions: z
      .array(z.strictObject({ name: z.string() }))
      .max(9)
      .optional(),
    metrics: z.array(NameSchema).max(10).optional(),
    dimensionFilter: FilterExpressionSchema.optional(),
    metricFilter: FilterExpressionSchema.optional(),
    limit: int64.optional(),
    metricAggregations: z.array(gaEnum(['TOTAL', 'MAXIMUM', 'MINIMUM', 'COUNT'])).optional(),
    orderBys: RunReportRequestSchema.shape.orderBys,
    returnPropertyQuota: z.boolean().optional(),
    minuteRanges: z
      .array(z.strictObject({ name: z.string().optional(), startMinutesAgo: z.number().int().optional(), endMinutesAgo: z.number().int().optional() }))
      .max(2)
      .optional(),
  })
  .meta({ id: 'RunRealtimeReportRequest' });

export const RunRealtimeReportResponseSchema = z
  .strictObject({
    dimensionHeaders: responseFields.dimensionHeaders,
    metricHeaders: responseFields.metricHeaders,
    rows: responseFields.rows,
    totals: responseFields.totals,
    maximums: responseFields.maximums,
    minimums: responseFields.minimums,
    rowCount: responseFields.rowCount,
    propertyQuota: responseFields.propertyQuota,
    kind: z.literal('analyticsData#runRealtimeReport'),
  })
  .meta({ id: 'RunRealtimeReportResponse' });

const PivotSchema = z.strictObject({
  fieldNames: z.array(z.string()).min(1),
  orderBys: RunReportRequestSchema.shape.orderBys,
  offset: int64.optional(),
  limit: int64,
  metricAggregations: z.array(gaEnum(['TOTAL', 'MAXIMUM', 'MINIMUM', 'COUNT'])).optional(),
});
const { offset: _o, limit: _l, metricAggregations: _m, orderBys: _b, ...pivotFields } = RunReportRequestSchema.shape;
export const RunPivotReportRequestSchema = z.strictObject({ ...pivotFields, pivots: z.array(PivotSchema).min(1) }).meta({ id: 'RunPivotReportRequest' });

export const RunPivotReportResponseSchema = z
  .strictObject({
    pivotHeaders: z
      .array(
        z.strictObject({
          pivotDimensionHeaders: z.array(z.strictObject({ dimensionValues: z.array(z.strictObject({ value: z.string() })) })).optional(),
          rowCount: z.number().int().optional(),
        }),
      )
      .optional(),
    dimensionHeaders: responseFields.dimensionHeaders,
    metricHeaders: responseFields.metricHeaders,
    rows: responseFields.rows,
    aggregates: responseFields.totals,
    metadata: responseFields.metadata,
    propertyQuota: responseFields.propertyQuota,
    kind: z.literal('analyticsData#runPivotReport'),
  })
  .meta({ id: 'RunPivotReportResponse' });

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const sameShapes: [
  Same<z.infer<typeof RunRealtimeReportResponseSchema>, RunRealtimeReportResponse>,
  Same<z.infer<typeof RunPivotReportResponseSchema>, RunPivotReportResponse>,
] = [true, true];
void sameShapes;

export const REPORT_METHODS_API: RouteConfig[] = [
  REPORT_ROUTE('runRealtimeReport', RunRealtimeReportRequestSchema, RunRealtimeReportResponseSchema),
  REPORT_ROUTE('runPivotReport', RunPivotReportRequestSchema, RunPivotReportResponseSchema),
  REPORT_ROUTE(
    'batchRunPivotReports',
    z.strictObject({ property: z.string().optional(), requests: z.array(RunPivotReportRequestSchema).max(5) }).meta({ id: 'BatchRunPivotReportsRequest' }),
    z
      .strictObject({ pivotReports: z.array(RunPivotReportResponseSchema), kind: z.literal('analyticsData#batchRunPivotReports') })
      .meta({ id: 'BatchRunPivotReportsResponse' }),
  ),
];

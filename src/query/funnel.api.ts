import { z } from 'zod';
import type { RouteConfig } from '@asteasolutions/zod-to-openapi';
import type { RunFunnelReportResponse } from './funnel-report.js';
import { DateRangeSchema, FilterExpressionSchema, FilterSchema, gaEnum, int64, REPORT_ROUTE, RunReportResponseSchema } from './report.api.js';

/** OpenAPI for runFunnelReport (Data API v1alpha); field names as in the proto's JSON mapping. */
const { fieldName: _f, emptyFilter: _e, ...leafFilters } = FilterSchema.shape;

const FunnelParameterFilterExpressionSchema: z.ZodType = z
  .strictObject({
    get andGroup() {
      return z.strictObject({ expressions: z.array(FunnelParameterFilterExpressionSchema) }).optional();
    },
    get orGroup() {
      return z.strictObject({ expressions: z.array(FunnelParameterFilterExpressionSchema) }).optional();
    },
    get notExpression() {
      return FunnelParameterFilterExpressionSchema.optional();
    },
    funnelParameterFilter: z
      .strictObject({
        eventParameterName: z.string().optional(),
        itemParameterName: z.string().optional().meta({ description: 'Not supported by Tally yet (400)' }),
        ...leafFilters,
      })
      .optional(),
  })
  .meta({ id: 'FunnelParameterFilterExpression' });

const FunnelFilterExpressionSchema: z.ZodType = z
  .strictObject({
    get andGroup() {
      return z.strictObject({ expressions: z.array(FunnelFilterExpressionSchema) }).optional();
    },
    get orGroup() {
      return z.strictObject({ expressions: z.array(FunnelFilterExpressionSchema) }).optional();
    },
    get notExpression() {
      return FunnelFilterExpressionSchema.optional();
    },
    funnelFieldFilter: z.strictObject({ fieldName: z.string(), ...leafFilters }).optional(),
    funnelEventFilter: z.strictObject({ eventName: z.string(), funnelParameterFilterExpression: FunnelParameterFilterExpressionSchema.optional() }).optional(),
  })
  .meta({ id: 'FunnelFilterExpression', description: 'Exactly one of andGroup, orGroup, notExpression, funnelFieldFilter, funnelEventFilter' });

const DimensionRef = z.strictObject({ name: z.string() });

export const RunFunnelReportRequestSchema = z
  .strictObject({
    property: z.string().optional(),
    dateRanges: z.array(DateRangeSchema).min(1).max(4),
    funnel: z.strictObject({
      isOpenFunnel: z.boolean().optional(),
      steps: z
        .array(
          z.strictObject({
            name: z.string().optional(),
            isDirectlyFollowedBy: z.boolean().optional(),
            withinDurationFromPriorStep: z
              .string()
              .regex(/^\d+(\.\d{1,9})?s$/)
              .optional()
              .meta({ example: '300s' }),
            filterExpression: FunnelFilterExpressionSchema,
          }),
        )
        .min(1)
        .max(10),
    }),
    funnelBreakdown: z.strictObject({ breakdownDimension: DimensionRef, limit: int64.optional() }).optional(),
    funnelNextAction: z.strictObject({ nextActionDimension: DimensionRef, limit: int64.optional() }).optional(),
    funnelVisualizationType: gaEnum(['FUNNEL_VISUALIZATION_TYPE_UNSPECIFIED', 'STANDARD_FUNNEL', 'TRENDED_FUNNEL']).optional(),
    segments: z.array(z.unknown()).max(0).optional().meta({ description: 'Not supported by Tally yet (400)' }),
    limit: int64.optional(),
    dimensionFilter: FilterExpressionSchema.optional(),
    returnPropertyQuota: z.boolean().optional(),
  })
  .meta({ id: 'RunFunnelReportRequest' });

const responseFields = RunReportResponseSchema.shape;
const FunnelSubReportSchema = z
  .strictObject({
    dimensionHeaders: z.array(z.strictObject({ name: z.string() })),
    metricHeaders: z.array(z.strictObject({ name: z.string(), type: z.union([z.string(), z.number().int()]) })),
    rows: responseFields.rows,
    metadata: z.strictObject({}).meta({ description: 'FunnelResponseMetadata: samplingMetadatas only when sampled (Tally never samples)' }),
  })
  .meta({ id: 'FunnelSubReport' });

export const RunFunnelReportResponseSchema = z
  .strictObject({
    funnelTable: FunnelSubReportSchema,
    funnelVisualization: FunnelSubReportSchema,
    propertyQuota: responseFields.propertyQuota,
    kind: z.literal('analyticsData#runFunnelReport'),
  })
  .meta({ id: 'RunFunnelReportResponse' });

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const sameShape: Same<z.infer<typeof RunFunnelReportResponseSchema>, RunFunnelReportResponse> = true;
void sameShape;

export const FUNNEL_API: RouteConfig[] = [REPORT_ROUTE('runFunnelReport', RunFunnelReportRequestSchema, RunFunnelReportResponseSchema, 'v1alpha')];

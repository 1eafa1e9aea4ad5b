import { z } from 'zod';
import type { ResponseConfig, RouteConfig } from '@asteasolutions/zod-to-openapi';
import type { RunReportResponse } from './report-response.js';
import type { MetadataResponse } from './metadata.js';
import type { GoogleErrorBody } from './google-error.js';

/**
 * The GA4 Data API v1beta surface in OpenAPI. Requests are validated by report-request.ts's
 * hand-written parser (GA4's exact error messages, field paths in snake case); the request schemas
 * below describe the same wire shape, and report.api.test.ts keeps their field lists equal to the
 * parser's. The response schemas are checked against the TypeScript types the code builds
 * responses with (below) and against live answers (test/e2e/openapi.e2e.test.ts).
 */
const json = (schema: z.ZodType, description: string): ResponseConfig => ({ description, content: { 'application/json': { schema } } });
/** `$alt=json;enum-encoding=int` turns every enum into its number. */
export const gaEnum = <T extends readonly [string, ...string[]]>(values: T) => z.union([z.enum(values), z.number().int()]);
export const int64 = z.union([z.string().regex(/^-?\d+$/), z.number().int()]);

const DimensionSchema = z.strictObject({
  name: z.string(),
  dimensionExpression: z
    .strictObject({
      lowerCase: z.strictObject({ dimensionName: z.string() }).optional(),
      upperCase: z.strictObject({ dimensionName: z.string() }).optional(),
      concatenate: z.strictObject({ dimensionNames: z.array(z.string()), delimiter: z.string().optional() }).optional(),
    })
    .optional(),
});
const MetricSchema = z.strictObject({ name: z.string(), expression: z.string().optional(), invisible: z.boolean().optional() });
export const DateRangeSchema = z.strictObject({
  startDate: z.string().meta({ description: 'YYYY-MM-DD, NdaysAgo, yesterday or today' }),
  endDate: z.string(),
  name: z.string().optional(),
});
const NumericValueSchema = z.strictObject({ int64Value: int64.optional(), doubleValue: z.union([z.number(), z.string()]).optional() });
export const FilterSchema = z
  .strictObject({
    fieldName: z.string(),
    stringFilter: z
      .strictObject({
        matchType: gaEnum(['MATCH_TYPE_UNSPECIFIED', 'EXACT', 'BEGINS_WITH', 'ENDS_WITH', 'CONTAINS', 'FULL_REGEXP', 'PARTIAL_REGEXP']).optional(),
        value: z.string().optional(),
        caseSensitive: z.boolean().optional(),
      })
      .optional(),
    inListFilter: z.strictObject({ values: z.array(z.string()), caseSensitive: z.boolean().optional() }).optional(),
    numericFilter: z
      .strictObject({
        operation: gaEnum(['OPERATION_UNSPECIFIED', 'EQUAL', 'LESS_THAN', 'LESS_THAN_OR_EQUAL', 'GREATER_THAN', 'GREATER_THAN_OR_EQUAL']),
        value: NumericValueSchema,
      })
      .optional(),
    betweenFilter: z.strictObject({ fromValue: NumericValueSchema, toValue: NumericValueSchema }).optional(),
    emptyFilter: z.strictObject({}).optional(),
  })
  .meta({ id: 'Filter', description: 'Exactly one of stringFilter, inListFilter, numericFilter, betweenFilter, emptyFilter' });

export const FilterExpressionSchema: z.ZodType = z
  .strictObject({
    get andGroup() {
      return z.strictObject({ expressions: z.array(FilterExpressionSchema) }).optional();
    },
    get orGroup() {
      return z.strictObject({ expressions: z.array(FilterExpressionSchema) }).optional();
    },
    get notExpression() {
      return FilterExpressionSchema.optional();
    },
    filter: FilterSchema.optional(),
  })
  .meta({ id: 'FilterExpression', description: 'Exactly one of andGroup, orGroup, notExpression, filter' });

const OrderBySchema = z.strictObject({
  desc: z.boolean().optional(),
  metric: z.strictObject({ metricName: z.string() }).optional(),
  dimension: z
    .strictObject({
      dimensionName: z.string(),
      orderType: gaEnum(['ORDER_TYPE_UNSPECIFIED', 'ALPHANUMERIC', 'CASE_INSENSITIVE_ALPHANUMERIC', 'NUMERIC']).optional(),
    })
    .optional(),
  pivot: z.unknown().optional().meta({ description: 'Not supported' }),
});

const ComparisonSchema = z
  .strictObject({
    name: z.string().optional(),
    dimensionFilter: FilterExpressionSchema.optional(),
    comparison: z.string().optional().meta({ description: 'Saved comparisons: Tally has none (400)' }),
  })
  .meta({ id: 'Comparison' });
const CohortSpecSchema = z
  .strictObject({
    cohorts: z.array(z.strictObject({ name: z.string().optional(), dimension: z.literal('firstSessionDate'), dateRange: DateRangeSchema })),
    cohortsRange: z.strictObject({
      granularity: gaEnum(['GRANULARITY_UNSPECIFIED', 'DAILY', 'WEEKLY', 'MONTHLY']),
      startOffset: z.number().int().optional(),
      endOffset: z.number().int().optional(),
    }),
    cohortReportSettings: z.strictObject({ accumulate: z.boolean().optional() }).optional(),
  })
  .meta({ id: 'CohortSpec' });

export const RunReportRequestSchema = z
  .strictObject({
    property: z.string().optional().meta({ description: 'properties/{propertyId}; must match the path when given' }),
    dimensions: z.array(DimensionSchema).max(9).optional(),
    metrics: z.array(MetricSchema).max(10).optional(),
    dateRanges: z.array(DateRangeSchema).max(4).optional().meta({ description: 'One to four; empty with a cohortSpec' }),
    dimensionFilter: FilterExpressionSchema.optional(),
    metricFilter: FilterExpressionSchema.optional(),
    offset: int64.optional(),
    limit: int64.optional(),
    metricAggregations: z.array(gaEnum(['TOTAL', 'MAXIMUM', 'MINIMUM', 'COUNT'])).optional(),
    orderBys: z.array(OrderBySchema).optional(),
    currencyCode: z.string().optional(),
    cohortSpec: CohortSpecSchema.optional(),
    keepEmptyRows: z.boolean().optional(),
    returnPropertyQuota: z.boolean().optional(),
    comparisons: z.array(ComparisonSchema).max(4).optional(),
  })
  .meta({ id: 'RunReportRequest' });

const BatchRunReportsRequestSchema = z
  .strictObject({ property: z.string().optional(), requests: z.array(RunReportRequestSchema).max(5) })
  .meta({ id: 'BatchRunReportsRequest' });

const CheckCompatibilityRequestSchema = z
  .strictObject({
    property: z.string().optional(),
    dimensions: z.array(DimensionSchema).optional(),
    metrics: z.array(MetricSchema).optional(),
    dimensionFilter: FilterExpressionSchema.optional(),
    metricFilter: FilterExpressionSchema.optional(),
    compatibilityFilter: gaEnum(['COMPATIBILITY_UNSPECIFIED', 'COMPATIBLE', 'INCOMPATIBLE']).optional(),
  })
  .meta({ id: 'CheckCompatibilityRequest' });

const ValueSchema = z.strictObject({ value: z.string() });
const RowSchema = z.strictObject({ dimensionValues: z.array(ValueSchema), metricValues: z.array(ValueSchema) }).meta({ id: 'Row' });
const QuotaStatusSchema = z.strictObject({ consumed: z.number().int().optional(), remaining: z.number().int().optional() });

export const RunReportResponseSchema = z
  .strictObject({
    dimensionHeaders: z.array(z.strictObject({ name: z.string() })).optional(),
    metricHeaders: z.array(z.strictObject({ name: z.string(), type: z.union([z.string(), z.number().int()]) })).optional(),
    rows: z.array(RowSchema).optional(),
    totals: z.array(RowSchema).optional(),
    maximums: z.array(RowSchema).optional(),
    minimums: z.array(RowSchema).optional(),
    rowCount: z.number().int().optional(),
    metadata: z.strictObject({
      currencyCode: z.string(),
      timeZone: z.string(),
      tallyCompleteUpTo: z.string().optional().meta({ description: "Tally's own: every event acknowledged before this RFC 3339 instant is in the numbers" }),
      tallyNotice: z.string().optional().meta({ description: "Tally's own: a billing notice (this month's included events used up, a failed payment)" }),
    }),
    propertyQuota: z
      .strictObject({
        tokensPerDay: QuotaStatusSchema,
        tokensPerHour: QuotaStatusSchema,
        concurrentRequests: QuotaStatusSchema,
        serverErrorsPerProjectPerHour: QuotaStatusSchema,
        potentiallyThresholdedRequestsPerHour: QuotaStatusSchema,
        tokensPerProjectPerHour: QuotaStatusSchema,
      })
      .optional(),
    kind: z.literal('analyticsData#runReport'),
  })
  .meta({ id: 'RunReportResponse' });

/** The fields a dimension's and a metric's metadata share. */
const definitionMetadata = {
  apiName: z.string(),
  uiName: z.string(),
  description: z.string(),
  deprecatedApiNames: z.array(z.string()),
};
const DimensionMetadataSchema = z
  .strictObject({
    ...definitionMetadata,
    customDefinition: z.boolean(),
    category: z.string(),
  })
  .meta({ id: 'DimensionMetadata' });
const MetricMetadataSchema = z
  .strictObject({
    ...definitionMetadata,
    type: z.union([z.string(), z.number().int()]),
    expression: z.string(),
    customDefinition: z.boolean(),
    blockedReasons: z.array(z.string()),
    category: z.string(),
  })
  .meta({ id: 'MetricMetadata' });
export const MetadataResponseSchema = z
  .strictObject({ name: z.string(), dimensions: z.array(DimensionMetadataSchema), metrics: z.array(MetricMetadataSchema) })
  .meta({ id: 'Metadata' });

const compatibility = gaEnum(['COMPATIBILITY_UNSPECIFIED', 'COMPATIBLE', 'INCOMPATIBLE']);
const CheckCompatibilityResponseSchema = z
  .strictObject({
    dimensionCompatibilities: z.array(z.strictObject({ dimensionMetadata: DimensionMetadataSchema, compatibility })).optional(),
    metricCompatibilities: z.array(z.strictObject({ metricMetadata: MetricMetadataSchema, compatibility })).optional(),
  })
  .meta({ id: 'CheckCompatibilityResponse' });

export const GoogleErrorSchema = z
  .strictObject({ error: z.strictObject({ code: z.number().int(), message: z.string(), status: z.string() }) })
  .meta({ id: 'GoogleError', description: "Google's error shape: HTTP code, message, canonical status (INVALID_ARGUMENT, …)" });

// the schemas and the types the code builds responses with are the same shape, both ways
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const sameShapes: [
  Same<z.infer<typeof RunReportResponseSchema>, RunReportResponse>,
  Same<z.infer<typeof MetadataResponseSchema>, MetadataResponse>,
  Same<z.infer<typeof GoogleErrorSchema>, GoogleErrorBody>,
] = [true, true, true];
void sameShapes;

const errors: Record<number, ResponseConfig> = {
  400: json(GoogleErrorSchema, 'INVALID_ARGUMENT'),
  401: json(GoogleErrorSchema, 'UNAUTHENTICATED'),
  403: json(GoogleErrorSchema, 'PERMISSION_DENIED'),
  404: json(GoogleErrorSchema, 'NOT_FOUND'),
  429: json(GoogleErrorSchema, 'RESOURCE_EXHAUSTED (see Retry-After)'),
  500: json(GoogleErrorSchema, 'INTERNAL (logged with its stack)'),
};
const path = z.object({ propertyId: z.string().regex(/^\d+$/) });
const query = z.object({ $alt: z.string().optional().meta({ example: 'json;enum-encoding=int' }) });
const common = { tags: ['reports'], security: [{ readKey: [] }] };
export const REPORT_ROUTE = (method: string, body: z.ZodType, response: z.ZodType, version: 'v1beta' | 'v1alpha' = 'v1beta'): RouteConfig => ({
  ...common,
  method: 'post',
  path: `/${version}/properties/{propertyId}:${method}`,
  summary: `GA4 Data API ${version} ${method}, in GA4's JSON shape (https://developers.google.com/analytics/devguides/reporting/data/v1/rest)`,
  request: { params: path, query, body: { required: true, content: { 'application/json': { schema: body } } } },
  responses: { 200: json(response, `${method} response`), ...errors },
});

export const REPORT_API: RouteConfig[] = [
  REPORT_ROUTE('runReport', RunReportRequestSchema, RunReportResponseSchema),
  REPORT_ROUTE(
    'batchRunReports',
    BatchRunReportsRequestSchema,
    z.strictObject({ reports: z.array(RunReportResponseSchema), kind: z.literal('analyticsData#batchRunReports') }).meta({ id: 'BatchRunReportsResponse' }),
  ),
  REPORT_ROUTE('checkCompatibility', CheckCompatibilityRequestSchema, CheckCompatibilityResponseSchema),
  {
    ...common,
    method: 'get',
    path: '/v1beta/properties/{propertyId}/metadata',
    summary: "Dimensions and metrics in GA4's metadata shape",
    request: { params: path, query },
    responses: { 200: json(MetadataResponseSchema, 'Metadata'), ...errors },
  },
];

import { describe, expect, it } from 'vitest';
import { FUNNEL_REQUEST_KEYS, parseFunnelRequest } from './funnel-request.js';
import { RunFunnelReportRequestSchema, RunFunnelReportResponseSchema } from './funnel.api.js';

const ctx = { timeZone: 'UTC', now: new Date('2026-12-05T12:00:00Z') };

/**
 * The JSON names of the v1alpha messages (googleapis `google/analytics/data/v1alpha`
 * analytics_data_api.proto and data.proto, proto3 JSON mapping), written out here so that a
 * renamed field in the parser, the OpenAPI schema or the response fails this test.
 */
const PROTO = {
  RunFunnelReportRequest: [
    'property',
    'dateRanges',
    'funnel',
    'funnelBreakdown',
    'funnelNextAction',
    'funnelVisualizationType',
    'segments',
    'limit',
    'dimensionFilter',
    'returnPropertyQuota',
  ],
  Funnel: ['isOpenFunnel', 'steps'],
  FunnelStep: ['name', 'isDirectlyFollowedBy', 'withinDurationFromPriorStep', 'filterExpression'],
  FunnelFilterExpression: ['andGroup', 'orGroup', 'notExpression', 'funnelFieldFilter', 'funnelEventFilter'],
  FunnelEventFilter: ['eventName', 'funnelParameterFilterExpression'],
  FunnelBreakdown: ['breakdownDimension', 'limit'],
  FunnelNextAction: ['nextActionDimension', 'limit'],
  RunFunnelReportResponse: ['funnelTable', 'funnelVisualization', 'propertyQuota', 'kind'],
  FunnelSubReport: ['dimensionHeaders', 'metricHeaders', 'rows', 'metadata'],
};

const keys = (schema: unknown) => Object.keys((schema as { shape: Record<string, unknown> }).shape).sort();
const shape = RunFunnelReportRequestSchema.shape;

const VALID: unknown[] = [
  { dateRanges: [{ startDate: '7daysAgo', endDate: 'today' }], funnel: { steps: [{ filterExpression: { funnelEventFilter: { eventName: 'a' } } }] } },
  {
    property: 'properties/1',
    dateRanges: [{ startDate: '2026-11-01', endDate: '2026-11-30', name: 'nov' }],
    funnel: {
      isOpenFunnel: true,
      steps: [
        {
          name: 'First',
          filterExpression: {
            andGroup: {
              expressions: [
                {
                  funnelEventFilter: {
                    eventName: 'view',
                    funnelParameterFilterExpression: {
                      funnelParameterFilter: { eventParameterName: 'v', numericFilter: { operation: 5, value: { doubleValue: 1 } } },
                    },
                  },
                },
                { notExpression: { funnelFieldFilter: { fieldName: 'country', inListFilter: { values: ['Germany'] } } } },
              ],
            },
          },
        },
        {
          name: 'Then',
          isDirectlyFollowedBy: true,
          withinDurationFromPriorStep: '1.5s',
          filterExpression: { funnelFieldFilter: { fieldName: 'eventName', stringFilter: { value: 'buy' } } },
        },
      ],
    },
    funnelBreakdown: { breakdownDimension: { name: 'deviceCategory' }, limit: '3' },
    funnelNextAction: { nextActionDimension: { name: 'pagePath' }, limit: 2 },
    funnelVisualizationType: 'TRENDED_FUNNEL',
    limit: '100',
    dimensionFilter: { filter: { fieldName: 'country', stringFilter: { matchType: 'EXACT', value: 'Germany' } } },
    returnPropertyQuota: true,
  },
];

describe('runFunnelReport wire shape', () => {
  it("has the proto's field names in the parser and in /openapi.json", () => {
    expect([...FUNNEL_REQUEST_KEYS].sort()).toEqual([...PROTO.RunFunnelReportRequest].sort());
    expect(keys(RunFunnelReportRequestSchema)).toEqual([...PROTO.RunFunnelReportRequest].sort());
    expect(keys(shape.funnel)).toEqual([...PROTO.Funnel].sort());
    expect(keys((shape.funnel.shape.steps as any).element)).toEqual([...PROTO.FunnelStep].sort());
    expect(keys(shape.funnelBreakdown.unwrap())).toEqual([...PROTO.FunnelBreakdown].sort());
    expect(keys(shape.funnelNextAction.unwrap())).toEqual([...PROTO.FunnelNextAction].sort());
    expect(keys(RunFunnelReportResponseSchema)).toEqual([...PROTO.RunFunnelReportResponse].sort());
    expect(keys(RunFunnelReportResponseSchema.shape.funnelTable)).toEqual([...PROTO.FunnelSubReport].sort());
  });

  it('accepts in the schema every request the parser accepts, and refuses unknown fields in both', () => {
    for (const r of VALID) {
      expect(() => parseFunnelRequest(r, ctx)).not.toThrow();
      const parsed = RunFunnelReportRequestSchema.safeParse(r);
      expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
    }
    const unknown = { ...(VALID[0] as object), funnel: { steps: [{ filterExpression: { funnelEventFilter: { eventName: 'a', event: 'b' } } }] } };
    expect(() => parseFunnelRequest(unknown, ctx)).toThrow(/Unknown name "event"/);
    expect(RunFunnelReportRequestSchema.safeParse(unknown).success).toBe(false);
  });

  it('names steps as GA4 does ("1. Name") and reads durations as google.protobuf.Duration', () => {
    const r = parseFunnelRequest(VALID[1], ctx);
    expect(r.steps.map((s) => s.label)).toEqual(['1. First', '2. Then']);
    expect(r.steps[1]).toMatchObject({ directlyFollowed: true, withinMs: 1500 });
    expect(r).toMatchObject({ isOpenFunnel: true, trended: true, limit: 100, breakdown: { dimension: 'deviceCategory', limit: 3 } });
    for (const bad of ['5m', '-1s', '1.0000000001s', 300]) {
      expect(() =>
        parseFunnelRequest(
          { ...(VALID[0] as object), funnel: { steps: [{ withinDurationFromPriorStep: bad, filterExpression: { funnelEventFilter: { eventName: 'a' } } }] } },
          ctx,
        ),
      ).toThrow(/Duration/);
    }
  });
});

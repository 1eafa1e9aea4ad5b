import { expect, it } from 'vitest';
import { FUNNEL_USERS, scriptedFixture } from './funnel-fixture.testkit.js';
import { RunFunnelReportResponseSchema } from './funnel.api.js';
import { mergeFixtures } from './report-fixture.testkit.js';
import { onEveryWarehouse, WEEK } from './report-http.testkit.js';

/**
 * runFunnelReport against users scripted in funnel-fixture.testkit.ts (A–K), beside the generated
 * traffic of the same property. Every expected number below is worked out by hand from the
 * scripts: view → cart → buy.
 */
const fixture = mergeFixtures(
  scriptedFixture('t1', 'p1', FUNNEL_USERS),
  scriptedFixture('t2', 'p1', [{ id: 'J', device: 'mobile', events: FUNNEL_USERS[0].events }]),
);

const step = (name: string, eventName: string, extra: Record<string, unknown> = {}) => ({
  name,
  filterExpression: { funnelEventFilter: { eventName } },
  ...extra,
});
const STEPS = [step('View', 'f_view'), step('Cart', 'f_cart'), step('Buy', 'f_buy')];
const funnel = (extra: Record<string, unknown> = {}, steps: unknown[] = STEPS) => ({ ...WEEK, funnel: { steps }, ...extra });

type Json = { dimensionValues: { value: string }[]; metricValues: { value: string }[] };
const table = (json: any) =>
  (json.funnelTable.rows as Json[]).map((r) => [...r.dimensionValues.map((v) => v.value), ...r.metricValues.map((v) => Number(v.value))]);
const vis = (json: any) => (json.funnelVisualization.rows as Json[]).map((r) => [...r.dimensionValues.map((v) => v.value), Number(r.metricValues[0].value)]);

onEveryWarehouse(
  'runFunnelReport',
  (h) => {
    const run = async (body: unknown, token?: string) => {
      const res = await h.post('/v1alpha/properties/p1:runFunnelReport', body, token);
      expect(res.status, JSON.stringify(res.json)).toBe(200);
      return res.json;
    };

    it('closed funnel: users must enter at step 1 and every step follows the one before', async () => {
      const json = await run(funnel());
      // view: A B D E F G H (C never viewed, K viewed before the range, I is a bot)
      // cart after a view: A B F G H (E carted before viewing); buy after that cart: A F G
      expect(table(json)).toEqual([
        ['1. View', 7, 5 / 7, 2, 2 / 7],
        ['2. Cart', 5, 3 / 5, 2, 2 / 5],
        ['3. Buy', 3, 1, 0, 0],
      ]);
      expect(vis(json)).toEqual([
        ['1. View', 7],
        ['2. Cart', 5],
        ['3. Buy', 3],
      ]);
      expect(json.kind).toBe('analyticsData#runFunnelReport');
      // GA4's headers; the strict OpenAPI schema (proto field names) accepts the whole response
      expect(json.funnelTable.dimensionHeaders).toEqual([{ name: 'funnelStepName' }]);
      expect(json.funnelTable.metricHeaders.map((m: any) => m.name)).toEqual([
        'activeUsers',
        'funnelStepCompletionRate',
        'funnelStepAbandonments',
        'funnelStepAbandonmentRate',
      ]);
      const parsed = RunFunnelReportResponseSchema.safeParse(json);
      expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
      const quota = await run(funnel({ returnPropertyQuota: true }));
      expect(Object.keys(quota)).toEqual(['funnelTable', 'funnelVisualization', 'propertyQuota', 'kind']);
      expect(quota.propertyQuota.tokensPerDay.consumed).toBeGreaterThanOrEqual(1);
      expect(RunFunnelReportResponseSchema.safeParse(quota).success).toBe(true);
    });

    it('open funnel: users enter at any step; completion counts who went on from the step', async () => {
      const json = await run({ ...funnel(), funnel: { isOpenFunnel: true, steps: STEPS } });
      // cart: A B C E F G H K (8), of whom A C E F G bought after carting; buy: A C D E F G (6)
      expect(table(json)).toEqual([
        ['1. View', 7, 5 / 7, 2, 2 / 7],
        ['2. Cart', 8, 5 / 8, 3, 3 / 8],
        ['3. Buy', 6, 1, 0, 0],
      ]);
    });

    it('withinDurationFromPriorStep: a cart 600 s after the view is too late for 300 s; any chain that fits counts', async () => {
      const steps = [STEPS[0], step('Cart', 'f_cart', { withinDurationFromPriorStep: '300s' }), STEPS[2]];
      // F's cart is 600 s after its view; H's second view is 10 s before its cart
      expect(table(await run(funnel({}, steps))).map((r) => r.slice(0, 2))).toEqual([
        ['1. View', 7],
        ['2. Cart', 4],
        ['3. Buy', 2],
      ]);
      // inclusive at the bound: 600 s lets F through
      const at = [STEPS[0], step('Cart', 'f_cart', { withinDurationFromPriorStep: '600s' }), STEPS[2]];
      expect(table(await run(funnel({}, at))).map((r) => r[1])).toEqual([7, 5, 3]);
    });

    it('isDirectlyFollowedBy: the buy must be the very next event after the cart', async () => {
      const steps = [STEPS[0], STEPS[1], step('Buy', 'f_buy', { isDirectlyFollowedBy: true })];
      // G has f_other between cart and buy
      expect(table(await run(funnel({}, steps))).map((r) => r[1])).toEqual([7, 5, 2]);
    });

    it('breakdown: a RESERVED_TOTAL row, then the top values by first-step users', async () => {
      const json = await run(funnel({ funnelBreakdown: { breakdownDimension: { name: 'deviceCategory' }, limit: '2' } }));
      expect(json.funnelTable.dimensionHeaders).toEqual([{ name: 'funnelStepName' }, { name: 'deviceCategory' }]);
      expect(table(json)).toEqual([
        ['1. View', 'RESERVED_TOTAL', 7, 5 / 7, 2, 2 / 7],
        ['1. View', 'desktop', 4, 1, 0, 0],
        ['1. View', 'mobile', 2, 0, 2, 1],
        ['2. Cart', 'RESERVED_TOTAL', 5, 3 / 5, 2, 2 / 5],
        ['2. Cart', 'desktop', 4, 2 / 4, 2, 2 / 4],
        ['2. Cart', 'mobile', 0, 0, 0, 0],
        ['3. Buy', 'RESERVED_TOTAL', 3, 1, 0, 0],
        ['3. Buy', 'desktop', 2, 1, 0, 0],
        ['3. Buy', 'mobile', 0, 0, 0, 0],
      ]);
    });

    it("next action: each step's next event after the one that reached it, most common first", async () => {
      const json = await run(funnel({ funnelNextAction: { nextActionDimension: { name: 'eventName' } } }));
      expect(json.funnelVisualization.dimensionHeaders).toEqual([{ name: 'funnelStepName' }, { name: 'funnelStepNextAction' }]);
      expect(json.funnelVisualization.metricHeaders).toEqual([{ name: 'activeUsers', type: 'TYPE_INTEGER' }]);
      expect(vis(json)).toEqual([
        ['1. View', 'RESERVED_TOTAL', 7],
        ['1. View', 'f_cart', 3], // A B G
        ['1. View', 'f_buy', 2], // D, E
        ['1. View', 'f_other', 1], // F
        ['1. View', 'f_view', 1], // H's second view
        ['2. Cart', 'RESERVED_TOTAL', 5],
        ['2. Cart', 'f_buy', 2], // A F
        ['2. Cart', 'f_other', 1], // G
        ['3. Buy', 'RESERVED_TOTAL', 3],
      ]);
    });

    it('trended funnel: the visualization by the date each user reached the step', async () => {
      const json = await run(funnel({ funnelVisualizationType: 'TRENDED_FUNNEL' }));
      expect(json.funnelVisualization.dimensionHeaders).toEqual([{ name: 'funnelStepName' }, { name: 'date' }]);
      expect(vis(json)).toEqual([
        ['1. View', '20240302', 6],
        ['1. View', '20240303', 1],
        ['2. Cart', '20240302', 4],
        ['2. Cart', '20240303', 1],
        ['3. Buy', '20240302', 3],
      ]);
      // enum numbers as Google's REST clients send them, and read back under $alt=json;enum-encoding=int
      const asInt = await h.post('/v1alpha/properties/p1:runFunnelReport?$alt=json;enum-encoding=int', funnel({ funnelVisualizationType: 2 }));
      expect(asInt.json.funnelVisualization.rows).toEqual(json.funnelVisualization.rows);
      expect(asInt.json.funnelTable.metricHeaders.map((m: any) => m.type)).toEqual([1, 1, 1, 1]);
    });

    it('step filters: event parameters, field filters and not/or groups; dimensionFilter keeps only matching events', async () => {
      const bigBuy = {
        name: 'Big buy',
        filterExpression: {
          funnelEventFilter: {
            eventName: 'f_buy',
            funnelParameterFilterExpression: {
              funnelParameterFilter: { eventParameterName: 'value', numericFilter: { operation: 'GREATER_THAN_OR_EQUAL', value: { int64Value: '50' } } },
            },
          },
        },
      };
      // A (100), D ("80"), F (100); G and E bought for less (on the Redshift dialect too: the test
      // kit gives PostgreSQL Redshift's JSON_EXTRACT_PATH_TEXT over text)
      expect(table(await run(funnel({}, [STEPS[0], bigBuy]))).map((r) => r[1])).toEqual([7, 3]);
      const viewOrCart = {
        name: 'Any',
        filterExpression: {
          orGroup: {
            expressions: [
              { funnelFieldFilter: { fieldName: 'eventName', stringFilter: { value: 'f_view' } } },
              {
                andGroup: {
                  expressions: [
                    { funnelEventFilter: { eventName: 'f_cart' } },
                    { notExpression: { funnelFieldFilter: { fieldName: 'deviceCategory', inListFilter: { values: ['desktop'] } } } },
                  ],
                },
              },
            ],
          },
        },
      };
      // a view, or a non-desktop cart: A B C D E F G H K (C and K carted on mobile)
      expect(table(await run(funnel({}, [viewOrCart]))).map((r) => r[1])).toEqual([9]);
      const desktop = { dimensionFilter: { filter: { fieldName: 'deviceCategory', stringFilter: { value: 'desktop' } } } };
      expect(table(await run(funnel(desktop))).map((r) => r[1])).toEqual([4, 4, 2]);
    });

    it('several date ranges: a dateRange column last, each range its own funnel', async () => {
      const json = await run({ ...funnel(), dateRanges: [WEEK.dateRanges[0], { startDate: '2024-03-02', endDate: '2024-03-02', name: 'sat' }] });
      expect(json.funnelTable.dimensionHeaders.at(-1)).toEqual({ name: 'dateRange' });
      expect(table(json).map((r) => [r[0], r[1], r[2]])).toEqual([
        ['1. View', 'date_range_0', 7],
        ['1. View', 'sat', 6],
        ['2. Cart', 'date_range_0', 5],
        ['2. Cart', 'sat', 4],
        ['3. Buy', 'date_range_0', 3],
        ['3. Buy', 'sat', 3],
      ]);
    });

    it('tenants are walls: the same property id under another tenant is another funnel', async () => {
      const theirs = await run(funnel(), 'k-t2');
      expect(table(theirs).map((r) => r[1])).toEqual([1, 1, 1]); // J only
      const mine = await run(funnel());
      expect(table(mine).map((r) => r[1])).toEqual([7, 5, 3]);
      const stranger = await h.post('/v1alpha/properties/p1:runFunnelReport', funnel(), 'k-nobody');
      expect(stranger.status).toBe(401);
      const other = await h.post('/v1alpha/properties/p2:runFunnelReport', funnel());
      expect(other.status).toBe(404);
    });

    it('bad requests are 400 INVALID_ARGUMENT in Google’s shape', async () => {
      const bad = async (body: unknown, text: string) => {
        const res = await h.post('/v1alpha/properties/p1:runFunnelReport', body);
        expect(res.status).toBe(400);
        expect(res.json.error.status).toBe('INVALID_ARGUMENT');
        expect(res.json.error.message).toContain(text);
      };
      await bad({ ...WEEK }, 'funnel is required');
      await bad(funnel({}, []), 'at least one step');
      await bad(funnel({}, [step('x', 'f_view', { withinDurationFromPriorStep: '5 minutes' })]), 'google.protobuf.Duration');
      await bad(
        funnel({}, [{ name: 'x', filterExpression: { funnelFieldFilter: { fieldName: 'nope', stringFilter: { value: 'a' } } } }]),
        'nope is not a valid dimension',
      );
      await bad(funnel({ funnelBreakdown: { breakdownDimension: { name: 'deviceCategory' }, limit: 16 } }), 'cannot exceed 15');
      await bad(funnel({ funnelNextAction: { nextActionDimension: { name: 'country' } } }), 'nextActionDimension must be one of');
      await bad(funnel({ funnelVisualizationType: 'PIE' }), 'FunnelVisualizationType');
      await bad(funnel({ segments: [{}] }), 'segments');
      await bad(funnel({ surprise: 1 }), 'Unknown name "surprise"');
      await bad({ ...funnel(), property: 'properties/p9' }, 'does not match');
      // fields a funnel cannot read (first user, items) and custom dimensions the property has not defined
      const field = (fieldName: string) => [{ name: 'x', filterExpression: { funnelFieldFilter: { fieldName, stringFilter: { value: 'a' } } } }];
      await bad(funnel({}, field('firstUserSource')), 'cannot be used in a funnel step');
      await bad(funnel({}, field('itemName')), 'cannot be used in a funnel step');
      await bad(funnel({ funnelBreakdown: { breakdownDimension: { name: 'firstUserMedium' } } }), 'cannot be used as a funnel breakdownDimension');
      await bad(funnel({ dimensionFilter: { filter: { fieldName: 'firstUserSource', stringFilter: { value: 'a' } } } }), "funnel's dimensionFilter");
      await bad(funnel({}, field('customEvent:color')), 'customEvent:color is not a valid dimension');
    });
  },
  { extra: fixture, redshiftOnPostgres: true },
);

/**
 * Report token budgets per plan, in GA4's buckets (GA4-DEFINITIONS §C.16). `growth` is GA4's
 * standard property, `scale` GA4 360's; `free` a quarter of standard. One small table this module
 * owns: when billing's plan/entitlement definition carries report budgets, the composition root
 * passes its lookup as `budgetsFor` to the report router instead of `budgetsForPlan`.
 */
export interface QuotaBudget {
  tokensPerDay: number;
  tokensPerHour: number;
  /** Per caller ("project": a read key, or a signed-in member) per property per hour. */
  tokensPerProjectPerHour: number;
  concurrentRequests: number;
  serverErrorsPerProjectPerHour: number;
  potentiallyThresholdedRequestsPerHour: number;
}

export const QUOTA_BUDGETS: Readonly<Record<string, QuotaBudget>> = {
  free: {
    tokensPerDay: 50_000,
    tokensPerHour: 10_000,
    tokensPerProjectPerHour: 3_500,
    concurrentRequests: 10,
    serverErrorsPerProjectPerHour: 10,
    potentiallyThresholdedRequestsPerHour: 120,
  },
  growth: {
    tokensPerDay: 200_000,
    tokensPerHour: 40_000,
    tokensPerProjectPerHour: 14_000,
    concurrentRequests: 10,
    serverErrorsPerProjectPerHour: 10,
    potentiallyThresholdedRequestsPerHour: 120,
  },
  scale: {
    tokensPerDay: 2_000_000,
    tokensPerHour: 400_000,
    tokensPerProjectPerHour: 140_000,
    concurrentRequests: 50,
    serverErrorsPerProjectPerHour: 50,
    potentiallyThresholdedRequestsPerHour: 120,
  },
};

/** A plan's budget; an unknown or missing plan gets the free plan's. */
export function budgetsForPlan(planId: string | undefined): QuotaBudget {
  return (planId && Object.hasOwn(QUOTA_BUDGETS, planId) ? QUOTA_BUDGETS[planId] : undefined) ?? QUOTA_BUDGETS.free;
}

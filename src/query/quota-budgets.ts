import { FREE_PLAN_ID, planEntitlements, type ReportQuota } from '../domain/plans.js';

/** A property's report token budgets (GA4's buckets), one per plan in `src/domain/plans.ts`. */
export type QuotaBudget = ReportQuota;

/**
 * A plan's report token budgets, from the one plan definition (`reportQuota`); a missing plan
 * gets the free plan's, an unknown id the free plan's under its own id (`planEntitlements`).
 */
export function budgetsForPlan(planId: string | undefined): QuotaBudget {
  return planEntitlements(planId ?? FREE_PLAN_ID).reportQuota;
}

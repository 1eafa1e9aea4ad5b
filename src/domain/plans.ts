/**
 * The one definition of Tally's plans and what each allows (issue 12). Every gate reads these
 * numbers through `planEntitlements(planId)` (plan limits) or billing's `entitlementsFor(org)`
 * (the organisation's plan plus its billing state); no plan number is written anywhere else.
 *
 * It lives in `src/domain` because every feature must read it (ingest's quota and rate, tenancy's
 * property and member limits, lifecycle's retention, support's replay) and features may not import
 * one another (`lint/lanes.rule.js`); billing owns it (src/billing/README.md) and re-exports it.
 * The `plans` table only holds the plan ids (the organisations' foreign key) and the Stripe ids
 * `tally billing sync-plans` stored for them.
 */

/** The classes of data a plan keeps for a number of days (the lifecycle feature deletes after). */
export const DATA_CLASSES = ['events', 'raw', 'dead_letter'] as const;
export type DataClass = (typeof DATA_CLASSES)[number];

export const FEATURES = ['realtime', 'export', 'sql', 'replay'] as const;
export type Feature = (typeof FEATURES)[number];

/**
 * Report tokens of a property (GA4's property quota buckets, GA4-DEFINITIONS §C.16), enforced by
 * the report router (`src/query/property-quota.ts`). `growth` is GA4's standard property, `scale`
 * GA4 360's, `free` a quarter of standard.
 */
export interface ReportQuota {
  tokensPerDay: number;
  tokensPerHour: number;
  /** Per caller ("project": a read key, or a signed-in member) per property per hour. */
  tokensPerProjectPerHour: number;
  concurrentRequests: number;
  serverErrorsPerProjectPerHour: number;
  potentiallyThresholdedRequestsPerHour: number;
}

export interface Entitlements {
  planId: string;
  name: string;
  /** Flat monthly price, US cents (0: free, no Stripe price). */
  priceCents: number;
  /** Events a month the flat price includes. */
  monthlyEvents: number;
  /**
   * Events past `monthlyEvents` are accepted, stored and flagged `over_quota` up to this many times
   * `monthlyEvents`; past it ingest answers 429 `quota_exceeded` (GA4 MP: dead-lettered, 2xx).
   */
  hardCapFactor: number;
  /** Price of each 100,000 events over `monthlyEvents`, US cents (0: not billed, free plan). */
  overagePer100kCents: number;
  /** Token bucket of each property: refilled at `ratePerSecond`, holding `burst`. */
  ratePerSecond: number;
  burst: number;
  maxProperties: number;
  maxMembers: number;
  /** Days each class of data is kept. */
  retentionDays: Record<DataClass, number>;
  features: Record<Feature, boolean>;
  /** Report token budgets of each property. */
  reportQuota: ReportQuota;
}

export const PLANS: readonly Entitlements[] = Object.freeze([
  {
    planId: 'free',
    name: 'Free',
    priceCents: 0,
    monthlyEvents: 1_000_000,
    hardCapFactor: 2,
    overagePer100kCents: 0,
    ratePerSecond: 1_000,
    burst: 10_000,
    maxProperties: 3,
    maxMembers: 3,
    retentionDays: { events: 400, raw: 30, dead_letter: 14 },
    features: { realtime: true, export: false, sql: false, replay: false },
    reportQuota: {
      tokensPerDay: 50_000,
      tokensPerHour: 10_000,
      tokensPerProjectPerHour: 3_500,
      concurrentRequests: 10,
      serverErrorsPerProjectPerHour: 10,
      potentiallyThresholdedRequestsPerHour: 120,
    },
  },
  {
    planId: 'growth',
    name: 'Growth',
    priceCents: 9_900,
    monthlyEvents: 50_000_000,
    hardCapFactor: 2,
    overagePer100kCents: 100,
    ratePerSecond: 20_000,
    burst: 200_000,
    maxProperties: 50,
    maxMembers: 25,
    retentionDays: { events: 1_100, raw: 90, dead_letter: 30 },
    features: { realtime: true, export: true, sql: false, replay: true },
    reportQuota: {
      tokensPerDay: 200_000,
      tokensPerHour: 40_000,
      tokensPerProjectPerHour: 14_000,
      concurrentRequests: 10,
      serverErrorsPerProjectPerHour: 10,
      potentiallyThresholdedRequestsPerHour: 120,
    },
  },
  {
    planId: 'scale',
    name: 'Scale',
    priceCents: 99_900,
    monthlyEvents: 1_000_000_000,
    hardCapFactor: 2,
    overagePer100kCents: 50,
    ratePerSecond: 200_000,
    burst: 2_000_000,
    maxProperties: 1_000,
    maxMembers: 500,
    retentionDays: { events: 1_830, raw: 365, dead_letter: 90 },
    features: { realtime: true, export: true, sql: true, replay: true },
    reportQuota: {
      tokensPerDay: 2_000_000,
      tokensPerHour: 400_000,
      tokensPerProjectPerHour: 140_000,
      concurrentRequests: 50,
      serverErrorsPerProjectPerHour: 50,
      potentiallyThresholdedRequestsPerHour: 120,
    },
  },
] satisfies Entitlements[]);

/** The plan every organisation falls back to (cancelled subscriptions, unknown ids). */
export const FREE_PLAN_ID = 'free';

const BY_ID = new Map<string, Entitlements>(PLANS.map((p) => [p.planId, p]));

/**
 * Adds a plan to this process's definition (tests' small plans; the standard ones cannot be
 * replaced). Its id must also be a row of the `plans` table, in every process that serves it.
 */
export function registerPlan(plan: Entitlements): void {
  if (PLANS.some((p) => p.planId === plan.planId)) throw new Error(`plan ${plan.planId} is a standard plan`);
  BY_ID.set(plan.planId, Object.freeze({ ...plan }));
}

export function isPlanId(id: unknown): id is string {
  return typeof id === 'string' && BY_ID.has(id);
}

/**
 * What plan `planId` allows. An id the definition does not know (a row left by an older version)
 * gets the free plan's entitlements under its own id, never more.
 */
export function planEntitlements(planId: string): Entitlements {
  return BY_ID.get(planId) ?? { ...BY_ID.get(FREE_PLAN_ID)!, planId };
}

/** Events a month past which ingest refuses (429 `quota_exceeded`). */
export function hardCapOf(e: Pick<Entitlements, 'monthlyEvents' | 'hardCapFactor'>): number {
  return Math.floor(e.monthlyEvents * e.hardCapFactor);
}

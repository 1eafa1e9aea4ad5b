import type { Db } from '../infra/metadata/db.js';
import { TallyError } from '../infra/errors.js';
import { hardCapOf, planEntitlements, type Entitlements, type Feature } from '../domain/plans.js';

export { planEntitlements, hardCapOf, PLANS, FREE_PLAN_ID, isPlanId } from '../domain/plans.js';
export type { Entitlements, DataClass, Feature } from '../domain/plans.js';

/** An organisation's billing state, as the gates need it. */
export interface BillingState {
  /** Stripe's subscription status (`active`, `past_due`, `canceled`, …), or `none` (never subscribed / provider `none`). */
  status: string;
  /** When a payment failed and has not been paid since (ms), else null. */
  paymentFailedAt: number | null;
  /** When reports and exports close unless paid (ms), else null. */
  graceEndsAt: number | null;
  /** Reports and exports answer 403 (payment failed longer than the grace period ago). */
  readGated: boolean;
  cancelAtPeriodEnd: boolean;
  currentPeriodEnd: number | null;
}

export interface OrgEntitlements extends Entitlements {
  organizationId: string;
  /** Events a month past which ingest refuses. */
  hardCap: number;
  billing: BillingState;
}

/**
 * The entry point every feature reads an organisation's entitlements through:
 * `entitlementsFor(orgId)` = its plan's limits and features (`src/domain/plans.ts`) plus its
 * billing state. Cached per organisation for `cacheMs` (1 s), so a webhook's change counts in
 * every process within that; plan limits on the ingest path come from the credential cache,
 * reloaded by the credential-version poll when `organizations.plan_id` changes.
 */
export class EntitlementsReader {
  private readonly cache = new Map<string, { at: number; value: Promise<OrgEntitlements | null> }>();

  constructor(
    private readonly db: Db,
    private readonly opts: { graceMs: number; cacheMs?: number; now?: () => number },
  ) {}

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  async entitlementsFor(organizationId: string): Promise<OrgEntitlements | null> {
    const now = this.now();
    const hit = this.cache.get(organizationId);
    if (hit && now - hit.at < (this.opts.cacheMs ?? 1_000)) return hit.value;
    const value = readEntitlements(this.db, organizationId, this.opts.graceMs, now);
    this.cache.set(organizationId, { at: now, value });
    if (this.cache.size > 10_000) this.cache.delete(this.cache.keys().next().value!);
    value.catch(() => this.cache.delete(organizationId));
    return value;
  }

  /** Report and export access: 403 PERMISSION_DENIED naming billing after the grace period of a failed payment. */
  async assertReadAllowed(organizationId: string): Promise<void> {
    const e = await this.entitlementsFor(organizationId);
    if (e?.billing.readGated) {
      throw new TallyError(
        'permission_denied',
        `Billing: the organisation's payment failed on ${new Date(e.billing.paymentFailedAt!).toISOString().slice(0, 10)} and the grace period has ended; reports and exports reopen as soon as the invoice is paid (ingest continues).`,
        { reason: 'billing_payment_overdue' },
      );
    }
  }

  /**
   * The feature gate (`sql`, `replay`, `realtime`, `export`): 403 PERMISSION_DENIED, reason
   * `plan_feature_unavailable`, naming the plan and the feature, when the organisation's plan
   * does not include it. Read per organisation, so one tenant's plan never opens another's.
   */
  async assertFeature(organizationId: string, feature: Feature): Promise<void> {
    const e = await this.entitlementsFor(organizationId);
    if (!e) throw new TallyError('not_found', 'no such organisation', { reason: 'not_found' });
    featureGate(e, feature);
  }

  private readonly used = new Map<string, { at: number; value: Promise<number> }>();

  /** Events accepted this UTC month (usage_hourly; cached 10 s). */
  monthUsed(organizationId: string): Promise<number> {
    const now = this.now();
    const hit = this.used.get(organizationId);
    if (hit && now - hit.at < 10_000) return hit.value;
    const d = new Date(now);
    const from = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1));
    const value = this.db('usage_hourly')
      .where({ tenant_id: organizationId })
      .andWhere('hour', '>=', from)
      .sum({ n: 'events' })
      .then((r) => Number(r[0]?.n ?? 0));
    this.used.set(organizationId, { at: now, value });
    if (this.used.size > 10_000) this.used.delete(this.used.keys().next().value!);
    value.catch(() => this.used.delete(organizationId));
    return value;
  }

  /** A notice for report metadata (payment failed, over quota), or null. */
  async noticeFor(organizationId: string): Promise<string | null> {
    const e = await this.entitlementsFor(organizationId);
    if (!e) return null;
    if (e.billing.paymentFailedAt !== null)
      return `Billing: a payment failed; reports close on ${new Date(e.billing.graceEndsAt!).toISOString().slice(0, 10)} unless the invoice is paid.`;
    const monthUsed = await this.monthUsed(organizationId);
    if (monthUsed > e.monthlyEvents)
      return `Billing: this month's ${e.monthlyEvents} included events are used up; events are still accepted (flagged over_quota) up to ${e.hardCap}.`;
    return null;
  }
}

/** One organisation's entitlements now, from the metadata DB (no cache). */
export async function readEntitlements(db: Db, organizationId: string, graceMs: number, now = Date.now()): Promise<OrgEntitlements | null> {
  const r = await db('organizations as o')
    .leftJoin('billing_accounts as b', 'b.organization_id', 'o.id')
    .where('o.id', organizationId)
    .first('o.plan_id', 'b.status', 'b.payment_failed_at', 'b.cancel_at_period_end', 'b.current_period_end');
  if (!r) return null;
  const plan = planEntitlements(r.plan_id);
  const failed = r.payment_failed_at ? new Date(r.payment_failed_at).getTime() : null;
  const graceEndsAt = failed === null ? null : failed + graceMs;
  return {
    ...plan,
    organizationId,
    hardCap: hardCapOf(plan),
    billing: {
      status: r.status ?? 'none',
      paymentFailedAt: failed,
      graceEndsAt,
      readGated: graceEndsAt !== null && now >= graceEndsAt,
      cancelAtPeriodEnd: !!r.cancel_at_period_end,
      currentPeriodEnd: r.current_period_end ? new Date(r.current_period_end).getTime() : null,
    },
  };
}

const FEATURE_NAMES: Record<Feature, string> = { sql: 'SQL access', replay: 'replay', realtime: 'realtime reports', export: 'export' };

/** Throws 403 `plan_feature_unavailable` (naming the plan and the feature) unless `plan` includes `feature`. */
export function featureGate(plan: Pick<Entitlements, 'planId' | 'name' | 'features'>, feature: Feature): void {
  if (plan.features[feature]) return;
  throw new TallyError(
    'permission_denied',
    `The ${plan.name} plan (${plan.planId}) does not include ${FEATURE_NAMES[feature]} (feature "${feature}"); upgrade to a plan that does.`,
    { reason: 'plan_feature_unavailable', planId: plan.planId, feature },
  );
}

import type { Db } from '../infra/metadata/db.js';
import { TallyError } from '../infra/errors.js';
import { PLANS, isPlanId } from '../domain/plans.js';
import type { BillingProvider } from './billing-provider.js';
import { billingAccount, ownerEmails, planPrices } from './billing-accounts.js';
import type { EntitlementsReader } from './entitlements.js';

export const billingDisabled = () =>
  new TallyError('conflict', 'billing is off on this installation (no STRIPE_SECRET_KEY): every organisation is on its default plan', {
    reason: 'billing_disabled',
  });

/** Usage of one organisation this UTC month, by day, and its projection to the month's end. */
export interface UsageView {
  month: string;
  days: { date: string; events: number; deadLetters: number }[];
  total: number;
  projected: number;
}

/**
 * The billing use cases of the console and API: the organisation's plan, status and usage; a
 * Checkout session to change plan; a Customer Portal session; its invoices. The Stripe customer is
 * created on first need, with `metadata.tally_organization_id`.
 */
export class BillingService {
  constructor(private readonly deps: { db: Db; provider: BillingProvider; entitlements: EntitlementsReader; publicUrl: string; now?: () => number }) {}

  get enabled(): boolean {
    return this.deps.provider.kind !== 'none';
  }

  private async customerOf(organizationId: string): Promise<string> {
    const account = await billingAccount(this.deps.db, organizationId);
    if (account.stripe_customer_id) return account.stripe_customer_id;
    const org = await this.deps.db('organizations').where({ id: organizationId }).first('name');
    const [email] = await ownerEmails(this.deps.db, organizationId);
    const id = await this.deps.provider.createCustomer({ id: organizationId, name: org?.name ?? organizationId, email: email ?? null });
    // a concurrent request may have stored one first: keep that one
    await this.deps.db('billing_accounts').where({ organization_id: organizationId }).whereNull('stripe_customer_id').update({ stripe_customer_id: id });
    return (await this.deps.db('billing_accounts').where({ organization_id: organizationId }).first('stripe_customer_id')).stripe_customer_id;
  }

  async checkout(organizationId: string, planId: string): Promise<{ url: string }> {
    if (!this.enabled) throw billingDisabled();
    if (!isPlanId(planId) || !PLANS.find((p) => p.planId === planId)!.priceCents)
      throw new TallyError(
        'unprocessable',
        `planId: not a paid plan (${PLANS.filter((p) => p.priceCents)
          .map((p) => p.planId)
          .join(', ')})`,
        {
          reason: 'invalid_body',
          fields: { planId: 'not a paid plan' },
        },
      );
    const customerId = await this.customerOf(organizationId);
    const base = `${this.deps.publicUrl}/orgs/${encodeURIComponent(organizationId)}/billing`;
    const url = await this.deps.provider.checkoutUrl({
      customerId,
      organizationId,
      planId,
      prices: await planPrices(this.deps.db, planId),
      successUrl: `${base}?checkout=success`,
      cancelUrl: `${base}?checkout=canceled`,
    });
    return { url };
  }

  async portal(organizationId: string): Promise<{ url: string }> {
    if (!this.enabled) throw billingDisabled();
    const customerId = await this.customerOf(organizationId);
    return { url: await this.deps.provider.portalUrl(customerId, `${this.deps.publicUrl}/orgs/${encodeURIComponent(organizationId)}/billing`) };
  }

  async invoices(organizationId: string) {
    if (!this.enabled) return { invoices: [] };
    const account = await billingAccount(this.deps.db, organizationId);
    return { invoices: account.stripe_customer_id ? await this.deps.provider.invoices(account.stripe_customer_id) : [] };
  }

  async usage(organizationId: string): Promise<UsageView> {
    const now = (this.deps.now ?? Date.now)();
    const d = new Date(now);
    const from = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1));
    const to = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1));
    const rows = await this.deps
      .db('usage_hourly')
      .where({ tenant_id: organizationId })
      .andWhere('hour', '>=', from)
      .andWhere('hour', '<', to)
      .select('hour', 'events', 'dead_letters');
    const byDay = new Map<string, { events: number; deadLetters: number }>();
    for (const r of rows) {
      const day = new Date(r.hour).toISOString().slice(0, 10);
      const v = byDay.get(day) ?? { events: 0, deadLetters: 0 };
      v.events += Number(r.events);
      v.deadLetters += Number(r.dead_letters);
      byDay.set(day, v);
    }
    const days = [...byDay.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([date, v]) => ({ date, ...v }));
    const total = days.reduce((s, x) => s + x.events, 0);
    const elapsed = Math.max(now - from.getTime(), 3_600_000);
    return { month: from.toISOString().slice(0, 7), days, total, projected: Math.round((total * (to.getTime() - from.getTime())) / elapsed) };
  }

  /** What the billing page shows: plan, entitlements, status, usage against quota, the plans to move to. */
  async overview(organizationId: string) {
    const e = await this.deps.entitlements.entitlementsFor(organizationId);
    if (!e) throw new TallyError('not_found', 'no such organization', { reason: 'not_found' });
    const usage = await this.usage(organizationId);
    return {
      provider: this.deps.provider.kind,
      plan: { id: e.planId, name: e.name, priceCents: e.priceCents },
      entitlements: {
        monthlyEvents: e.monthlyEvents,
        hardCap: e.hardCap,
        ratePerSecond: e.ratePerSecond,
        burst: e.burst,
        maxProperties: e.maxProperties,
        maxMembers: e.maxMembers,
        retentionDays: e.retentionDays,
        features: e.features,
      },
      billing: {
        status: e.billing.status,
        paymentFailedAt: e.billing.paymentFailedAt === null ? null : new Date(e.billing.paymentFailedAt).toISOString(),
        graceEndsAt: e.billing.graceEndsAt === null ? null : new Date(e.billing.graceEndsAt).toISOString(),
        readGated: e.billing.readGated,
        cancelAtPeriodEnd: e.billing.cancelAtPeriodEnd,
        currentPeriodEnd: e.billing.currentPeriodEnd === null ? null : new Date(e.billing.currentPeriodEnd).toISOString(),
      },
      usage: { ...usage, overQuota: usage.total > e.monthlyEvents },
      plans: PLANS.map((p) => ({
        id: p.planId,
        name: p.name,
        priceCents: p.priceCents,
        monthlyEvents: p.monthlyEvents,
        overagePer100kCents: p.overagePer100kCents,
      })),
    };
  }
}

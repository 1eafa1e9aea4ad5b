import Stripe from 'stripe';
import { TallyError } from '../infra/errors.js';
import type { Entitlements } from '../domain/plans.js';
import type { BillingProvider, InvoiceView, PlanPrices } from './billing-provider.js';

export interface StripeSettings {
  secretKey: string;
  /** Another API host (stripe-mock in tests). */
  apiBase: URL | null;
  webhookSecret: string;
  meterEventName: string;
}

/** The stripe-node client for these settings (pointed at `apiBase` when set). */
export function stripeClient(s: Pick<StripeSettings, 'secretKey' | 'apiBase'>): Stripe {
  const base = s.apiBase;
  return new Stripe(s.secretKey, {
    maxNetworkRetries: 3,
    timeout: 20_000,
    ...(base
      ? { host: base.hostname, port: base.port || (base.protocol === 'https:' ? 443 : 80), protocol: base.protocol === 'https:' ? 'https' : 'http' }
      : {}),
  });
}

/** The Stripe ids Tally gives a plan's product and looks its prices up by. */
export const productIdOf = (planId: string) => `tally_plan_${planId}`;
export const lookupKeyOf = (plan: Entitlements, kind: 'flat' | 'overage') =>
  kind === 'flat' ? `tally_${plan.planId}_flat_${plan.priceCents}` : `tally_${plan.planId}_overage_${plan.monthlyEvents}_${plan.overagePer100kCents}`;

/** Provider `stripe`. */
export function stripeProvider(s: StripeSettings, client: Stripe = stripeClient(s)): BillingProvider {
  return {
    kind: 'stripe',

    async createCustomer(org) {
      const c = await client.customers.create(
        { name: org.name, ...(org.email ? { email: org.email } : {}), metadata: { tally_organization_id: org.id } },
        // two concurrent first checkouts of one organisation make one customer
        { idempotencyKey: `tally-customer-${org.id}` },
      );
      return c.id;
    },

    async checkoutUrl({ customerId, organizationId, planId, prices, successUrl, cancelUrl }) {
      if (!prices.priceId)
        throw new TallyError('conflict', `plan ${planId} has no Stripe price yet: run "tally billing sync-plans"`, { reason: 'plan_not_synced' });
      const metadata = { tally_organization_id: organizationId, tally_plan_id: planId };
      const session = await client.checkout.sessions.create({
        mode: 'subscription',
        customer: customerId,
        client_reference_id: organizationId,
        line_items: [{ price: prices.priceId, quantity: 1 }, ...(prices.overagePriceId ? [{ price: prices.overagePriceId }] : [])],
        success_url: successUrl,
        cancel_url: cancelUrl,
        metadata,
        subscription_data: { metadata },
      });
      if (!session.url) throw new TallyError('unavailable', 'Stripe returned a Checkout session without a URL');
      return session.url;
    },

    async portalUrl(customerId, returnUrl) {
      const p = await client.billingPortal.sessions.create({ customer: customerId, return_url: returnUrl });
      return p.url;
    },

    async invoices(customerId) {
      const list = await client.invoices.list({ customer: customerId, limit: 24 });
      return list.data.map((i): InvoiceView => ({
        id: i.id ?? '',
        number: i.number,
        status: i.status,
        amountDue: i.amount_due,
        currency: i.currency,
        created: new Date(i.created * 1000).toISOString(),
        hostedInvoiceUrl: i.hosted_invoice_url ?? null,
      }));
    },

    verifyWebhook(rawBody, signature) {
      if (!signature) throw new TallyError('invalid_argument', 'missing Stripe-Signature header', { reason: 'bad_signature' });
      try {
        const e = client.webhooks.constructEvent(rawBody, signature, s.webhookSecret);
        return { id: e.id, type: e.type, created: e.created, object: e.data.object as unknown as Record<string, any> };
      } catch (err) {
        throw new TallyError('invalid_argument', `webhook signature check failed: ${(err as Error).message}`, { reason: 'bad_signature' });
      }
    },

    async ensureMeter() {
      for await (const m of client.billing.meters.list({ status: 'active', limit: 100 })) if (m.event_name === s.meterEventName) return m.id;
      const m = await client.billing.meters.create(
        {
          display_name: 'Tally events',
          event_name: s.meterEventName,
          default_aggregation: { formula: 'sum' },
          customer_mapping: { type: 'by_id', event_payload_key: 'stripe_customer_id' },
          value_settings: { event_payload_key: 'value' },
        },
        { idempotencyKey: `tally-meter-${s.meterEventName}` },
      );
      return m.id;
    },

    async syncPlan(plan, meterId): Promise<PlanPrices> {
      const productId = productIdOf(plan.planId);
      const product = await client.products.retrieve(productId).catch((err: unknown) => {
        if ((err as { statusCode?: number }).statusCode === 404) return null;
        throw err;
      });
      const meta = { tally_plan_id: plan.planId };
      if (product) await client.products.update(productId, { name: `Tally ${plan.name}`, metadata: meta });
      else await client.products.create({ id: productId, name: `Tally ${plan.name}`, metadata: meta }, { idempotencyKey: `tally-product-${productId}` });
      if (plan.priceCents === 0) return { productId, priceId: null, overagePriceId: null };
      const price = async (kind: 'flat' | 'overage', params: Stripe.PriceCreateParams) => {
        const key = lookupKeyOf(plan, kind);
        const found = await client.prices.list({ lookup_keys: [key], active: true, limit: 1 });
        if (found.data[0]) return found.data[0].id;
        return (await client.prices.create({ ...params, lookup_key: key, metadata: meta }, { idempotencyKey: `tally-price-${key}` })).id;
      };
      const priceId = await price('flat', { product: productId, currency: 'usd', unit_amount: plan.priceCents, recurring: { interval: 'month' } });
      const overagePriceId = plan.overagePer100kCents
        ? await price('overage', {
            product: productId,
            currency: 'usd',
            recurring: { interval: 'month', usage_type: 'metered', meter: meterId },
            billing_scheme: 'tiered',
            tiers_mode: 'graduated',
            // the plan's events are included; each event past them costs 1/100,000 of the 100k price
            tiers: [
              { up_to: plan.monthlyEvents, unit_amount: 0 },
              { up_to: 'inf', unit_amount_decimal: (plan.overagePer100kCents / 100_000).toFixed(8) },
            ],
          })
        : null;
      return { productId, priceId, overagePriceId };
    },

    async sendMeterEvent(e) {
      await client.billing.meterEvents.create(
        {
          event_name: s.meterEventName,
          identifier: e.identifier,
          timestamp: e.timestamp,
          payload: { stripe_customer_id: e.customerId, value: String(e.value) },
        },
        { idempotencyKey: e.identifier },
      );
    },
  };
}

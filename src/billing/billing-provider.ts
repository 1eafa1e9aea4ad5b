import type { Entitlements } from '../domain/plans.js';

/** An invoice as the console lists it. */
export interface InvoiceView {
  id: string;
  number: string | null;
  status: string | null;
  /** US cents (or the invoice currency's minor unit). */
  amountDue: number;
  currency: string;
  created: string;
  hostedInvoiceUrl: string | null;
}

/** The Stripe ids of one plan, as `tally billing sync-plans` stored them. */
export interface PlanPrices {
  productId: string | null;
  priceId: string | null;
  overagePriceId: string | null;
}

/** A verified webhook event: Stripe's id, type, creation time (s) and object. */
export interface ProviderEvent {
  id: string;
  type: string;
  created: number;
  object: Record<string, any>;
}

/**
 * The billing provider port: `stripe` when STRIPE_SECRET_KEY is set (`stripe.provider.ts`), else
 * `none` (self-hosted: no customers, no checkout, every organisation on TALLY_DEFAULT_PLAN).
 */
export interface BillingProvider {
  readonly kind: 'stripe' | 'none';
  createCustomer(org: { id: string; name: string; email: string | null }): Promise<string>;
  /** A Checkout session (subscription mode) for `planId`'s prices; its URL. */
  checkoutUrl(input: {
    customerId: string;
    organizationId: string;
    planId: string;
    prices: PlanPrices;
    successUrl: string;
    cancelUrl: string;
  }): Promise<string>;
  portalUrl(customerId: string, returnUrl: string): Promise<string>;
  invoices(customerId: string): Promise<InvoiceView[]>;
  /** Checks the signature on the raw body; throws `invalid_argument` (400) when it is missing or wrong. */
  verifyWebhook(rawBody: Buffer, signature: string | null): ProviderEvent;
  /** Creates or updates the product and prices of a plan (idempotent); their ids. */
  syncPlan(plan: Entitlements, meterId: string): Promise<PlanPrices>;
  /** The usage meter's id (created when missing). */
  ensureMeter(): Promise<string>;
  /** One meter event; `identifier` makes Stripe count it once however often it is sent. */
  sendMeterEvent(e: { identifier: string; customerId: string; value: number; timestamp: number }): Promise<void>;
}

/** Provider `none`: billing is off; every call that needs a provider says so (409 `billing_disabled`). */
export function noBilling(disabled: () => Error): BillingProvider {
  const off = async (): Promise<never> => {
    throw disabled();
  };
  return {
    kind: 'none',
    createCustomer: off,
    checkoutUrl: off,
    portalUrl: off,
    invoices: async () => [],
    verifyWebhook: () => {
      throw disabled();
    },
    syncPlan: off,
    ensureMeter: off,
    sendMeterEvent: off,
  };
}

import type { Db } from '../infra/metadata/db.js';

/** The organisation's owners' e-mail addresses (billing notices go to them). */
export async function ownerEmails(db: Db, organizationId: string): Promise<string[]> {
  return db('memberships as m')
    .join('users as u', 'u.id', 'm.user_id')
    .where({ 'm.organization_id': organizationId, 'm.role': 'owner' })
    .orderBy('u.email')
    .pluck('u.email');
}

/** The Stripe ids `tally billing sync-plans` stored for a plan. */
export async function planPrices(db: Db, planId: string) {
  const r = await db('plans').where({ id: planId }).first('stripe_product_id', 'stripe_price_id', 'stripe_overage_price_id');
  return { productId: r?.stripe_product_id ?? null, priceId: r?.stripe_price_id ?? null, overagePriceId: r?.stripe_overage_price_id ?? null };
}

/** The plan whose flat or overage price is `priceId`, if any. */
export async function planOfPrice(db: Db, priceIds: string[]): Promise<string | null> {
  if (!priceIds.length) return null;
  const r = await db('plans').whereIn('stripe_price_id', priceIds).orWhereIn('stripe_overage_price_id', priceIds).first('id');
  return r?.id ?? null;
}

/** The organisation a Stripe customer id belongs to, if any. */
export async function orgOfCustomer(db: Db, customerId: string | null | undefined): Promise<string | null> {
  if (!customerId) return null;
  const r = await db('billing_accounts').where({ stripe_customer_id: customerId }).first('organization_id');
  return r?.organization_id ?? null;
}

/** The organisation's billing row, created empty when missing. */
export async function billingAccount(db: Db, organizationId: string): Promise<Record<string, any>> {
  await db('billing_accounts').insert({ organization_id: organizationId }).onConflict('organization_id').ignore();
  return db('billing_accounts').where({ organization_id: organizationId }).first();
}

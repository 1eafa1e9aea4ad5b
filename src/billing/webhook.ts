import type { Db } from '../infra/metadata/db.js';
import type { Logger } from '../infra/logger.js';
import type { Mailer } from '../infra/mailer/mailer.port.js';
import { FREE_PLAN_ID, isPlanId } from '../domain/plans.js';
import type { ProviderEvent } from './billing-provider.js';
import { billingAccount, orgOfCustomer, ownerEmails, planOfPrice } from './billing-accounts.js';

export const HANDLED_EVENTS = [
  'checkout.session.completed',
  'customer.subscription.created',
  'customer.subscription.updated',
  'customer.subscription.deleted',
  'invoice.paid',
  'invoice.payment_failed',
] as const;

/** What became of an event: applied, already seen, older than the state, for no known organisation, or not one we handle. */
export type WebhookOutcome = 'applied' | 'duplicate' | 'stale' | 'unknown_organization' | 'ignored';

/** Subscription statuses that keep the subscribed plan (past_due: the grace period runs, the plan stays). */
const LIVE = new Set(['active', 'trialing', 'past_due', 'unpaid']);

const idOf = (v: unknown): string | null => (typeof v === 'string' ? v : v && typeof v === 'object' && 'id' in v ? String((v as { id: unknown }).id) : null);

/**
 * Applies one verified Stripe event, once: the event id goes into `billing_webhook_events` in the
 * same transaction as its effect, so a redelivery finds it and changes nothing, and a failure
 * leaves neither (Stripe retries). A plan change writes `organizations.plan_id`, which bumps the
 * credential version: every collector and api process reloads its limits within the poll (~0.5 s).
 */
export async function applyWebhookEvent(
  db: Db,
  event: ProviderEvent,
  opts: { log?: Logger; mailer?: Mailer; graceDays?: number } = {},
): Promise<WebhookOutcome> {
  if (!(HANDLED_EVENTS as readonly string[]).includes(event.type)) return 'ignored';
  const mails: { to: string[]; subject: string; text: string }[] = [];
  const outcome = await db.transaction(async (tx) => {
    const o = event.object;
    const orgId = await resolveOrg(tx, o);
    const seen = await tx('billing_webhook_events')
      .insert({ id: event.id, type: event.type, organization_id: orgId, outcome: 'applied' })
      .onConflict('id')
      .ignore()
      .returning('id');
    if (!seen.length) return 'duplicate' as const;
    const mark = async (out: WebhookOutcome) => {
      if (out !== 'applied') await tx('billing_webhook_events').where({ id: event.id }).update({ outcome: out });
      return out;
    };
    if (!orgId) return mark('unknown_organization');
    const account = await billingAccount(tx, orgId);
    const customer = idOf(o.customer);
    if (customer && account.stripe_customer_id !== customer)
      await tx('billing_accounts').where({ organization_id: orgId }).update({ stripe_customer_id: customer });

    if (event.type === 'invoice.paid' || event.type === 'invoice.payment_failed') {
      if (event.created < Number(account.payment_state_at)) return mark('stale');
      const failed = event.type === 'invoice.payment_failed';
      await tx('billing_accounts')
        .where({ organization_id: orgId })
        .update({
          payment_state_at: event.created,
          // the grace period counts from the first failure until an invoice is paid
          payment_failed_at: failed ? (account.payment_failed_at ?? new Date(event.created * 1000)) : null,
          ...(failed ? { status: 'past_due' } : account.status === 'past_due' || account.status === 'unpaid' ? { status: 'active' } : {}),
          updated_at: tx.fn.now(),
        });
      if (failed && !account.payment_failed_at) {
        const days = opts.graceDays ?? 7;
        mails.push({
          to: await ownerEmails(tx, orgId),
          subject: 'Tally: a payment failed',
          text: `A payment for your Tally subscription failed. Reports and exports stay open for ${days} days; ingest continues. Update the payment method under Billing → Manage billing.`,
        });
      }
      return mark('applied');
    }

    // checkout and subscription events: ordered by the event's creation time
    if (event.created < Number(account.state_at)) return mark('stale');
    const sub = event.type === 'checkout.session.completed' ? null : o;
    const subscriptionId = sub ? String(sub.id) : idOf(o.subscription);
    const status = sub ? (event.type === 'customer.subscription.deleted' ? 'canceled' : String(sub.status)) : 'active';
    const metaPlan = o.metadata?.tally_plan_id;
    const priced = sub ? await planOfPrice(tx, (sub.items?.data ?? []).map((i: any) => idOf(i.price)).filter(Boolean)) : null;
    const subscribed = isPlanId(metaPlan) ? metaPlan : priced;
    const planId = LIVE.has(status) ? subscribed : status === 'canceled' || status === 'incomplete_expired' ? FREE_PLAN_ID : null;
    const periodEnd = sub?.items?.data?.[0]?.current_period_end ?? sub?.current_period_end ?? null;
    await tx('billing_accounts')
      .where({ organization_id: orgId })
      .update({
        // a Checkout completion does not order subscription events (its subscription was created just before it)
        state_at: sub ? event.created : account.state_at,
        status,
        ...(subscriptionId ? { stripe_subscription_id: subscriptionId } : {}),
        subscription_plan_id: status === 'canceled' ? null : (subscribed ?? account.subscription_plan_id),
        ...(sub ? { cancel_at_period_end: !!sub.cancel_at_period_end, current_period_end: periodEnd ? new Date(periodEnd * 1000) : null } : {}),
        updated_at: tx.fn.now(),
      });
    if (planId) await tx('organizations').where({ id: orgId }).whereNot({ plan_id: planId }).update({ plan_id: planId });
    opts.log?.info({ organizationId: orgId, event: event.type, status, planId }, 'billing state changed');
    return mark('applied');
  });
  for (const m of mails)
    for (const to of m.to) await opts.mailer?.send({ to, subject: m.subject, text: m.text }).catch((err) => opts.log?.warn({ err }, 'billing mail failed'));
  return outcome;
}

/** The organisation of an event's object: its metadata first, else its customer's billing row. */
async function resolveOrg(db: Db, o: Record<string, any>): Promise<string | null> {
  const candidates = [
    o.metadata?.tally_organization_id,
    o.subscription_details?.metadata?.tally_organization_id,
    o.parent?.subscription_details?.metadata?.tally_organization_id,
    o.client_reference_id,
  ];
  for (const c of candidates) {
    if (typeof c === 'string' && c && (await db('organizations').where({ id: c }).first('id'))) return c;
  }
  return orgOfCustomer(db, idOf(o.customer));
}

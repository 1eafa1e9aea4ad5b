import type { Db } from '../infra/metadata/db.js';
import type { Logger } from '../infra/logger.js';
import { metrics } from '../infra/metrics/metrics.js';
import { PLANS } from '../domain/plans.js';
import type { BillingProvider } from './billing-provider.js';

const HOUR = 3_600_000;
/** An hour is reported this long after it ends: the usage meters' last flushes (5 s) are in by then. */
const SETTLE_MS = 10 * 60_000;

/** The meter event identifier of an organisation's hour: `{orgId}-{YYYYMMDDHH}` (UTC). */
export function meterIdentifier(organizationId: string, hour: Date): string {
  return `${organizationId}-${hour.toISOString().slice(0, 13).replace(/[-T]/g, '')}`;
}

/**
 * Sends each settled hour's accepted events of every organisation with a Stripe customer as one
 * Billing Meter event, then records it in `billing_meter_reports`. The identifier (and the
 * Idempotency-Key) is the organisation and hour, so a run that crashes between Stripe's answer and
 * the record re-sends the same identifier and Stripe counts it once; a second run finds the record
 * and sends nothing. A failed send is left for the next run (the job runs hourly) and counted.
 */
export async function reportUsage(
  deps: { db: Db; provider: BillingProvider; log?: Logger; now?: () => number },
  hooks: { afterSend?: (identifier: string) => void | Promise<void> } = {},
): Promise<{ sent: number; failed: number; hours: number }> {
  const now = (deps.now ?? Date.now)();
  const until = new Date(Math.floor((now - SETTLE_MS) / HOUR) * HOUR);
  const rows = await deps
    .db('usage_hourly as u')
    .join('billing_accounts as b', 'b.organization_id', 'u.tenant_id')
    .leftJoin('billing_meter_reports as r', (j) => j.on('r.organization_id', 'u.tenant_id').andOn('r.hour', 'u.hour'))
    .whereNotNull('b.stripe_customer_id')
    .whereNull('r.identifier')
    .andWhere('u.hour', '<', until)
    .groupBy('u.tenant_id', 'u.hour', 'b.stripe_customer_id')
    .orderBy('u.hour')
    .select('u.tenant_id as organization_id', 'u.hour', 'b.stripe_customer_id as customer', deps.db.raw('sum(u.events) as events'));
  let sent = 0;
  let failed = 0;
  for (const r of rows) {
    const hour = new Date(r.hour);
    const identifier = meterIdentifier(r.organization_id, hour);
    const events = Number(r.events);
    try {
      await deps.provider.sendMeterEvent({ identifier, customerId: r.customer, value: events, timestamp: Math.floor(hour.getTime() / 1000) + 1_800 });
    } catch (err) {
      failed++;
      metrics.billingMeterEvent('failed');
      deps.log?.warn({ err, identifier }, 'meter event not sent; the next run retries it');
      continue;
    }
    await hooks.afterSend?.(identifier);
    await deps
      .db('billing_meter_reports')
      .insert({ organization_id: r.organization_id, hour, events, identifier })
      .onConflict(['organization_id', 'hour'])
      .ignore();
    metrics.billingMeterEvent('sent');
    sent++;
  }
  return { sent, failed, hours: rows.length };
}

export interface ReconcileRow {
  organizationId: string;
  counted: number;
  reported: number;
  difference: number;
}

/** What `usage_hourly` counted in a UTC month per organisation, what was reported to Stripe, and the difference. */
export async function reconcile(db: Db, month: string): Promise<ReconcileRow[]> {
  if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(month)) throw new Error(`--month: YYYY-MM, not ${JSON.stringify(month)}`);
  const [y, m] = month.split('-').map(Number);
  const from = new Date(Date.UTC(y, m - 1, 1));
  const to = new Date(Date.UTC(y, m, 1));
  const counted = await db('usage_hourly')
    .where('hour', '>=', from)
    .andWhere('hour', '<', to)
    .groupBy('tenant_id')
    .select('tenant_id', db.raw('sum(events) as n'));
  const reported = await db('billing_meter_reports')
    .where('hour', '>=', from)
    .andWhere('hour', '<', to)
    .groupBy('organization_id')
    .select('organization_id', db.raw('sum(events) as n'));
  const out = new Map<string, ReconcileRow>();
  const row = (id: string) => out.get(id) ?? out.set(id, { organizationId: id, counted: 0, reported: 0, difference: 0 }).get(id)!;
  for (const r of counted) row(r.tenant_id).counted = Number(r.n);
  for (const r of reported) row(r.organization_id).reported = Number(r.n);
  for (const r of out.values()) r.difference = r.counted - r.reported;
  return [...out.values()].sort((a, b) => a.organizationId.localeCompare(b.organizationId));
}

/** Creates or updates the Stripe products and prices of every plan and stores their ids (idempotent). */
export async function syncPlans(db: Db, provider: BillingProvider, progress?: (done: number, total: number) => void) {
  const meterId = await provider.ensureMeter();
  const out: { planId: string; productId: string | null; priceId: string | null; overagePriceId: string | null }[] = [];
  for (const plan of PLANS) {
    const ids = await provider.syncPlan(plan, meterId);
    await db('plans').insert({ id: plan.planId }).onConflict('id').ignore();
    await db('plans')
      .where({ id: plan.planId })
      .update({ stripe_product_id: ids.productId, stripe_price_id: ids.priceId, stripe_overage_price_id: ids.overagePriceId });
    out.push({ planId: plan.planId, ...ids });
    progress?.(out.length, PLANS.length);
  }
  return { meterId, plans: out };
}

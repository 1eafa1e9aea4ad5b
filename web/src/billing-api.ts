import { api } from './api';

/**
 * The billing API (`/api/orgs/{orgId}/billing…`, src/billing/README.md) as the console reads it,
 * and the one cached summary per organisation that the banners and the Billing page share.
 */
export interface BillingOverview {
  provider: 'stripe' | 'none' | string;
  plan: { id: string; name: string; priceCents: number };
  entitlements: { monthlyEvents: number; hardCap: number; maxProperties: number; maxMembers: number };
  billing: {
    status: string;
    paymentFailedAt: string | null;
    graceEndsAt: string | null;
    readGated: boolean;
    cancelAtPeriodEnd: boolean;
    currentPeriodEnd: string | null;
  };
  usage: { month: string; days: { date: string; events: number; deadLetters: number }[]; total: number; projected: number; overQuota: boolean };
  plans: { id: string; name: string; priceCents: number; monthlyEvents: number; overagePer100kCents: number }[];
}

export interface Invoice {
  id: string;
  number: string | null;
  status: string | null;
  amountDue: number;
  currency: string;
  created: string;
  hostedInvoiceUrl: string | null;
}

const base = (orgId: string) => `/api/orgs/${encodeURIComponent(orgId)}/billing`;

/** One summary per organisation, fetched at most once per 60 s (the banners read it on every page). */
const cache = new Map<string, { at: number; value: Promise<BillingOverview> }>();

export const billing = {
  overview(orgId: string, fresh = false): Promise<BillingOverview> {
    const hit = cache.get(orgId);
    if (hit && !fresh && Date.now() - hit.at < 60_000) return hit.value;
    const value = api.get<BillingOverview>(base(orgId));
    cache.set(orgId, { at: Date.now(), value });
    value.catch(() => cache.delete(orgId));
    return value;
  },
  invoices: async (orgId: string) => (await api.get<{ invoices: Invoice[] }>(`${base(orgId)}/invoices`)).invoices,
  checkout: (orgId: string, planId: string) => api.post<{ url: string }>(`${base(orgId)}/checkout`, { planId }),
  portal: (orgId: string) => api.post<{ url: string }>(`${base(orgId)}/portal`),
};

/** What the console warns about, from one summary: null when all is well. */
export function billingAlert(o: BillingOverview): { tone: 'warning' | 'error'; text: string } | null {
  const day = (iso: string | null) =>
    iso ? new Date(iso).toLocaleDateString('en-US', { year: 'numeric', month: 'short', day: 'numeric', timeZone: 'UTC' }) : '';
  if (o.billing.paymentFailedAt) {
    return o.billing.readGated
      ? {
          tone: 'error',
          text: `A payment failed and the grace period ended on ${day(o.billing.graceEndsAt)}: reports are blocked until the invoice is paid (events are still collected).`,
        }
      : { tone: 'warning', text: `A payment failed. Reports stay open until ${day(o.billing.graceEndsAt)} (grace period); pay the invoice to keep access.` };
  }
  const { total } = o.usage;
  const { monthlyEvents, hardCap } = o.entitlements;
  if (total >= hardCap)
    return {
      tone: 'error',
      text: `This month's events reached the hard cap (${fmtCount(hardCap)}): new events are being refused until next month or an upgrade.`,
    };
  if (total > monthlyEvents)
    return {
      tone: 'warning',
      text: `This month's events (${fmtCount(total)}) are past the ${o.plan.name} plan's ${fmtCount(monthlyEvents)}; events are still accepted up to ${fmtCount(hardCap)}.`,
    };
  return null;
}

export const fmtCount = (n: number) => new Intl.NumberFormat('en-US', { notation: n >= 100_000 ? 'compact' : 'standard', maximumFractionDigits: 1 }).format(n);

export const fmtMoney = (cents: number, currency = 'usd') =>
  new Intl.NumberFormat('en-US', { style: 'currency', currency: currency.toUpperCase(), minimumFractionDigits: cents % 100 ? 2 : 0 }).format(cents / 100);

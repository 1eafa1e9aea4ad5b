import { describe, expect, it } from 'vitest';
import { billingAlert, type BillingOverview } from './billing-api';

/** A summary as `GET /api/orgs/{orgId}/billing` answers it: free plan, 1M events, cap 2M. */
function overview(over: { total?: number; paymentFailedAt?: string | null; graceEndsAt?: string | null; readGated?: boolean } = {}): BillingOverview {
  return {
    provider: 'stripe',
    plan: { id: 'free', name: 'Free', priceCents: 0 },
    entitlements: { monthlyEvents: 1_000_000, hardCap: 2_000_000, maxProperties: 3, maxMembers: 3 },
    billing: {
      status: over.paymentFailedAt ? 'past_due' : 'active',
      paymentFailedAt: over.paymentFailedAt ?? null,
      graceEndsAt: over.graceEndsAt ?? null,
      readGated: over.readGated ?? false,
      cancelAtPeriodEnd: false,
      currentPeriodEnd: null,
    },
    usage: { month: '2026-12', days: [], total: over.total ?? 0, projected: 0, overQuota: (over.total ?? 0) > 1_000_000 },
    plans: [],
  };
}

describe('the console billing banner (billingAlert)', () => {
  it('says nothing within the quota, up to exactly the included events', () => {
    expect(billingAlert(overview({ total: 0 }))).toBeNull();
    expect(billingAlert(overview({ total: 1_000_000 }))).toBeNull();
  });

  it('warns past the quota that events are still accepted, up to the hard cap', () => {
    const a = billingAlert(overview({ total: 1_000_001 }));
    expect(a?.tone).toBe('warning');
    expect(a?.text).toMatch(/past the Free plan's 1M; events are still accepted up to 2M/);
  });

  it('at the hard cap says events are being refused', () => {
    const a = billingAlert(overview({ total: 2_000_000 }));
    expect(a).toEqual({ tone: 'error', text: expect.stringMatching(/reached the hard cap \(2M\): new events are being refused/) });
  });

  it('a failed payment: the grace period end, then reports blocked (ahead of any quota notice)', () => {
    const grace = overview({ total: 3_000_000, paymentFailedAt: '2026-12-01T00:00:00Z', graceEndsAt: '2026-12-08T00:00:00Z' });
    expect(billingAlert(grace)).toEqual({ tone: 'warning', text: expect.stringMatching(/A payment failed\. Reports stay open until Dec 8, 2026/) });
    const blocked = overview({ paymentFailedAt: '2026-12-01T00:00:00Z', graceEndsAt: '2026-12-08T00:00:00Z', readGated: true });
    expect(billingAlert(blocked)).toEqual({ tone: 'error', text: expect.stringMatching(/grace period ended on Dec 8, 2026: reports are blocked/) });
  });
});

import { z } from 'zod';
import { billingDisabled, type BillingService } from './billing.service.js';

/**
 * The billing routes, in the shape of the management API's route table (tenancy's `ApiRoute`):
 * the composition root hands them to the accounts router, which checks the session, CSRF, the
 * organisation wall and the permission (`billing.manage`: owners; `org.read`: every member, for
 * the read-only page), and lists them in OpenAPI and the permission matrix test.
 */
export interface BillingRoute {
  method: 'get' | 'post';
  path: string;
  access: 'billing.manage' | 'org.read';
  scope: 'org';
  body?: z.ZodType;
  summary: string;
  handler: (ctx: { orgId: string | null; body: any }) => Promise<unknown>;
}

export const CheckoutBody = z.strictObject({ planId: z.string().min(1).max(64) });

/** The routes; `null` (OpenAPI, provider-less listings) answers every call as billing being off. */
export function billingRoutes(service: BillingService | null): BillingRoute[] {
  const billing = {
    overview: (o: string) => must().overview(o),
    invoices: (o: string) => must().invoices(o),
    checkout: (o: string, p: string) => must().checkout(o, p),
    portal: (o: string) => must().portal(o),
  };
  const must = () => {
    if (!service) throw billingDisabled();
    return service;
  };
  return [
    {
      method: 'get',
      path: '/api/orgs/:orgId/billing',
      access: 'org.read',
      scope: 'org',
      summary: "The organisation's plan, entitlements, billing status and this month's usage by day (owners manage it; other members read it).",
      handler: async ({ orgId }) => billing.overview(orgId!),
    },
    {
      method: 'get',
      path: '/api/orgs/:orgId/billing/invoices',
      access: 'billing.manage',
      scope: 'org',
      summary: "The organisation's invoices, from Stripe (empty when billing is off).",
      handler: async ({ orgId }) => billing.invoices(orgId!),
    },
    {
      method: 'post',
      path: '/api/orgs/:orgId/billing/checkout',
      access: 'billing.manage',
      scope: 'org',
      body: CheckoutBody,
      summary: 'A Stripe Checkout session (subscription mode) for a paid plan: { url } to send the owner to. 409 billing_disabled without Stripe.',
      handler: async ({ orgId, body }) => billing.checkout(orgId!, body.planId),
    },
    {
      method: 'post',
      path: '/api/orgs/:orgId/billing/portal',
      access: 'billing.manage',
      scope: 'org',
      summary: 'A Stripe Customer Portal session (payment methods, invoices, cancellation): { url }. 409 billing_disabled without Stripe.',
      handler: async ({ orgId }) => billing.portal(orgId!),
    },
  ];
}

import { z } from 'zod';
import type { RouteConfig } from '@asteasolutions/zod-to-openapi';

const WebhookAnswer = z
  .strictObject({ received: z.literal(true), outcome: z.enum(['applied', 'duplicate', 'stale', 'unknown_organization', 'ignored']) })
  .meta({ id: 'StripeWebhookAnswer' });

/** The Stripe webhook (the billing routes under /api are documented with the management route table). */
export const BILLING_API: RouteConfig[] = [
  {
    method: 'post',
    path: '/webhooks/stripe',
    tags: ['billing'],
    security: [],
    summary: 'Stripe webhook events (checkout.session.completed, customer.subscription.*, invoice.paid, invoice.payment_failed)',
    description:
      'Signed by Stripe (Stripe-Signature over the raw body, STRIPE_WEBHOOK_SECRET). Each event id is applied once; an event older than the state it would change is ignored (`stale`).',
    request: { headers: z.object({ 'stripe-signature': z.string() }), body: { content: { 'application/json': { schema: z.object({}).passthrough() } } } },
    responses: {
      200: { description: 'Received', content: { 'application/json': { schema: WebhookAnswer } } },
      400: { description: 'Missing or bad signature (nothing changed)' },
      409: { description: 'Billing is off on this installation' },
    },
  },
];

import express, { type NextFunction, type Request, type Response } from 'express';
import type { Db } from '../infra/metadata/db.js';
import type { Logger } from '../infra/logger.js';
import type { Mailer } from '../infra/mailer/mailer.port.js';
import { sendErrorBody } from '../infra/error-body.js';
import { metrics } from '../infra/metrics/metrics.js';
import type { BillingProvider } from './billing-provider.js';
import { applyWebhookEvent } from './webhook.js';

/**
 * `POST /webhooks/stripe`: the body is read raw (the signature covers its exact bytes), checked
 * against STRIPE_WEBHOOK_SECRET (missing or wrong: 400, nothing changes), then applied once.
 * Answers 200 `{received, outcome}`; an error applying it answers 5xx so Stripe retries.
 */
export function createStripeWebhookRouter(deps: { db: Db; provider: BillingProvider; log: Logger; mailer?: Mailer; graceDays: number }): express.Router {
  const r = express.Router();
  r.post('/webhooks/stripe', express.raw({ type: () => true, limit: '1mb' }), async (req: Request, res: Response, next: NextFunction) => {
    try {
      const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const event = deps.provider.verifyWebhook(raw, req.get('stripe-signature') ?? null);
      const outcome = await applyWebhookEvent(deps.db, event, { log: deps.log, mailer: deps.mailer, graceDays: deps.graceDays });
      metrics.billingWebhook(event.type, outcome);
      res.json({ received: true, outcome });
    } catch (err) {
      next(err);
    }
  });
  r.use('/webhooks/stripe', (err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (!(err as { code?: string }).code) deps.log.error({ err }, 'stripe webhook failed');
    sendErrorBody(res, err);
  });
  return r;
}

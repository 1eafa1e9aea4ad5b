import type { Module, Parts } from './module.types.js';
import { openMailer } from './infra.factory.js';
import { noBilling, type BillingProvider } from '../billing/billing-provider.js';
import { stripeProvider } from '../billing/stripe.provider.js';
import { EntitlementsReader } from '../billing/entitlements.js';
import { BillingService, billingDisabled } from '../billing/billing.service.js';
import { billingRoutes } from '../billing/billing.routes.js';
import { QuotaNotifier } from '../billing/quota-notices.js';
import { createStripeWebhookRouter } from '../billing/webhook.router.js';
import type { Config } from '../infra/config/config.js';
import { reportUsage } from '../billing/usage-report.js';
import { dispatchPlanChanges } from '../billing/quota-redrive.js';

/** The billing provider of a configuration: Stripe when STRIPE_SECRET_KEY is set, else none. */
export function billingProvider(config: Config): BillingProvider {
  return config.billing.stripe ? stripeProvider(config.billing.stripe) : noBilling(billingDisabled);
}

/** Billing's core (no HTTP): provider, entitlements, the billing use cases, the quota e-mails. */
export const BILLING_MODULE: Module<'billing'> = {
  needs: ['db'],
  async start({ config, get, logger }): Promise<Parts['billing']> {
    const db = get('db');
    const provider = billingProvider(config);
    const entitlements = new EntitlementsReader(db, { graceMs: config.billing.graceMs });
    const mailer = await openMailer(config, logger);
    const service = new BillingService({ db, provider, entitlements, publicUrl: config.accounts.publicUrl });
    logger.debug({ provider: provider.kind, defaultPlan: config.billing.defaultPlan }, 'billing');
    return { provider, entitlements, service, notifier: new QuotaNotifier({ db, mailer, log: logger }), routes: billingRoutes(service), mailer };
  },
  stop: (b) => b.mailer.close(),
};

/** `POST /webhooks/stripe` on the api process (409 billing_disabled without Stripe). */
export const BILLING_WEBHOOK_MODULE: Module<'billingWebhook'> = {
  needs: ['db', 'billing'],
  start({ config, get, logger, http }) {
    const b = get('billing');
    http
      .app()
      .use(createStripeWebhookRouter({ db: get('db'), provider: b.provider, log: logger, mailer: b.mailer, graceDays: config.billing.graceMs / 86_400_000 }));
    return true as const;
  },
};

/** The worker's hourly usage report to Stripe (only with provider stripe); a failed hour is retried next time. */
export const BILLING_METER_MODULE: Module<'billingMeter'> = {
  needs: ['db', 'billing'],
  start({ get, logger }) {
    const b = get('billing');
    if (b.provider.kind !== 'stripe') return { timer: null };
    const run = () => void reportUsage({ db: get('db'), provider: b.provider, log: logger }).catch((err) => logger.warn({ err }, 'usage report failed'));
    const timer = setInterval(run, 3_600_000);
    timer.unref();
    setTimeout(run, 60_000).unref();
    return { timer };
  },
  stop: (p) => {
    if (p.timer) clearInterval(p.timer);
  },
};

/**
 * The worker's watch on plan changes (every 2 s): an upgrade whose hard cap is higher queues the
 * organisation's `quota-redrive` job, whatever changed the plan (webhook, `tally tenant set-plan`).
 */
export const BILLING_REDRIVE_MODULE: Module<'billingRedrive'> = {
  needs: ['db', 'jobs', 'pipeline'],
  start({ get, logger }) {
    let running = false;
    const run = () => {
      if (running) return;
      running = true;
      dispatchPlanChanges({ db: get('db'), jobs: get('jobs'), log: logger })
        .catch((err) => logger.warn({ err }, 'plan change dispatch failed; retried in 2 s'))
        .finally(() => (running = false));
    };
    const timer = setInterval(run, 2_000);
    timer.unref();
    run();
    return { timer };
  },
  stop: (p) => clearInterval(p.timer),
};

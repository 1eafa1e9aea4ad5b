import type { Db } from '../infra/metadata/db.js';
import type { Logger } from '../infra/logger.js';
import type { Mailer } from '../infra/mailer/mailer.port.js';
import { metrics } from '../infra/metrics/metrics.js';
import { ownerEmails } from './billing-accounts.js';

export type QuotaThreshold = 80 | 100 | 'cap';

const TEXT: Record<string, (quota: number) => { subject: string; text: string }> = {
  '80': (q) => ({
    subject: 'Tally: 80 % of this month’s events used',
    text: `Your organisation has used 80 % of the ${q.toLocaleString('en')} events its plan includes this month. Events past the plan are still accepted (billed as overage on paid plans) up to a hard cap.`,
  }),
  '100': (q) => ({
    subject: 'Tally: this month’s included events are used up',
    text: `Your organisation has used all ${q.toLocaleString('en')} events its plan includes this month. Nothing is thrown away: further events are accepted and flagged over_quota up to the hard cap. Upgrade under Billing to raise the quota.`,
  }),
  cap: (q) => ({
    subject: 'Tally: the monthly hard cap is reached, events are refused',
    text: `Your organisation has reached its hard cap (twice the ${q.toLocaleString('en')} events its plan includes). Further events are refused (429 quota_exceeded; GA4 Measurement Protocol events are kept in the dead-letter output and can be re-driven after an upgrade). Upgrade under Billing.`,
  }),
};

/**
 * The quota e-mails (ingest's `QuotaObserver`): the owners are written to at 80 %, 100 % and the
 * hard cap, once each per organisation and month however many processes see the crossing (the
 * `billing_notices` row is the once). Never throws; failures are logged.
 */
export class QuotaNotifier {
  constructor(private readonly deps: { db: Db; mailer: Mailer; log: Logger }) {}

  crossed(c: { tenantId: string; month: string; threshold: QuotaThreshold; used: number; quota: number }): void {
    void this.notify(c).catch((err) => this.deps.log.warn({ err, organizationId: c.tenantId, threshold: c.threshold }, 'quota notice failed'));
  }

  /** Sends the notice unless it was sent this month; true when this call sent it. */
  async notify(c: { tenantId: string; month: string; threshold: QuotaThreshold; quota: number }): Promise<boolean> {
    const threshold = String(c.threshold);
    const inserted = await this.deps
      .db('billing_notices')
      .insert({ organization_id: c.tenantId, month: c.month, threshold })
      .onConflict(['organization_id', 'month', 'threshold'])
      .ignore()
      .returning('threshold');
    if (!inserted.length) return false;
    try {
      const m = TEXT[threshold](c.quota);
      for (const to of await ownerEmails(this.deps.db, c.tenantId)) await this.deps.mailer.send({ to, ...m });
    } catch (err) {
      // not sent: let the next crossing (or process) try again
      await this.deps.db('billing_notices').where({ organization_id: c.tenantId, month: c.month, threshold }).delete();
      throw err;
    }
    metrics.billingQuotaNotice(threshold);
    return true;
  }
}

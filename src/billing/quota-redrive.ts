import type { Db } from '../infra/metadata/db.js';
import type { Logger } from '../infra/logger.js';
import type { JobContext, JobQueue } from '../infra/jobs/job-queue.port.js';
import { hardCapOf, planEntitlements } from '../domain/plans.js';

/** Support's dead-letter redrive of one property (a port: billing never imports support; wired by src/server). */
export type DeadLetterRedrive = (input: {
  propertyId: string;
  reason: string;
  from: string;
  to: string;
  note: string;
}) => Promise<{ letters: number; appended: number; alreadyRedriven: number }>;

export interface QuotaRedriveInput {
  organizationId: string;
  /** The UTC month whose `quota_exceeded` letters are re-driven, `YYYY-MM` (the month of the plan change). */
  month: string;
}

export interface QuotaRedriveResult {
  organizationId: string;
  month: string;
  properties: number;
  letters: number;
  appended: number;
  alreadyRedriven: number;
}

/** The job's name in the queue (worker role). */
export const QUOTA_REDRIVE_JOB = 'quota-redrive';

/**
 * Takes the plan changes the trigger on `organizations.plan_id` recorded (migration
 * 20261207100000) and not yet handled: each one whose new plan's hard cap is higher queues the
 * organisation's `quota-redrive` job for the month of the change. A change is claimed (marked
 * handled) before it is queued, so two workers never both queue it; a failed enqueue releases it.
 */
export async function dispatchPlanChanges(deps: { db: Db; jobs: JobQueue; log: Logger }): Promise<number> {
  const pending = await deps
    .db('plan_changes')
    .whereNull('handled_at')
    .orderBy('id')
    .limit(100)
    .select('id', 'organization_id', 'from_plan_id', 'to_plan_id', 'changed_at');
  let queued = 0;
  for (const c of pending) {
    const claimed = await deps.db('plan_changes').where({ id: c.id }).whereNull('handled_at').update({ handled_at: deps.db.fn.now() });
    if (!claimed) continue;
    if (hardCapOf(planEntitlements(c.to_plan_id)) <= hardCapOf(planEntitlements(c.from_plan_id))) continue;
    const month = new Date(c.changed_at).toISOString().slice(0, 7);
    try {
      await deps.jobs.enqueue(QUOTA_REDRIVE_JOB, { organizationId: c.organization_id, month } satisfies QuotaRedriveInput, {
        jobId: `${QUOTA_REDRIVE_JOB}-${c.id}`,
        attempts: 5,
      });
      queued++;
      deps.log.info(
        { organizationId: c.organization_id, from: c.from_plan_id, to: c.to_plan_id, month },
        'plan upgrade: re-driving quota_exceeded dead letters',
      );
    } catch (err) {
      await deps.db('plan_changes').where({ id: c.id }).update({ handled_at: null });
      throw err;
    }
  }
  return queued;
}

/**
 * `quota-redrive` (`{organizationId, month}`): every property of that one organisation gets its
 * `quota_exceeded` dead letters of the month re-driven through support's redrive (today's rules,
 * once per letter: a second run appends nothing), which counts them in `usage_hourly`. Waits for
 * the archiver first (`caughtUp`), so letters refused just before the upgrade are in the dead-letter
 * zone when it looks.
 */
export function quotaRedriveJob(deps: { db: Db; redrive: DeadLetterRedrive; caughtUp?: () => Promise<void>; now?: () => number }) {
  return async (ctx: JobContext<QuotaRedriveInput>): Promise<QuotaRedriveResult> => {
    const { organizationId, month } = ctx.data;
    if (!/^\d{4}-\d{2}$/.test(month ?? '')) throw new Error(`quota-redrive: month YYYY-MM expected, got ${JSON.stringify(month)}`);
    await deps.caughtUp?.();
    const [y, m] = month.split('-').map(Number);
    const from = `${month}-01`;
    const last = new Date(Date.UTC(y, m, 0)).toISOString().slice(0, 10);
    const today = new Date((deps.now ?? Date.now)()).toISOString().slice(0, 10);
    const to = last < today ? last : today < from ? from : today;
    const properties = await deps.db('properties').where({ organization_id: organizationId }).orderBy('id').select('id');
    const result: QuotaRedriveResult = { organizationId, month, properties: properties.length, letters: 0, appended: 0, alreadyRedriven: 0 };
    for (const [i, p] of properties.entries()) {
      const r = await deps.redrive({
        propertyId: String(p.id),
        reason: 'quota_exceeded',
        from,
        to,
        note: `plan upgrade: ${month}'s quota_exceeded dead letters`,
      });
      result.letters += r.letters;
      result.appended += r.appended;
      result.alreadyRedriven += r.alreadyRedriven;
      ctx.progress(i + 1, properties.length, 'properties');
    }
    return result;
  };
}

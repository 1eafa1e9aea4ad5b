import type { Db } from '../infra/metadata/db.js';
import { TallyError } from '../infra/errors.js';
import { planEntitlements } from '../domain/plans.js';

/**
 * The plan's member limit (`maxMembers` of `src/domain/plans.ts`): 403 `plan_limit_members`,
 * naming the plan and its limit, when the organisation already has that many members. Called when
 * inviting and, under a lock on the organisation row (`tx`), when an invitation is accepted, so
 * concurrent acceptances cannot pass it together. Read per organisation: one tenant's plan never
 * counts another's members.
 */
export async function assertMemberRoom(db: Db, organizationId: string, opts: { lock?: boolean } = {}): Promise<void> {
  const q = db('organizations').where({ id: organizationId });
  const org = await (opts.lock ? q.forUpdate() : q).first('plan_id');
  if (!org) return; // the caller answers for a missing organisation
  const plan = planEntitlements(org.plan_id);
  const [{ n }] = await db('memberships').where({ organization_id: organizationId }).count({ n: '*' });
  if (Number(n) < plan.maxMembers) return;
  throw new TallyError(
    'permission_denied',
    `The ${plan.name} plan (${plan.planId}) allows ${plan.maxMembers} members and the organisation has ${Number(n)}; remove a member or upgrade.`,
    { reason: 'plan_limit_members', planId: plan.planId, limit: plan.maxMembers },
  );
}

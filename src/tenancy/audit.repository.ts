import type { Db } from '../infra/metadata/db.js';
import { TallyError } from '../infra/errors.js';

/** Who did something: a signed-in member, support staff (with a reason), or the local operator (CLI). */
export interface Actor {
  kind: 'user' | 'staff' | 'operator';
  userId?: string | null;
  ip?: string | null;
  reason?: string | null;
}

export interface AuditEntry {
  organizationId: string;
  action: string;
  targetType: string;
  targetId?: string | null;
  before?: unknown;
  after?: unknown;
}

/** Appends to the audit log (the table refuses UPDATE and DELETE by trigger). */
export async function appendAudit(db: Db, actor: Actor, e: AuditEntry): Promise<void> {
  await db('audit_log').insert({
    organization_id: e.organizationId,
    actor_user_id: actor.userId ?? null,
    actor_kind: actor.kind,
    action: e.action,
    target_type: e.targetType,
    target_id: e.targetId ?? null,
    ip: actor.ip ?? null,
    before: e.before === undefined ? null : JSON.stringify(e.before),
    after: e.after === undefined ? null : JSON.stringify(e.after),
    reason: actor.reason ?? null,
  });
}

export interface AuditPage {
  entries: {
    id: string;
    time: string;
    actor: { kind: string; userId: string | null; email: string | null };
    ip: string | null;
    action: string;
    target: { type: string; id: string | null };
    before: unknown;
    after: unknown;
    reason: string | null;
  }[];
  nextCursor: string | null;
}

/** Newest first; `cursor` is the `nextCursor` of the page before. */
export async function listAudit(db: Db, organizationId: string, cursor: string | undefined, limit = 50): Promise<AuditPage> {
  if (cursor !== undefined && !/^\d{1,18}$/.test(cursor))
    throw new TallyError('invalid_argument', 'cursor: not a cursor of this list', { reason: 'invalid_cursor' });
  const q = db('audit_log as a')
    .leftJoin('users as u', 'u.id', 'a.actor_user_id')
    .where('a.organization_id', organizationId)
    .orderBy('a.id', 'desc')
    .limit(limit + 1)
    .select('a.*', 'u.email as actor_email');
  if (cursor) q.andWhere('a.id', '<', cursor);
  const rows = await q;
  const page = rows.slice(0, limit);
  return {
    entries: page.map((r) => ({
      id: String(r.id),
      time: new Date(r.created_at).toISOString(),
      actor: { kind: r.actor_kind, userId: r.actor_user_id, email: r.actor_email ?? null },
      ip: r.ip,
      action: r.action,
      target: { type: r.target_type, id: r.target_id },
      before: r.before,
      after: r.after,
      reason: r.reason,
    })),
    nextCursor: rows.length > limit ? String(page[page.length - 1].id) : null,
  };
}

import type { Db } from '../infra/metadata/db.js';
import { TallyError } from '../infra/errors.js';
import { DEFAULT_PROPERTY_SETTINGS } from '../domain/property-settings.js';
import { appendAudit, type Actor } from './audit.repository.js';
import { consumeToken, issueToken, peekToken } from './auth-token.repository.js';
import { installSnippets } from './install-snippets.js';
import { TtlCache } from './ttl-cache.js';
import { UserAccounts } from './user-accounts.js';
import { planEntitlements } from '../domain/plans.js';
import { assertMemberRoom } from './member-limit.js';
import type { Role } from './permissions.js';
import { displayPrefix, hashSecret, newId, newMeasurementId, newSecret, type KeyScope } from './secrets.js';
import { iso, keyView, settingsOf, type KeyView, type OrgView } from './tenancy.views.js';

const HOUR = 3_600_000;
const INVITATION_TTL = 7 * 24 * HOUR;

export interface PropertyInput {
  name?: string;
  domain?: string;
  timeZone?: string;
  currencyCode?: string;
  sessionTimeoutMinutes?: number;
  engagedSessionSeconds?: number;
  keyEvents?: string[];
  /** Hosts browser hits may come from (`*.acme.test` for subdomains); empty: the domain and its subdomains. */
  allowedHostnames?: string[];
}

/**
 * The accounts and tenancy operations, each with its rules and its audit record. The JSON API and
 * the CLI (`tally user|org|key|tenant …`) both call these, so they behave the same.
 */
export class TenancyService extends UserAccounts {
  // ---- organisations -----------------------------------------------------------------------

  async memberships(userId: string): Promise<{ organizationId: string; role: Role }[]> {
    const rows = await this.db('memberships').where({ user_id: userId }).orderBy('created_at').select('organization_id', 'role');
    return rows.map((r) => ({ organizationId: r.organization_id, role: r.role }));
  }

  /**
   * The user's role in the organisation. Cached for a second per process (the guard of every
   * cookie request); changes made here clear it at once, elsewhere they count within a second.
   */
  async roleIn(userId: string, organizationId: string): Promise<Role | null> {
    const key = `${userId}\u0000${organizationId}`;
    const hit = this.roles.get(key);
    if (hit !== undefined) return hit;
    const r = await this.db('memberships').where({ user_id: userId, organization_id: organizationId }).first('role');
    this.roles.set(key, r?.role ?? null);
    return r?.role ?? null;
  }

  private readonly roles = new TtlCache<Role | null>(1_000);

  async orgExists(organizationId: string): Promise<boolean> {
    return !!(await this.db('organizations').where({ id: organizationId }).first('id'));
  }

  async getOrg(organizationId: string): Promise<OrgView | null> {
    const r = await this.db('organizations').where({ id: organizationId }).first();
    if (!r) return null;
    const plan = planEntitlements(r.plan_id);
    return {
      id: r.id,
      name: r.name,
      plan: {
        id: plan.planId,
        name: plan.name,
        monthlyEventQuota: plan.monthlyEvents,
        rateLimitPerSecond: plan.ratePerSecond,
        maxProperties: plan.maxProperties,
      },
      createdAt: iso(r.created_at)!,
    };
  }

  async listOrgs(userId: string): Promise<(OrgView & { role: Role })[]> {
    const out: (OrgView & { role: Role })[] = [];
    for (const m of await this.memberships(userId)) {
      const o = await this.getOrg(m.organizationId);
      if (o) out.push({ ...o, role: m.role });
    }
    return out;
  }

  /** Every organisation (operator and staff listing). */
  async allOrgs(): Promise<(OrgView & { members: number; properties: number })[]> {
    const rows = await this.db('organizations').orderBy('created_at').select('id');
    const out = [];
    for (const r of rows) {
      const o = (await this.getOrg(r.id))!;
      const [{ n: members }] = await this.db('memberships').where({ organization_id: r.id }).count({ n: '*' });
      const [{ n: properties }] = await this.db('properties').where({ organization_id: r.id }).count({ n: '*' });
      out.push({ ...o, members: Number(members), properties: Number(properties) });
    }
    return out;
  }

  async createOrg(actor: Actor, input: { name: string; ownerId: string; planId?: string }, db: Db = this.db): Promise<OrgView> {
    const id = newId();
    await db.transaction(async (tx) => {
      await tx('organizations').insert({ id, name: input.name, plan_id: input.planId ?? this.defaultPlanId });
      await tx('memberships').insert({ organization_id: id, user_id: input.ownerId, role: 'owner' });
      await appendAudit(tx, actor, {
        organizationId: id,
        action: 'organization.create',
        targetType: 'organization',
        targetId: id,
        after: { name: input.name, planId: input.planId ?? this.defaultPlanId, owner: input.ownerId },
      });
    });
    return (await this.getOrg(id))!;
  }

  async updateOrg(actor: Actor, organizationId: string, patch: { name?: string }): Promise<OrgView> {
    const before = await this.getOrg(organizationId);
    if (!before) throw notFound('organization');
    if (patch.name !== undefined) {
      await this.db.transaction(async (tx) => {
        await tx('organizations').where({ id: organizationId }).update({ name: patch.name });
        await appendAudit(tx, actor, {
          organizationId,
          action: 'organization.update',
          targetType: 'organization',
          targetId: organizationId,
          before: { name: before.name },
          after: { name: patch.name },
        });
      });
    }
    return (await this.getOrg(organizationId))!;
  }

  /** Deletes the organisation, its properties and keys (cascade); the route then hands the property ids to `onPropertiesDeleted`, which queues the erasure of their data (`purge-property`). */
  async deleteOrg(actor: Actor, organizationId: string): Promise<void> {
    this.roles.clear();
    const before = await this.getOrg(organizationId);
    if (!before) throw notFound('organization');
    await this.db.transaction(async (tx) => {
      const props = await tx('properties').where({ organization_id: organizationId }).select('id');
      await appendAudit(tx, actor, {
        organizationId,
        action: 'organization.delete',
        targetType: 'organization',
        targetId: organizationId,
        before: { ...before, properties: props.map((p) => String(p.id)) },
      });
      await tx('organizations').where({ id: organizationId }).del();
    });
  }

  // ---- members and invitations -------------------------------------------------------------

  async members(organizationId: string) {
    const rows = await this.db('memberships as m')
      .join('users as u', 'u.id', 'm.user_id')
      .where('m.organization_id', organizationId)
      .orderBy('m.created_at')
      .select('u.id', 'u.email', 'u.name', 'm.role', 'm.created_at');
    return rows.map((r) => ({ userId: r.id, email: r.email, name: r.name ?? null, role: r.role as Role, since: iso(r.created_at)! }));
  }

  async invite(actor: Actor, organizationId: string, input: { email: string; role: Role }): Promise<{ email: string; role: Role; expiresAt: string }> {
    if (input.role === 'owner' && (await this.roleIn(actor.userId ?? '', organizationId)) !== 'owner' && actor.kind !== 'operator') {
      throw new TallyError('permission_denied', 'only an owner can invite an owner', { reason: 'owner_only' });
    }
    await assertMemberRoom(this.db, organizationId);
    const email = input.email.toLowerCase();
    const token = await issueToken(this.db, {
      kind: 'invitation',
      email,
      organizationId,
      role: input.role,
      createdBy: actor.userId ?? undefined,
      ttlMs: INVITATION_TTL,
    });
    const org = await this.getOrg(organizationId);
    const link = `${this.publicUrl}/invitations/${token}`;
    await appendAudit(this.db, actor, {
      organizationId,
      action: 'member.invite',
      targetType: 'invitation',
      targetId: email,
      after: { email, role: input.role },
    });
    await this.mail({
      to: email,
      subject: `You are invited to ${org?.name ?? 'an organisation'} on Tally`,
      text: `You were invited as ${input.role}. Open this link to accept:\n\n${link}\n\nIt works for 7 days.`,
      link,
    });
    return { email, role: input.role, expiresAt: new Date(Date.now() + INVITATION_TTL).toISOString() };
  }

  /** The signed-in user joins with the invited role; the invitation must be for their e-mail. */
  async acceptInvitation(actor: Actor, user: { id: string; email: string }, token: string): Promise<{ organizationId: string; role: Role }> {
    this.roles.clear();
    const peek = await peekToken(this.db, 'invitation', token);
    // another person's invitation answers as an unknown one: a forwarded link does not work
    if (!peek || peek.email !== user.email.toLowerCase() || !peek.organization_id) throw notFound('invitation');
    const member = await this.db('memberships').where({ organization_id: peek.organization_id, user_id: user.id }).first('role');
    if (!member) await assertMemberRoom(this.db, peek.organization_id);
    const t = await consumeToken(this.db, 'invitation', token);
    if (!t) throw notFound('invitation');
    const organizationId = t.organization_id!;
    const role = t.role ?? 'viewer';
    await this.db.transaction(async (tx) => {
      const existing = await tx('memberships').where({ organization_id: organizationId, user_id: user.id }).first();
      if (existing) return;
      await assertMemberRoom(tx, organizationId, { lock: true });
      await tx('memberships').insert({ organization_id: organizationId, user_id: user.id, role });
      await appendAudit(tx, actor, { organizationId, action: 'member.join', targetType: 'member', targetId: user.id, after: { email: user.email, role } });
    });
    return { organizationId, role: ((await this.roleIn(user.id, organizationId)) ?? role) as Role };
  }

  async setRole(actor: Actor, organizationId: string, userId: string, role: Role): Promise<void> {
    this.roles.clear();
    await this.db.transaction(async (tx) => {
      const m = await tx('memberships').where({ organization_id: organizationId, user_id: userId }).forUpdate().first();
      if (!m) throw notFound('member');
      const actorRole = actor.userId ? (await tx('memberships').where({ organization_id: organizationId, user_id: actor.userId }).first())?.role : null;
      if ((role === 'owner' || m.role === 'owner') && actorRole !== 'owner' && actor.kind !== 'operator') {
        throw new TallyError('permission_denied', 'only an owner can grant or take the owner role', { reason: 'owner_only' });
      }
      if (m.role === 'owner' && role !== 'owner') await assertAnotherOwner(tx, organizationId, userId);
      await tx('memberships').where({ organization_id: organizationId, user_id: userId }).update({ role });
      await appendAudit(tx, actor, {
        organizationId,
        action: 'member.role',
        targetType: 'member',
        targetId: userId,
        before: { role: m.role },
        after: { role },
      });
    });
  }

  async removeMember(actor: Actor, organizationId: string, userId: string): Promise<void> {
    this.roles.clear();
    await this.db.transaction(async (tx) => {
      const m = await tx('memberships').where({ organization_id: organizationId, user_id: userId }).forUpdate().first();
      if (!m) throw notFound('member');
      const actorRole = actor.userId ? (await tx('memberships').where({ organization_id: organizationId, user_id: actor.userId }).first())?.role : null;
      if (m.role === 'owner' && actorRole !== 'owner' && actor.kind !== 'operator') {
        throw new TallyError('permission_denied', 'only an owner can remove an owner', { reason: 'owner_only' });
      }
      if (m.role === 'owner') await assertAnotherOwner(tx, organizationId, userId);
      await tx('memberships').where({ organization_id: organizationId, user_id: userId }).del();
      await appendAudit(tx, actor, { organizationId, action: 'member.remove', targetType: 'member', targetId: userId, before: { role: m.role } });
    });
  }

  // ---- properties --------------------------------------------------------------------------

  async propertyRow(propertyId: string): Promise<Record<string, any> | null> {
    if (!/^\d{1,18}$/.test(propertyId)) return null;
    return (await this.db('properties').where({ id: propertyId }).first()) ?? null;
  }

  propertyView(p: Record<string, any>) {
    return {
      id: String(p.id),
      organizationId: p.organization_id,
      name: p.name,
      domain: p.domain,
      measurementId: p.measurement_id,
      ...('site_id' in p ? { siteId: p.site_id } : {}),
      ...('allowed_hostnames' in p
        ? { allowedHostnames: typeof p.allowed_hostnames === 'string' ? JSON.parse(p.allowed_hostnames) : p.allowed_hostnames }
        : {}),
      timeZone: p.time_zone,
      currencyCode: p.currency_code,
      sessionTimeoutMinutes: Number(p.session_timeout_minutes),
      engagedSessionSeconds: Number(p.engaged_session_seconds),
      keyEvents: typeof p.key_events === 'string' ? JSON.parse(p.key_events) : p.key_events,
      createdAt: iso(p.created_at)!,
      installSnippets: installSnippets(this.publicUrl, { measurementId: p.measurement_id, siteId: p.site_id ?? null }),
    };
  }

  async listProperties(organizationId: string) {
    const rows = await this.db('properties').where({ organization_id: organizationId }).orderBy('id');
    return rows.map((p) => this.propertyView(p));
  }

  /**
   * A new property. An unverified owner may have one property in all; the plan caps the count.
   */
  async createProperty(
    actor: Actor,
    organizationId: string,
    input: PropertyInput & { name: string; domain: string },
    opts: { unverified?: boolean; db?: Db } = {},
  ) {
    const timeZone = input.timeZone ?? DEFAULT_PROPERTY_SETTINGS.timeZone;
    assertTimeZone(timeZone);
    const db = opts.db ?? this.db;
    const id = await db.transaction(async (tx) => {
      // lock the organisation so two concurrent creations cannot both pass the limits
      const org = await tx('organizations').where({ id: organizationId }).forUpdate().first('id', 'plan_id');
      if (!org) throw notFound('organization');
      const [{ n }] = await tx('properties').where({ organization_id: organizationId }).count({ n: '*' });
      if (opts.unverified && Number(n) >= 1) {
        throw new TallyError('permission_denied', 'verify your e-mail address to create more than one property', { reason: 'email_not_verified' });
      }
      const { maxProperties } = planEntitlements(org.plan_id);
      if (Number(n) >= maxProperties) throw new TallyError('permission_denied', `the plan allows ${maxProperties} properties`, { reason: 'plan_limit' });
      const [row] = await tx('properties')
        .insert({
          organization_id: organizationId,
          name: input.name,
          domain: input.domain,
          measurement_id: newMeasurementId(),
          time_zone: timeZone,
          ...(input.currencyCode ? { currency_code: input.currencyCode } : {}),
          ...(input.sessionTimeoutMinutes ? { session_timeout_minutes: input.sessionTimeoutMinutes } : {}),
          ...(input.engagedSessionSeconds ? { engaged_session_seconds: input.engagedSessionSeconds } : {}),
          ...(input.keyEvents ? { key_events: JSON.stringify(input.keyEvents) } : {}),
          ...(input.allowedHostnames ? { allowed_hostnames: JSON.stringify(input.allowedHostnames.map((h) => h.toLowerCase())) } : {}),
        })
        .returning('*');
      await appendAudit(tx, actor, { organizationId, action: 'property.create', targetType: 'property', targetId: String(row.id), after: settingsOf(row) });
      return String(row.id);
    });
    return this.propertyView((await db('properties').where({ id }).first())!);
  }

  async updateProperty(actor: Actor, propertyId: string, patch: PropertyInput) {
    if (patch.timeZone) assertTimeZone(patch.timeZone);
    const cols: Record<string, unknown> = {};
    if (patch.name !== undefined) cols.name = patch.name;
    if (patch.domain !== undefined) cols.domain = patch.domain;
    if (patch.timeZone !== undefined) cols.time_zone = patch.timeZone;
    if (patch.currencyCode !== undefined) cols.currency_code = patch.currencyCode;
    if (patch.sessionTimeoutMinutes !== undefined) cols.session_timeout_minutes = patch.sessionTimeoutMinutes;
    if (patch.engagedSessionSeconds !== undefined) cols.engaged_session_seconds = patch.engagedSessionSeconds;
    if (patch.keyEvents !== undefined) cols.key_events = JSON.stringify(patch.keyEvents);
    if (patch.allowedHostnames !== undefined) cols.allowed_hostnames = JSON.stringify(patch.allowedHostnames.map((h) => h.toLowerCase()));
    await this.db.transaction(async (tx) => {
      const before = await tx('properties').where({ id: propertyId }).forUpdate().first();
      if (!before) throw notFound('property');
      if (!Object.keys(cols).length) return;
      const [after] = await tx('properties').where({ id: propertyId }).update(cols).returning('*');
      await appendAudit(tx, actor, {
        organizationId: before.organization_id,
        action: 'property.update',
        targetType: 'property',
        targetId: propertyId,
        before: settingsOf(before),
        after: settingsOf(after),
      });
    });
    return this.propertyView((await this.propertyRow(propertyId))!);
  }

  /** Deletes the property and its keys; the route then hands its id to `onPropertiesDeleted`, which queues the erasure of its data (`purge-property`). */
  async deleteProperty(actor: Actor, propertyId: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      const before = await tx('properties').where({ id: propertyId }).forUpdate().first();
      if (!before) throw notFound('property');
      await appendAudit(tx, actor, {
        organizationId: before.organization_id,
        action: 'property.delete',
        targetType: 'property',
        targetId: propertyId,
        before: settingsOf(before),
      });
      await tx('properties').where({ id: propertyId }).del();
    });
  }

  // ---- keys --------------------------------------------------------------------------------

  async keyRow(keyId: string): Promise<Record<string, any> | null> {
    if (typeof keyId !== 'string' || keyId.length > 64) return null;
    return (await this.db('api_keys').where({ id: keyId }).whereNull('revoked_at').first()) ?? null;
  }

  /** Active keys of a property (never their secrets). */
  async listKeys(propertyId: string): Promise<KeyView[]> {
    const rows = await this.db('api_keys')
      .where({ property_id: propertyId })
      .whereNull('revoked_at')
      .andWhere((q) => q.whereNull('expires_at').orWhere('expires_at', '>', new Date()))
      .orderBy('created_at');
    return rows.map(keyView);
  }

  async createKey(actor: Actor, propertyId: string, input: { kind: KeyScope; name: string }, db: Db = this.db): Promise<{ key: KeyView; secret: string }> {
    return db.transaction(async (tx) => {
      const p = await tx('properties').where({ id: propertyId }).first('organization_id');
      if (!p) throw notFound('property');
      const secret = newSecret(input.kind);
      const [row] = await tx('api_keys')
        .insert({
          id: newId(),
          organization_id: p.organization_id,
          property_id: propertyId,
          scope: input.kind,
          name: input.name,
          prefix: displayPrefix(secret),
          hash: hashSecret(secret),
          created_by: actor.userId ?? null,
        })
        .returning('*');
      await appendAudit(tx, actor, {
        organizationId: p.organization_id,
        action: 'key.create',
        targetType: 'key',
        targetId: row.id,
        after: { propertyId, kind: input.kind, name: input.name, prefix: row.prefix },
      });
      return { key: keyView(row), secret };
    });
  }

  async revokeKey(actor: Actor, keyId: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      const [row] = await tx('api_keys').where({ id: keyId }).whereNull('revoked_at').update({ revoked_at: new Date() }).returning('*');
      if (!row) throw notFound('key');
      await appendAudit(tx, actor, {
        organizationId: row.organization_id,
        action: 'key.revoke',
        targetType: 'key',
        targetId: keyId,
        before: { propertyId: String(row.property_id), kind: row.scope, name: row.name, prefix: row.prefix },
      });
    });
  }

  /** A new key of the same kind and name; the old one works for `graceSeconds` more (0: revoked now). */
  async rotateKey(
    actor: Actor,
    keyId: string,
    graceSeconds: number,
  ): Promise<{ key: KeyView; secret: string; previous: { id: string; expiresAt: string | null } }> {
    return this.db.transaction(async (tx) => {
      const old = await tx('api_keys').where({ id: keyId }).whereNull('revoked_at').forUpdate().first();
      if (!old || (old.expires_at && new Date(old.expires_at) <= new Date())) throw notFound('key');
      const secret = newSecret(old.scope);
      const [row] = await tx('api_keys')
        .insert({
          id: newId(),
          organization_id: old.organization_id,
          property_id: old.property_id,
          scope: old.scope,
          name: old.name,
          prefix: displayPrefix(secret),
          hash: hashSecret(secret),
          created_by: actor.userId ?? null,
        })
        .returning('*');
      const expiresAt = graceSeconds > 0 ? new Date(Date.now() + graceSeconds * 1000) : null;
      await tx('api_keys')
        .where({ id: keyId })
        .update(expiresAt ? { expires_at: expiresAt } : { revoked_at: new Date() });
      await appendAudit(tx, actor, {
        organizationId: old.organization_id,
        action: 'key.rotate',
        targetType: 'key',
        targetId: keyId,
        before: { id: keyId, prefix: old.prefix },
        after: { id: row.id, prefix: row.prefix, previousExpiresAt: expiresAt?.toISOString() ?? 'now' },
      });
      return { key: keyView(row), secret, previous: { id: keyId, expiresAt: expiresAt?.toISOString() ?? null } };
    });
  }
}

async function assertAnotherOwner(tx: Db, organizationId: string, userId: string): Promise<void> {
  const [{ n }] = await tx('memberships').where({ organization_id: organizationId, role: 'owner' }).whereNot({ user_id: userId }).count({ n: '*' });
  if (Number(n) === 0) throw new TallyError('conflict', 'an organisation always keeps one owner', { reason: 'last_owner' });
}

export function assertTimeZone(tz: string): void {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
  } catch {
    throw new TallyError('unprocessable', `timeZone: unknown time zone ${JSON.stringify(tz).slice(0, 80)}`, {
      reason: 'invalid_body',
      field: 'timeZone',
      fields: { timeZone: 'unknown time zone' },
    });
  }
}

export function notFound(what: string): TallyError {
  return new TallyError('not_found', `no such ${what}`, { reason: 'not_found' });
}

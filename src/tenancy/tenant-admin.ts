import type { Db } from '../infra/metadata/db.js';
import { TallyError } from '../infra/errors.js';
import { isPlanId, PLANS } from '../domain/plans.js';

/** What the operator sees of a tenant (an organisation): never a secret, only key prefixes. */
export interface TenantSummary {
  organizationId: string;
  name: string;
  planId: string;
  createdAt: string;
  properties: number;
}

export interface TenantDetail extends Omit<TenantSummary, 'properties'> {
  owners: string[];
  properties: { propertyId: string; domain: string; measurementId: string; timeZone: string }[];
  keys: { id: string; propertyId: string | null; scope: string; name: string; prefix: string; revoked: boolean; lastUsedAt: string | null }[];
}

const iso = (d: unknown) => (d ? new Date(d as string).toISOString() : null);

export async function listTenants(db: Db): Promise<TenantSummary[]> {
  const rows = await db('organizations as o')
    .leftJoin('properties as p', 'p.organization_id', 'o.id')
    .groupBy('o.id', 'o.name', 'o.plan_id', 'o.created_at')
    .orderBy('o.created_at')
    .select('o.id', 'o.name', 'o.plan_id', 'o.created_at', db.raw('count(p.id) as properties'));
  return rows.map((r) => ({ organizationId: r.id, name: r.name, planId: r.plan_id, createdAt: iso(r.created_at)!, properties: Number(r.properties) }));
}

export async function getTenant(db: Db, organizationId: string): Promise<TenantDetail> {
  const org = await db('organizations').where({ id: organizationId }).first();
  if (!org) throw new TallyError('not_found', `no tenant ${organizationId}`, { reason: 'unknown_tenant' });
  const owners = await db('memberships as m')
    .join('users as u', 'u.id', 'm.user_id')
    .where({ 'm.organization_id': organizationId, 'm.role': 'owner' })
    .orderBy('u.email')
    .pluck('u.email');
  const props = await db('properties').where({ organization_id: organizationId }).orderBy('id').select('id', 'domain', 'measurement_id', 'time_zone');
  const keys = await db('api_keys')
    .where({ organization_id: organizationId })
    .orderBy('created_at')
    .select('id', 'property_id', 'scope', 'name', 'prefix', 'revoked_at', 'last_used_at');
  return {
    organizationId,
    name: org.name,
    planId: org.plan_id,
    createdAt: iso(org.created_at)!,
    owners,
    properties: props.map((p) => ({ propertyId: String(p.id), domain: p.domain, measurementId: p.measurement_id, timeZone: p.time_zone })),
    keys: keys.map((k) => ({
      id: k.id,
      propertyId: k.property_id === null ? null : String(k.property_id),
      scope: k.scope,
      name: k.name,
      prefix: k.prefix,
      revoked: k.revoked_at !== null,
      lastUsedAt: iso(k.last_used_at),
    })),
  };
}

export async function setTenantPlan(db: Db, organizationId: string, planId: string): Promise<TenantSummary> {
  if (!isPlanId(planId)) {
    const ids = PLANS.map((p) => p.planId);
    throw new TallyError('invalid_argument', `unknown plan ${JSON.stringify(planId)} (plans: ${ids.join(', ')})`, { reason: 'unknown_plan' });
  }
  const n = await db('organizations').where({ id: organizationId }).update({ plan_id: planId });
  if (!n) throw new TallyError('not_found', `no tenant ${organizationId}`, { reason: 'unknown_tenant' });
  return (await listTenants(db)).find((t) => t.organizationId === organizationId)!;
}

/**
 * What a tenant's deletion asks of the data lifecycle (a port tenancy declares, wired in
 * src/server): erase the deleted properties' data everywhere (the `purge-property` job per
 * property), as `DELETE /api/orgs/{id}` does.
 */
export type PropertiesDeleted = (organizationId: string, propertyIds: string[]) => Promise<void>;

/**
 * Deletes the organisation with its properties, keys and memberships (foreign keys cascade) and
 * its pipeline bookkeeping, in one transaction; then hands its property ids to `onPropertiesDeleted`
 * (the purge of their raw, transformed, dead-letter and warehouse data). User accounts stay (they
 * may belong elsewhere). Without the port, nothing erases the stored data but the daily retention
 * job's sweep, which finds such properties through the warehouse only.
 */
export async function deleteTenant(
  db: Db,
  organizationId: string,
  onPropertiesDeleted?: PropertiesDeleted,
): Promise<{ organizationId: string; properties: number; propertyIds: string[] }> {
  const propertyIds = await db.transaction(async (tx) => {
    const org = await tx('organizations').where({ id: organizationId }).first();
    if (!org) throw new TallyError('not_found', `no tenant ${organizationId}`, { reason: 'unknown_tenant' });
    const ids = (await tx('properties').where({ organization_id: organizationId }).orderBy('id').pluck('id')).map(String);
    for (const t of ['raw_objects', 'partitions', 'pipeline_state', 'usage_hourly', 'job_runs']) await tx(t).where({ tenant_id: organizationId }).delete();
    await tx('organizations').where({ id: organizationId }).delete();
    return ids;
  });
  if (propertyIds.length) await onPropertiesDeleted?.(organizationId, propertyIds);
  return { organizationId, properties: propertyIds.length, propertyIds };
}

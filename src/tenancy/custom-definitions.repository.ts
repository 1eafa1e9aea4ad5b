import { randomUUID } from 'node:crypto';
import type { CustomDefinition, CustomDefinitionKind, CustomDefinitionScope } from '../domain/custom-definition.js';
import { TallyError } from '../infra/errors.js';
import type { Db } from '../infra/metadata/db.js';
import { appendAudit, type Actor } from './audit.repository.js';

/**
 * A property's custom definitions in the metadata DB (issue 14; migration
 * 20261206140000_custom_definitions). Every call names the property: the routes reach it only
 * through the property wall, and a definition id of another property is "not found".
 */
interface Row {
  id: string;
  property_id: string | number;
  kind: CustomDefinitionKind;
  scope: CustomDefinitionScope;
  parameter_name: string;
  display_name: string;
  description: string;
  measurement_unit: string | null;
  created_at: Date | string;
  archived_at: Date | string | null;
}

const view = (r: Row): CustomDefinition => ({
  id: r.id,
  propertyId: String(r.property_id),
  kind: r.kind,
  scope: r.scope,
  parameterName: r.parameter_name,
  displayName: r.display_name,
  description: r.description,
  measurementUnit: r.measurement_unit,
  createdAt: new Date(r.created_at).toISOString(),
  archived: r.archived_at !== null,
});

export interface NewCustomDefinition {
  kind: CustomDefinitionKind;
  scope: CustomDefinitionScope;
  parameterName: string;
  displayName: string;
  description?: string;
  measurementUnit?: string;
}

/** GA4: at most 50 event-scoped and 25 user-scoped custom dimensions, 50 custom metrics, per standard property. */
export const CUSTOM_DEFINITION_LIMITS = { dimensionEVENT: 50, dimensionUSER: 25, metricEVENT: 50 } as const;

/** Every definition of the property, archived ones included (they carry `archived: true`), oldest first. */
export async function listCustomDefinitions(db: Db, propertyId: string): Promise<CustomDefinition[]> {
  const rows = await db<Row>('custom_definitions')
    .where({ property_id: propertyId })
    .orderBy([{ column: 'created_at' }, { column: 'id' }]);
  return rows.map(view);
}

/** The definitions of a property of this tenant (what reports read); none for a property of another tenant. */
export async function tenantCustomDefinitions(db: Db, tenantId: string, propertyId: string): Promise<CustomDefinition[]> {
  if (!/^\d+$/.test(propertyId)) return [];
  const rows = await db<Row>('custom_definitions as c')
    .join('properties as p', 'p.id', 'c.property_id')
    .where({ 'c.property_id': propertyId, 'p.organization_id': tenantId })
    .select('c.*');
  return rows.map(view);
}

async function organizationOf(db: Db, propertyId: string): Promise<string> {
  const p = await db('properties').where({ id: propertyId }).first('organization_id');
  if (!p) throw new TallyError('not_found', 'No such property.', { reason: 'property_not_found' });
  return String(p.organization_id);
}

export async function createCustomDefinition(db: Db, actor: Actor, propertyId: string, input: NewCustomDefinition): Promise<CustomDefinition> {
  if (input.kind === 'metric' && input.scope !== 'EVENT') {
    throw new TallyError('invalid_argument', 'Custom metrics are event-scoped.', { reason: 'metric_scope' });
  }
  return db.transaction(async (tx) => {
    const organizationId = await organizationOf(tx, propertyId);
    // serialise creations per property: the count and the uniqueness check below see each other
    await tx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', [`custom_definitions:${propertyId}`]);
    const active = tx('custom_definitions').where({ property_id: propertyId, kind: input.kind, scope: input.scope }).whereNull('archived_at');
    if (await active.clone().where({ parameter_name: input.parameterName }).first()) {
      throw new TallyError('conflict', `An active custom ${input.kind} over ${input.parameterName} (${input.scope}) already exists.`, {
        reason: 'custom_definition_exists',
      });
    }
    const limit = CUSTOM_DEFINITION_LIMITS[`${input.kind}${input.scope}` as keyof typeof CUSTOM_DEFINITION_LIMITS];
    const [{ n }] = await active.clone().count<{ n: string }[]>('* as n');
    if (Number(n) >= limit) {
      throw new TallyError('invalid_argument', `A property has at most ${limit} active ${input.scope.toLowerCase()}-scoped custom ${input.kind}s.`, {
        reason: 'custom_definition_limit',
      });
    }
    const [row] = await tx<Row>('custom_definitions')
      .insert({
        id: randomUUID(),
        property_id: propertyId,
        kind: input.kind,
        scope: input.scope,
        parameter_name: input.parameterName,
        display_name: input.displayName,
        description: input.description ?? '',
        measurement_unit: input.kind === 'metric' ? (input.measurementUnit ?? 'STANDARD') : null,
      })
      .returning('*');
    const created = view(row);
    await appendAudit(tx, actor, { organizationId, action: 'custom_definition.create', targetType: 'custom_definition', targetId: created.id, after: created });
    return created;
  });
}

/** Renames or redescribes one; an archived definition cannot change. */
export async function updateCustomDefinition(
  db: Db,
  actor: Actor,
  propertyId: string,
  id: string,
  patch: { displayName?: string; description?: string },
): Promise<CustomDefinition> {
  return db.transaction(async (tx) => {
    const before = await tx<Row>('custom_definitions').where({ id, property_id: propertyId }).forUpdate().first();
    if (!before) throw notFound();
    if (before.archived_at !== null) throw new TallyError('conflict', 'An archived custom definition cannot change.', { reason: 'archived' });
    const [row] = await tx<Row>('custom_definitions')
      .where({ id })
      .update({
        ...(patch.displayName !== undefined ? { display_name: patch.displayName } : {}),
        ...(patch.description !== undefined ? { description: patch.description } : {}),
      })
      .returning('*');
    const after = view(row);
    await appendAudit(tx, actor, {
      organizationId: await organizationOf(tx, propertyId),
      action: 'custom_definition.update',
      targetType: 'custom_definition',
      targetId: id,
      before: view(before),
      after,
    });
    return after;
  });
}

/** Archives one (idempotent): reports stop accepting and listing it. */
export async function archiveCustomDefinition(db: Db, actor: Actor, propertyId: string, id: string): Promise<CustomDefinition> {
  return db.transaction(async (tx) => {
    const before = await tx<Row>('custom_definitions').where({ id, property_id: propertyId }).forUpdate().first();
    if (!before) throw notFound();
    if (before.archived_at !== null) return view(before);
    const [row] = await tx<Row>('custom_definitions').where({ id }).update({ archived_at: tx.fn.now() }).returning('*');
    await appendAudit(tx, actor, {
      organizationId: await organizationOf(tx, propertyId),
      action: 'custom_definition.archive',
      targetType: 'custom_definition',
      targetId: id,
    });
    return view(row);
  });
}

function notFound(): TallyError {
  return new TallyError('not_found', 'No such custom definition.', { reason: 'custom_definition_not_found' });
}

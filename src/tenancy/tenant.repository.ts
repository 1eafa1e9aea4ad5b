import type { Db } from '../infra/metadata/db.js';
import { DEFAULT_PROPERTY_SETTINGS } from '../domain/property-settings.js';
import type { TenantProperty } from '../domain/tenant-property.js';
import { hardCapOf, planEntitlements } from '../domain/plans.js';
import { TallyError } from '../infra/errors.js';
import { displayPrefix, hashSecret, newId, newSecret, type KeyScope } from './secrets.js';
import { assertTimeZone, TenancyService } from './tenancy.service.js';
import { rulesOfRow } from './property-rules.js';

export { assertTimeZone };

export interface CreatedTenant {
  organizationId: string;
  propertyId: string;
  measurementId: string;
  /** Random public id for Snowplow `aid` / Umami `website`; never the numeric property id. */
  siteId: string;
  apiSecret: string;
  ingestKey: string;
  readKey: string;
}

export interface CreateTenantInput {
  name: string;
  email: string;
  domain: string;
  timeZone?: string;
  planId?: string;
  /** Hosts browser hits may come from; empty or absent: the domain and its subdomains. */
  allowedHostnames?: string[];
}

/**
 * Creates an organisation, its owner (without a password: signing up with the e-mail claims the
 * account), a first property and its three keys, in one transaction and audited as the local
 * operator: the same TenancyService code the management API uses.
 */
export async function createTenant(db: Db, input: CreateTenantInput): Promise<CreatedTenant> {
  const timeZone = input.timeZone ?? DEFAULT_PROPERTY_SETTINGS.timeZone;
  assertTimeZone(timeZone);
  const actor = { kind: 'operator' as const };
  return db.transaction(async (tx) => {
    const service = new TenancyService(tx);
    let user = await tx('users').where({ email: input.email.toLowerCase() }).first();
    if (!user) {
      user = { id: newId(), email: input.email.toLowerCase() };
      await tx('users').insert(user);
    }
    const org = await service.createOrg(actor, { name: input.name, ownerId: user.id, planId: input.planId }, tx);
    const property = await service.createProperty(
      actor,
      org.id,
      { name: input.domain, domain: input.domain, timeZone, allowedHostnames: input.allowedHostnames },
      { db: tx },
    );
    const key = (kind: KeyScope, name: string) => service.createKey(actor, property.id, { kind, name }, tx).then((k) => k.secret);
    const apiSecret = await key('mp_secret', 'Measurement Protocol API secret');
    const ingestKey = await key('ingest', 'Default ingest key');
    const readKey = await key('read', 'Default read key');
    return {
      organizationId: org.id,
      propertyId: property.id,
      measurementId: property.measurementId,
      siteId: String(property.siteId),
      apiSecret,
      ingestKey,
      readKey,
    };
  });
}

export async function insertKey(db: Db, organizationId: string, propertyId: string, scope: KeyScope, name: string): Promise<string> {
  const secret = newSecret(scope);
  await db('api_keys').insert({
    id: newId(),
    organization_id: organizationId,
    property_id: propertyId,
    scope,
    name,
    prefix: displayPrefix(secret),
    hash: hashSecret(secret),
  });
  return secret;
}

/** Stamps the keys' last-used time (called in batches by the edge, never per request). */
export async function touchKeys(db: Db, hashes: string[], at: Date = new Date()): Promise<void> {
  if (hashes.length) await db('api_keys').whereIn('hash', hashes).update({ last_used_at: at });
}

export async function revokeKey(db: Db, organizationId: string, keyId: string): Promise<void> {
  const n = await db('api_keys').where({ id: keyId, organization_id: organizationId }).whereNull('revoked_at').update({ revoked_at: db.fn.now() });
  if (!n) throw new TallyError('not_found', `no active key ${keyId} in this organisation`);
}

export interface KeyRow {
  hash: string;
  scope: KeyScope;
  organization_id: string;
  property_id: string;
}

/** Tenancy's name for the domain's `TenantProperty` (the row it loads). */
export type PropertyRow = TenantProperty;

/** Every active credential and property: what the edge caches so it never reads the DB per request. */
export async function loadCredentials(db: Db): Promise<{ keys: KeyRow[]; properties: PropertyRow[] }> {
  const keys = await db('api_keys')
    .whereNull('revoked_at')
    .andWhere((q) => q.whereNull('expires_at').orWhere('expires_at', '>', new Date()))
    .select('hash', 'scope', 'organization_id', 'property_id');
  const props = await db('properties as p')
    .join('organizations as o', 'o.id', 'p.organization_id')
    .select(
      'p.id',
      'p.organization_id',
      'p.measurement_id',
      'p.site_id',
      'p.domain',
      'p.allowed_hostnames',
      'p.time_zone',
      'p.currency_code',
      'p.session_timeout_minutes',
      'p.engaged_session_seconds',
      'p.key_events',
      'p.internal_traffic',
      'p.bot_patterns',
      'p.channel_rules',
      'o.plan_id',
    );
  return {
    keys: keys.map((k) => ({ ...k, property_id: String(k.property_id) })),
    properties: props.map(toPropertyRow),
  };
}

export async function getProperty(db: Db, propertyId: string): Promise<PropertyRow | null> {
  if (!/^\d{1,18}$/.test(propertyId)) return null;
  const rows = (await loadCredentials(db)).properties; // small tables; fine for an admin path
  return rows.find((p) => p.propertyId === propertyId) ?? null;
}

function toPropertyRow(r: Record<string, any>): PropertyRow {
  const plan = planEntitlements(r.plan_id);
  return {
    tenantId: r.organization_id,
    propertyId: String(r.id),
    measurementId: r.measurement_id,
    siteId: r.site_id,
    domain: r.domain,
    allowedHostnames: typeof r.allowed_hostnames === 'string' ? JSON.parse(r.allowed_hostnames) : (r.allowed_hostnames ?? []),
    timeZone: r.time_zone,
    currencyCode: r.currency_code,
    sessionTimeoutMinutes: Number(r.session_timeout_minutes),
    engagedSessionSeconds: Number(r.engaged_session_seconds),
    keyEvents: typeof r.key_events === 'string' ? JSON.parse(r.key_events) : r.key_events,
    ...rulesOfRow(r),
    planId: r.plan_id,
    monthlyEventQuota: plan.monthlyEvents,
    quotaHardCap: hardCapOf(plan),
    rateLimitPerSecond: plan.ratePerSecond,
    rateBurst: plan.burst,
  };
}

import type { KeyScope } from './secrets.js';

/** The API's views of tenancy rows (users, organisations, keys) and a property's audited settings. */

export interface UserView {
  id: string;
  email: string;
  name: string | null;
  emailVerified: boolean;
  isStaff: boolean;
  createdAt: string;
}

export interface OrgView {
  id: string;
  name: string;
  plan: { id: string; name: string; monthlyEventQuota: number; rateLimitPerSecond: number; maxProperties: number };
  createdAt: string;
}

export interface KeyView {
  id: string;
  propertyId: string;
  name: string;
  kind: KeyScope;
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
  expiresAt: string | null;
}

export const iso = (d: unknown) => (d ? new Date(d as string).toISOString() : null);

export function userView(u: Record<string, any>): UserView {
  return { id: u.id, email: u.email, name: u.name ?? null, emailVerified: !!u.email_verified_at, isStaff: !!u.is_staff, createdAt: iso(u.created_at)! };
}

export function keyView(k: Record<string, any>): KeyView {
  return {
    id: k.id,
    propertyId: String(k.property_id),
    name: k.name,
    kind: k.scope,
    prefix: k.prefix,
    createdAt: iso(k.created_at)!,
    lastUsedAt: iso(k.last_used_at),
    expiresAt: iso(k.expires_at),
  };
}

/** A property's settings as the audit log records them before and after a change. */
export function settingsOf(p: Record<string, any>) {
  return {
    name: p.name,
    domain: p.domain,
    timeZone: p.time_zone,
    currencyCode: p.currency_code,
    sessionTimeoutMinutes: Number(p.session_timeout_minutes),
    engagedSessionSeconds: Number(p.engaged_session_seconds),
    keyEvents: typeof p.key_events === 'string' ? JSON.parse(p.key_events) : p.key_events,
    allowedHostnames: typeof p.allowed_hostnames === 'string' ? JSON.parse(p.allowed_hostnames) : p.allowed_hostnames,
  };
}

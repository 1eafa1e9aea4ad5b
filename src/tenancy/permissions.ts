/**
 * Who may do what: the one table every route is checked against (issue 10, "Roles and staff").
 * owner: everything incl. billing and deleting the organisation; admin: members, properties, keys;
 * editor: property settings and key events, no keys or members; viewer: reports only.
 * Support staff (`users.is_staff`) who are not members get the `staff` grants, and only with a
 * reason (X-Support-Reason); they never see or create secrets.
 */
export const ROLES = ['owner', 'admin', 'editor', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

export const PERMISSIONS = [
  'org.read',
  'org.update',
  'org.delete',
  'billing.manage',
  'members.read',
  'members.manage',
  'properties.read',
  'properties.create',
  'properties.update',
  'properties.delete',
  'keys.read',
  'keys.manage',
  'audit.read',
  'reports.read',
  // the data lifecycle (src/lifecycle): a person's deletion, export, import (backfill), retention
  'data.delete',
  'data.export',
  'data.import',
  'retention.manage',
  /** Support tools: the visitor inspector, dead-letter listings, replay state and diffs. */
  'support.read',
  /** Support tools that change data: replays and dead-letter redrives (always audited). */
  'support.run',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

/** Routes outside an organisation: anyone, or any signed-in user. */
export type Access = Permission | 'public' | 'signed_in';

const VIEWER: Permission[] = ['org.read', 'members.read', 'properties.read', 'reports.read'];
const EDITOR: Permission[] = [...VIEWER, 'properties.update'];
/** What only an owner may do; an admin may do everything else. */
const OWNER_ONLY: Permission[] = ['org.delete', 'billing.manage'];
const OWNER: Permission[] = [...PERMISSIONS];
const ADMIN: Permission[] = OWNER.filter((p) => !OWNER_ONLY.includes(p));
/**
 * Read-only, no secrets (key listings show no secret, but staff do not need even those), plus the
 * support tools: replays and redrives rebuild data from the raw zone and change no setting.
 */
const STAFF: Permission[] = ['org.read', 'members.read', 'properties.read', 'reports.read', 'audit.read', 'support.read', 'support.run'];

const GRANTS: Record<Role | 'staff', ReadonlySet<Permission>> = {
  owner: new Set(OWNER),
  admin: new Set(ADMIN),
  editor: new Set(EDITOR),
  viewer: new Set(VIEWER),
  staff: new Set(STAFF),
};

export function can(role: Role | 'staff', permission: Permission): boolean {
  return GRANTS[role].has(permission);
}

export function isRole(v: unknown): v is Role {
  return typeof v === 'string' && (ROLES as readonly string[]).includes(v);
}

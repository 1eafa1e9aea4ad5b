import type { Request, Response } from 'express';
import { z } from 'zod';
import { TallyError } from '../infra/errors.js';
import { isAllowedHostnamePattern } from '../domain/allowed-hostnames.js';
import type { Actor } from './audit.repository.js';
import { listAudit } from './audit.repository.js';
import type { Access, Role } from './permissions.js';
import { ROLES } from './permissions.js';
import { authenticateLocal, csrfToken, logIn, logOut, toSessionUser, type SessionLayer, type SessionUser } from './session-auth.js';
import { notFound, type TenancyService } from './tenancy.service.js';
import { userView } from './tenancy.views.js';
import { GracePeriodSeconds } from './operator.commands.js';
import { getRules, PropertyRulesPatch, replaySuggestion, updateRules } from './property-rules.js';

/** What a route handler gets. `orgId`/`role` are set for organisation-scoped routes. */
export interface RouteContext {
  req: Request;
  res: Response;
  user: SessionUser | null;
  actor: Actor;
  orgId: string | null;
  role: Role | 'staff' | null;
  body: any;
  params: Record<string, string>;
  deps: ApiDeps;
}

export interface ApiDeps {
  service: TenancyService;
  layer: SessionLayer;
  /** Called after a key or property changed, so this process's credential cache reloads now. */
  onCredentialsChanged?: () => void;
  /** Called after a property (or an organisation's properties) was deleted: its data is erased everywhere (src/lifecycle). */
  onPropertiesDeleted?: (organizationId: string, propertyIds: string[]) => Promise<void>;
}

/**
 * Where a route's organisation comes from (for the permission check and the 404 wall); `custom`:
 * the route's own `orgOf` (another feature's object, or a property named in the body).
 */
export type Scope = 'org' | 'property' | 'key' | 'custom';

export interface ApiRoute {
  method: 'get' | 'post' | 'patch' | 'delete';
  /** Express path; OpenAPI shows `:x` as `{x}`. */
  path: string;
  /** Every route declares what it needs; permissions.test.ts fails on one that does not. */
  access: Access;
  scope?: Scope;
  /** With scope `custom`: the organisation of the route's object from its params and parsed body (null: none). */
  orgOf?: (p: { params: Record<string, string>; body: any }) => Promise<string | null>;
  body?: z.ZodType;
  /** Query parameters, validated like the body. */
  query?: z.ZodType;
  summary: string;
  status?: number;
  handler: (ctx: RouteContext) => Promise<unknown>;
}

const email = z.email().max(254);
const password = z.string().min(1).max(1024);
// PostgreSQL text cannot hold NUL; other control characters have no place in a name either
const name = z
  .string()
  .trim()
  .min(1)
  .max(200)
  .refine((v) => ![...v].some((ch) => ch.charCodeAt(0) < 32 || ch.charCodeAt(0) === 127), 'no control characters');
const role = z.enum(ROLES);
const eventName = z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,39}$/, 'an event name: a letter, then letters, digits or _ (at most 40)');
const hostname = z
  .string()
  .trim()
  .min(1)
  .max(253)
  .regex(/^[A-Za-z0-9*]([A-Za-z0-9.*-]*[A-Za-z0-9])?$/, 'a host name');
const propertyFields = {
  name,
  domain: hostname,
  timeZone: z.string().min(1).max(64),
  currencyCode: z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as USD'),
  sessionTimeoutMinutes: z.number().int().min(1).max(475),
  engagedSessionSeconds: z.number().int().min(10).max(60),
  keyEvents: z.array(eventName).max(50),
  allowedHostnames: z.array(z.string().min(1).max(253).refine(isAllowedHostnamePattern, 'a host name, or *. and a domain')).max(100),
};
const PropertyCreate = z.strictObject({
  ...propertyFields,
  timeZone: propertyFields.timeZone.optional(),
  currencyCode: propertyFields.currencyCode.optional(),
  sessionTimeoutMinutes: propertyFields.sessionTimeoutMinutes.optional(),
  engagedSessionSeconds: propertyFields.engagedSessionSeconds.optional(),
  keyEvents: propertyFields.keyEvents.optional(),
  allowedHostnames: propertyFields.allowedHostnames.optional(),
});
const PropertyPatch = z.strictObject(propertyFields).partial();

const changed = (ctx: RouteContext) => ctx.deps.onCredentialsChanged?.();

export const API_ROUTES: ApiRoute[] = [
  // ---- auth --------------------------------------------------------------------------------
  {
    method: 'get',
    path: '/api/auth/csrf',
    access: 'public',
    summary: 'The CSRF token of this session: send it as X-CSRF-Token on every state-changing request made with the session cookie.',
    handler: async ({ req }) => ({ token: csrfToken(req) }),
  },
  {
    method: 'post',
    path: '/api/auth/signup',
    access: 'public',
    status: 201,
    body: z.strictObject({ email, password, name, organizationName: name }),
    summary: 'Create an account and its organisation (you are its owner), sign in, and e-mail a verification link. 409 when the e-mail has an account.',
    handler: async ({ req, body, deps, actor }) => {
      const user = await deps.service.createUser({ email: body.email, password: body.password, name: body.name });
      const organization = await deps.service.createOrg({ ...actor, kind: 'user', userId: user.id }, { name: body.organizationName, ownerId: user.id });
      await logIn(req, toSessionUser(user));
      await deps.service.sendVerification(user);
      return { user: userView(user), organization };
    },
  },
  {
    method: 'post',
    path: '/api/auth/login',
    access: 'public',
    body: z.strictObject({ email, password }),
    summary:
      'Sign in with e-mail and password; sets the session cookie (a new session id). 401 for a wrong pair, 429 after 10 failures per e-mail or IP in 15 minutes.',
    handler: async ({ req, res, body, deps }) => {
      const user = await authenticateLocal(deps.layer, req, res, body.email);
      await logIn(req, user);
      const u = await deps.service.userById(user.id);
      return { user: userView(u!), memberships: await deps.service.memberships(user.id) };
    },
  },
  {
    method: 'post',
    path: '/api/auth/logout',
    access: 'signed_in',
    status: 204,
    summary: 'End this session.',
    handler: async ({ req }) => {
      await logOut(req);
      return undefined;
    },
  },
  {
    method: 'post',
    path: '/api/auth/verify',
    access: 'public',
    body: z.strictObject({ token: z.string().min(1).max(200) }),
    summary: 'Verify the e-mail address with the token from the e-mailed link.',
    handler: async ({ body, deps }) => {
      const user = await deps.service.verifyEmail(body.token);
      deps.layer.forgetUser(user.id);
      return { user: userView(user) };
    },
  },
  {
    method: 'post',
    path: '/api/auth/password-reset',
    access: 'public',
    status: 202,
    body: z.strictObject({ email }),
    summary: 'E-mail a password-reset link (single use, 1 hour). Answers the same whether or not the e-mail has an account.',
    handler: async ({ body, deps }) => {
      await deps.service.requestPasswordReset(body.email);
      return { ok: true };
    },
  },
  {
    method: 'post',
    path: '/api/auth/password-reset/confirm',
    access: 'public',
    body: z.strictObject({ token: z.string().min(1).max(200), password }),
    summary: 'Set a new password with the e-mailed token; ends every session of the user.',
    handler: async ({ body, deps }) => {
      await deps.service.confirmPasswordReset(body.token, body.password, (id) => {
        deps.layer.forgetUser(id);
        return deps.layer.store.destroyUser(id);
      });
      return { ok: true };
    },
  },
  {
    method: 'get',
    path: '/api/me',
    access: 'signed_in',
    summary: 'The signed-in user and their memberships.',
    handler: async ({ user, deps }) => ({ user: userView((await deps.service.userById(user!.id))!), memberships: await deps.service.memberships(user!.id) }),
  },
  // ---- organisations -----------------------------------------------------------------------
  {
    method: 'get',
    path: '/api/orgs',
    access: 'signed_in',
    summary: "The signed-in user's organisations, with their role in each.",
    handler: async ({ user, deps }) => ({ organizations: await deps.service.listOrgs(user!.id) }),
  },
  {
    method: 'post',
    path: '/api/orgs',
    access: 'signed_in',
    status: 201,
    body: z.strictObject({ name }),
    summary: 'Create an organisation; you are its owner.',
    handler: async ({ user, body, deps, actor }) => ({ organization: await deps.service.createOrg(actor, { name: body.name, ownerId: user!.id }) }),
  },
  {
    method: 'get',
    path: '/api/orgs/:orgId',
    access: 'org.read',
    scope: 'org',
    summary: 'An organisation, with its plan.',
    handler: async ({ orgId, role, deps }) => ({ organization: { ...(await deps.service.getOrg(orgId!)), role } }),
  },
  {
    method: 'patch',
    path: '/api/orgs/:orgId',
    access: 'org.update',
    scope: 'org',
    body: z.strictObject({ name: name.optional() }),
    summary: 'Rename an organisation.',
    handler: async ({ orgId, body, deps, actor }) => ({ organization: await deps.service.updateOrg(actor, orgId!, body) }),
  },
  {
    method: 'delete',
    path: '/api/orgs/:orgId',
    access: 'org.delete',
    scope: 'org',
    status: 204,
    summary: 'Delete an organisation with its properties and keys (owner only).',
    handler: async (ctx) => {
      const properties = (await ctx.deps.service.db('properties').where({ organization_id: ctx.orgId! }).pluck('id')).map(String);
      await ctx.deps.service.deleteOrg(ctx.actor, ctx.orgId!);
      changed(ctx);
      await ctx.deps.onPropertiesDeleted?.(ctx.orgId!, properties);
      return undefined;
    },
  },
  // ---- members -----------------------------------------------------------------------------
  {
    method: 'get',
    path: '/api/orgs/:orgId/members',
    access: 'members.read',
    scope: 'org',
    summary: 'Members and their roles.',
    handler: async ({ orgId, deps }) => ({ members: await deps.service.members(orgId!) }),
  },
  {
    method: 'post',
    path: '/api/orgs/:orgId/invitations',
    access: 'members.manage',
    scope: 'org',
    status: 201,
    body: z.strictObject({ email, role }),
    summary: 'Invite someone by e-mail with a role (the link works for 7 days). Needs a verified e-mail address.',
    handler: async ({ orgId, body, deps, actor, user }) => {
      if (!user?.email_verified_at)
        throw new TallyError('permission_denied', 'verify your e-mail address before inviting members', { reason: 'email_not_verified' });
      return { invitation: await deps.service.invite(actor, orgId!, body) };
    },
  },
  {
    method: 'post',
    path: '/api/invitations/:token/accept',
    access: 'signed_in',
    summary: 'Accept an invitation made for your e-mail address; 404 for an unknown, used, expired or someone else’s invitation.',
    handler: async ({ params, deps, actor, user }) => ({ membership: await deps.service.acceptInvitation(actor, user!, params.token) }),
  },
  {
    method: 'patch',
    path: '/api/orgs/:orgId/members/:userId',
    access: 'members.manage',
    scope: 'org',
    body: z.strictObject({ role }),
    summary: "Change a member's role (only an owner grants or takes the owner role; an organisation always keeps one owner).",
    handler: async ({ orgId, params, body, deps, actor }) => {
      await deps.service.setRole(actor, orgId!, params.userId, body.role);
      return { members: await deps.service.members(orgId!) };
    },
  },
  {
    method: 'delete',
    path: '/api/orgs/:orgId/members/:userId',
    access: 'members.manage',
    scope: 'org',
    status: 204,
    summary: 'Remove a member (an organisation always keeps one owner).',
    handler: async ({ orgId, params, deps, actor }) => {
      await deps.service.removeMember(actor, orgId!, params.userId);
      return undefined;
    },
  },
  // ---- properties --------------------------------------------------------------------------
  {
    method: 'get',
    path: '/api/orgs/:orgId/properties',
    access: 'properties.read',
    scope: 'org',
    summary: "The organisation's properties with their settings and install snippets.",
    handler: async ({ orgId, deps }) => ({ properties: await deps.service.listProperties(orgId!) }),
  },
  {
    method: 'post',
    path: '/api/orgs/:orgId/properties',
    access: 'properties.create',
    scope: 'org',
    status: 201,
    body: PropertyCreate,
    summary: 'Create a property. Without a verified e-mail an organisation can have only one.',
    handler: async (ctx) => {
      const property = await ctx.deps.service.createProperty(ctx.actor, ctx.orgId!, ctx.body, {
        unverified: ctx.actor.kind === 'user' && !ctx.user?.email_verified_at,
      });
      changed(ctx);
      return { property };
    },
  },
  {
    method: 'get',
    path: '/api/properties/:propertyId',
    access: 'properties.read',
    scope: 'property',
    summary: 'A property: settings, public ids and install snippets.',
    handler: async ({ params, deps }) => ({ property: deps.service.propertyView((await deps.service.propertyRow(params.propertyId))!) }),
  },
  {
    method: 'patch',
    path: '/api/properties/:propertyId',
    access: 'properties.update',
    scope: 'property',
    body: PropertyPatch,
    summary:
      'Change property settings: name, domain, time zone, currency, session timeout, engaged-session seconds, key events, allowed hostnames. A change of what the transform reads (session timeout, engaged-session seconds, key events) answers with replaySuggestion, as the rules do.',
    handler: async (ctx) => {
      const property = await ctx.deps.service.updateProperty(ctx.actor, ctx.params.propertyId, ctx.body);
      changed(ctx);
      const retroactive = ['sessionTimeoutMinutes', 'engagedSessionSeconds', 'keyEvents'].some((k) => ctx.body[k] !== undefined);
      return { property, ...(retroactive ? { replaySuggestion: replaySuggestion(property.id, property.timeZone) } : {}) };
    },
  },
  {
    method: 'delete',
    path: '/api/properties/:propertyId',
    access: 'properties.delete',
    scope: 'property',
    status: 204,
    summary: 'Delete a property and its keys; its data is erased from every zone (raw, transformed, warehouse, dead letters).',
    handler: async (ctx) => {
      await ctx.deps.service.deleteProperty(ctx.actor, ctx.params.propertyId);
      changed(ctx);
      await ctx.deps.onPropertiesDeleted?.(ctx.orgId!, [ctx.params.propertyId]);
      return undefined;
    },
  },
  // ---- keys --------------------------------------------------------------------------------
  {
    method: 'get',
    path: '/api/properties/:propertyId/keys',
    access: 'keys.read',
    scope: 'property',
    summary: "The property's active keys: name, kind, prefix, created, last used (never the secret).",
    handler: async ({ params, deps }) => ({ keys: await deps.service.listKeys(params.propertyId) }),
  },
  {
    method: 'post',
    path: '/api/properties/:propertyId/keys',
    access: 'keys.manage',
    scope: 'property',
    status: 201,
    body: z.strictObject({ kind: z.enum(['ingest', 'read', 'mp_secret']), name }),
    summary: 'Create a key; the answer is the only time its secret is shown.',
    handler: async (ctx) => {
      const created = await ctx.deps.service.createKey(ctx.actor, ctx.params.propertyId, ctx.body);
      changed(ctx);
      return created;
    },
  },
  {
    method: 'delete',
    path: '/api/keys/:keyId',
    access: 'keys.manage',
    scope: 'key',
    status: 204,
    summary: 'Revoke a key: refused by every collector and api process within 2 s.',
    handler: async (ctx) => {
      await ctx.deps.service.revokeKey(ctx.actor, ctx.params.keyId);
      changed(ctx);
      return undefined;
    },
  },
  {
    method: 'post',
    path: '/api/keys/:keyId/rotate',
    access: 'keys.manage',
    scope: 'key',
    status: 201,
    body: z.strictObject({ gracePeriodSeconds: GracePeriodSeconds }),
    summary: 'A new secret for the key; the old one keeps working for gracePeriodSeconds (default 0: revoked now).',
    handler: async (ctx) => {
      const rotated = await ctx.deps.service.rotateKey(ctx.actor, ctx.params.keyId, ctx.body.gracePeriodSeconds ?? 0);
      changed(ctx);
      return rotated;
    },
  },
  // ---- audit -------------------------------------------------------------------------------
  {
    method: 'get',
    path: '/api/orgs/:orgId/audit',
    access: 'audit.read',
    scope: 'org',
    query: z.object({ cursor: z.string().max(20).optional(), limit: z.coerce.number().int().min(1).max(200).optional() }),
    summary: 'Every change of members, roles, properties, keys and settings, newest first: actor, time, IP, before/after. Page with ?cursor=<nextCursor>.',
    handler: async ({ orgId, req, deps }) =>
      listAudit(deps.service.db, orgId!, req.query.cursor as string | undefined, req.query.limit ? Number(req.query.limit) : 50),
  },
  // ---- retroactive rules (property-rules.ts): read with properties.read, changed by editors and up
  {
    method: 'get',
    path: '/api/properties/:propertyId/rules',
    access: 'properties.read',
    scope: 'property',
    summary:
      "The property's retroactive rules (internal-traffic rules and filter, extra bot patterns, own channel group or null for GA4's default) and the default channel group's rules as data.",
    handler: async ({ params, deps }) => getRules(deps.service.db, params.propertyId),
  },
  {
    method: 'patch',
    path: '/api/properties/:propertyId/rules',
    access: 'properties.update',
    scope: 'property',
    body: PropertyRulesPatch,
    summary:
      "Change retroactive rules (any of internalTraffic, botPatterns, channelRules; channelRules null = the default group). New events follow them within seconds; past events on a replay: the answer's replaySuggestion {from, to, dryRun: true} is the range to replay (POST /api/support/replays). 400 invalid_rule names the field path of an unusable CIDR, pattern or rule.",
    handler: async (ctx) => {
      const result = await updateRules(ctx.deps.service.db, ctx.actor, ctx.params.propertyId, ctx.body);
      ctx.deps.onCredentialsChanged?.();
      return result;
    },
  },
];

/** The organisation a scoped route's object belongs to, or null when it does not exist. */
export async function organizationOf(service: TenancyService, scope: Scope, params: Record<string, string>): Promise<string | null> {
  // ids are ours (hex, digits): anything else cannot exist, and NUL would make PostgreSQL fail
  for (const v of Object.values(params)) if (!/^[\w-]{1,64}$/.test(v)) return null;
  if (scope === 'org') return (await service.orgExists(params.orgId)) ? params.orgId : null;
  if (scope === 'property') return (await service.propertyRow(params.propertyId))?.organization_id ?? null;
  if (scope === 'custom') return null;
  return (await service.keyRow(params.keyId))?.organization_id ?? null;
}

export { notFound };

import type { Request, Response } from 'express';
import type { z } from 'zod';
import type { Actor } from './audit.repository.js';
import type { Access, Role } from './permissions.js';
import type { SessionLayer, SessionUser } from './session-auth.js';
import type { TenancyService } from './tenancy.service.js';

/**
 * The shape of the accounts route table's entries (`accounts.routes.ts`), in a file of its own so
 * a feature's route list (custom definitions) can name it without importing the table that
 * includes it.
 */

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

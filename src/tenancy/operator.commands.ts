import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { TallyError } from '../infra/errors.js';
import type { TenancyService } from './tenancy.service.js';
import { userView } from './tenancy.views.js';

const operator = { kind: 'operator' as const };
const propertyId = z.string().regex(/^\d{1,18}$/, 'a numeric property id');
/** How long a rotated key's old secret keeps working: at most 30 days (API and CLI alike). */
export const GracePeriodSeconds = z
  .number()
  .int()
  .min(0)
  .max(30 * 86_400)
  .optional();
const keyId = z.string().regex(/^[\w-]{1,64}$/, 'a key id');

/**
 * What the local operator can do from the CLI (`tally user|org|key …`). The same commands run
 * through a running server's admin endpoint (PGlite is single-process) or on the DB directly, and
 * call the same TenancyService as the management API.
 */
export const OPERATOR_COMMANDS = {
  'users.create': {
    input: z.strictObject({ email: z.email(), name: z.string().max(200).optional(), password: z.string().max(1024).optional(), staff: z.boolean().optional() }),
    run: async (svc: TenancyService, i: { email: string; name?: string; password?: string; staff?: boolean }) => {
      // without a password: a random one, shown once (the user can reset it by e-mail)
      const password = i.password ?? randomBytes(18).toString('base64url');
      const user = await svc.createUser({ email: i.email, password, name: i.name ?? null, isStaff: i.staff ?? false, verified: true });
      return { user: userView(user), ...(i.password ? {} : { password }) };
    },
  },
  'orgs.list': {
    input: z.strictObject({}),
    run: async (svc: TenancyService) => ({ organizations: await svc.allOrgs() }),
  },
  'keys.list': {
    input: z.strictObject({ propertyId }),
    run: async (svc: TenancyService, i: { propertyId: string }) => {
      if (!(await svc.propertyRow(i.propertyId))) throw new TallyError('not_found', `no property ${i.propertyId}`);
      return { keys: await svc.listKeys(i.propertyId) };
    },
  },
  'keys.create': {
    input: z.strictObject({ propertyId, kind: z.enum(['ingest', 'read', 'mp_secret']), name: z.string().min(1).max(200) }),
    run: (svc: TenancyService, i: { propertyId: string; kind: 'ingest' | 'read' | 'mp_secret'; name: string }) => svc.createKey(operator, i.propertyId, i),
  },
  'keys.revoke': {
    input: z.strictObject({ keyId }),
    run: async (svc: TenancyService, i: { keyId: string }) => {
      await svc.revokeKey(operator, i.keyId);
      return { revoked: i.keyId };
    },
  },
  'keys.rotate': {
    input: z.strictObject({
      keyId,
      gracePeriodSeconds: GracePeriodSeconds,
    }),
    run: (svc: TenancyService, i: { keyId: string; gracePeriodSeconds?: number }) => svc.rotateKey(operator, i.keyId, i.gracePeriodSeconds ?? 0),
  },
} as const;

export type OperatorCommand = keyof typeof OPERATOR_COMMANDS;

export function isOperatorCommand(name: string): name is OperatorCommand {
  return Object.hasOwn(OPERATOR_COMMANDS, name);
}

export async function runOperatorCommand(svc: TenancyService, name: string, input: unknown): Promise<unknown> {
  if (!isOperatorCommand(name)) throw new TallyError('not_found', `no operator command ${name}`);
  const c = OPERATOR_COMMANDS[name];
  const parsed = c.input.safeParse(input ?? {});
  if (!parsed.success)
    throw new TallyError('invalid_argument', parsed.error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; '), {
      reason: 'invalid_body',
    });
  return (c.run as (s: TenancyService, i: unknown) => Promise<unknown>)(svc, parsed.data);
}

import { randomBytes } from 'node:crypto';
import type { Db } from '../infra/metadata/db.js';
import { hashSecret } from './secrets.js';
import type { Role } from './permissions.js';

export type TokenKind = 'verify_email' | 'password_reset' | 'invitation';

export interface AuthTokenRow {
  token_hash: string;
  kind: TokenKind;
  user_id: string | null;
  organization_id: string | null;
  email: string;
  role: Role | null;
  created_by: string | null;
  expires_at: Date;
  used_at: Date | null;
}

/** Single-use e-mailed tokens: only their hash is stored; consuming one marks it used atomically. */
export async function issueToken(
  db: Db,
  t: { kind: TokenKind; email: string; ttlMs: number; userId?: string; organizationId?: string; role?: Role; createdBy?: string },
): Promise<string> {
  const token = randomBytes(24).toString('base64url');
  await db('auth_tokens').insert({
    token_hash: hashSecret(token),
    kind: t.kind,
    email: t.email,
    user_id: t.userId ?? null,
    organization_id: t.organizationId ?? null,
    role: t.role ?? null,
    created_by: t.createdBy ?? null,
    expires_at: new Date(Date.now() + t.ttlMs),
  });
  return token;
}

/** The token's row, marked used; null when unknown, of another kind, expired or already used. */
export async function consumeToken(db: Db, kind: TokenKind, token: string): Promise<AuthTokenRow | null> {
  if (typeof token !== 'string' || token.length > 200) return null;
  const [row] = await db('auth_tokens')
    .where({ token_hash: hashSecret(token), kind })
    .whereNull('used_at')
    .andWhere('expires_at', '>', new Date())
    .update({ used_at: new Date() })
    .returning('*');
  return (row as AuthTokenRow | undefined) ?? null;
}

/** An unused, unexpired token without consuming it (to check an invitation before accepting). */
export async function peekToken(db: Db, kind: TokenKind, token: string): Promise<AuthTokenRow | null> {
  if (typeof token !== 'string' || token.length > 200) return null;
  const row = await db('auth_tokens')
    .where({ token_hash: hashSecret(token), kind })
    .whereNull('used_at')
    .andWhere('expires_at', '>', new Date())
    .first();
  return (row as AuthTokenRow | undefined) ?? null;
}

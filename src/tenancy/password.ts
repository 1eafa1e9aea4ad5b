import fs from 'node:fs';
import { hash, verify } from '@node-rs/argon2';

/**
 * Passwords: argon2id (OWASP's minimum: 19 MiB, 2 passes, 1 lane), at least 10 characters, at
 * most 256 (argon2 takes any length; the cap bounds the work one request can ask for), and not in
 * the shipped list of common passwords.
 */
const OPTIONS = {
  algorithm: 2 /* Algorithm.Argon2id (a const enum, not importable under isolatedModules) */ as const,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
};
export const MIN_PASSWORD = 10;
export const MAX_PASSWORD = 256;

let common: Set<string> | null = null;
function commonPasswords(): Set<string> {
  common ??= new Set(
    fs
      .readFileSync(new URL('./common-passwords.txt', import.meta.url), 'utf8')
      .split('\n')
      .map((l) => l.trim().toLowerCase())
      .filter((l) => l && !l.startsWith('#')),
  );
  return common;
}

/** Why a password is refused, or null when it is acceptable. */
export function passwordProblem(password: string): string | null {
  if (password.length < MIN_PASSWORD) return `must be at least ${MIN_PASSWORD} characters`;
  if (password.length > MAX_PASSWORD) return `must be at most ${MAX_PASSWORD} characters`;
  if (commonPasswords().has(password.toLowerCase())) return 'is too common; choose another';
  return null;
}

export function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS);
}

export async function verifyPassword(stored: string | null, password: string): Promise<boolean> {
  // an account without a password (made by `tenant create`, or SSO) still costs one hash, so the
  // answer's timing does not tell which e-mails exist
  if (!stored) {
    await hash(password, OPTIONS);
    return false;
  }
  try {
    return await verify(stored, password);
  } catch {
    return false;
  }
}

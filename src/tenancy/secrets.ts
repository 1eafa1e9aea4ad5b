import crypto, { createHash, randomBytes } from 'node:crypto';
import type { KeyScope } from '../domain/tenant-property.js';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

function base62(bytes: number): string {
  const buf = randomBytes(bytes);
  let out = '';
  for (const b of buf) out += ALPHABET[b % 62];
  return out;
}

export type { KeyScope };

const PREFIX: Record<KeyScope, string> = { ingest: 'tk_ing_', read: 'tk_read_', mp_secret: '' };

/** A new secret for `scope`: shown once to its owner, only its hash is stored. */
export function newSecret(scope: KeyScope): string {
  // GA4 API secrets are 22 URL-safe characters; ours look the same so existing tooling accepts them.
  if (scope === 'mp_secret') return randomBytes(16).toString('base64url').slice(0, 22);
  return PREFIX[scope] + base62(32);
}

/** Node's one-shot hash (20.12+): half the cost of a Hash object, which the collector paid per request. */
const oneShot = (crypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash;

/**
 * The stored form of a secret (sha256, hex). Not cached: a cache keyed by the secret would be a
 * plaintext-keyed map whose lookup time depends on the key, and one keyed safely needs a keyed hash
 * that costs what this does (~1 µs).
 */
export function hashSecret(secret: string): string {
  return oneShot ? oneShot('sha256', secret, 'hex') : createHash('sha256').update(secret).digest('hex');
}

/** What is shown in lists so an owner can tell keys apart without the key. */
export function displayPrefix(secret: string): string {
  return secret.slice(0, Math.min(12, secret.length - 4));
}

/** GA4-style measurement id: "G-" and ten upper-case alphanumerics. */
export function newMeasurementId(): string {
  const chars = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';
  const buf = randomBytes(10);
  let id = 'G-';
  for (const b of buf) id += chars[b % 36];
  return id;
}

export function newId(): string {
  return randomBytes(12).toString('hex');
}

import { createHash } from 'node:crypto';
import { IDENTITY_LINK_EVENT } from '../domain/identity-link.js';

/**
 * A person as a deletion names them: by user id or by client id, as GA4's user deletion does.
 * A user id matches every record carrying it, and the identity links naming it; a client id
 * every record of that client, and its links. (A user's anonymous history under a client id that
 * other people may share is not guessed at: delete that client id too if it is theirs.)
 */
export interface Person {
  kind: 'user_id' | 'client_id';
  id: string;
}

/** What a receipt keeps instead of the identifier: its SHA-256 within the property. */
export function subjectHash(propertyId: string, p: Person): string {
  return createHash('sha256').update(`${propertyId}\n${p.kind}\n${p.id}`).digest('hex');
}

/** Whether a raw event record (one NDJSON line of the raw zone) is the person's, on this property. */
export function rawEventIsPerson(rec: Record<string, unknown>, propertyId: string, p: Person): boolean {
  if (String(rec.property_id) !== propertyId) return false;
  if (rec[p.kind] === p.id) return true;
  // an identity link carries both ids in its params too
  const params = rec.params as Record<string, unknown> | null | undefined;
  return rec.name === IDENTITY_LINK_EVENT && params != null && params[p.kind] === p.id;
}

/**
 * Whether a dead letter holds the person: its payload (whatever the protocol sent) has the id as
 * a string value anywhere, ten levels deep at most. Ids are random enough that a match is theirs.
 */
export function deadLetterIsPerson(rec: Record<string, unknown>, propertyId: string, p: Person): boolean {
  if (String(rec.property_id) !== propertyId) return false;
  return holds(rec.payload, p.id, 0);
}

function holds(v: unknown, id: string, depth: number): boolean {
  if (v === id) return true;
  if (depth > 10 || v === null || typeof v !== 'object') return false;
  return Object.values(v as Record<string, unknown>).some((x) => holds(x, id, depth + 1));
}

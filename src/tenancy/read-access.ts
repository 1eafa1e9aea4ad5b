import type { TenantProperty } from '../domain/tenant-property.js';
import { TallyError } from '../infra/errors.js';
import type { CredentialCache } from './credential-cache.js';

/**
 * Read-key authorisation for the report API: a bearer read key of the property it asks for.
 * Another property's key is `permission_denied`, never that property's data.
 */
export function readAccess(credentials: Pick<CredentialCache, 'resolveKey'>) {
  return async (token: string | null, propertyId: string): Promise<TenantProperty> => {
    if (!token) throw new TallyError('unauthenticated', 'a read key is required as "Authorization: Bearer <key>"');
    const p = credentials.resolveKey(token, 'read');
    if (!p) throw new TallyError('unauthenticated', 'unknown or revoked read key');
    if (p.propertyId !== propertyId) throw new TallyError('permission_denied', `the key may not read property ${propertyId}`);
    return p;
  };
}

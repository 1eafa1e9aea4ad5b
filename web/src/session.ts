import { createContext } from 'preact';
import { useContext, useEffect, useState } from 'preact/hooks';
import { accounts, type Me, type Organization, type Property, type Role } from './api';

/** Who is signed in, their organisations and the properties of each, loaded once per change. */
export interface Session {
  me: Me;
  orgs: Organization[];
  properties: Property[];
}

export async function loadSession(): Promise<Session | null> {
  // both at once: a signed-out visitor's orgs answer 401 and is ignored
  // the CSRF token too, so that the first report does not wait for it
  const [me, orgs] = await Promise.all([accounts.me(), accounts.orgs().catch(() => null), accounts.csrf()]);
  if (!me || !orgs) return null;
  const properties = (
    await Promise.all(orgs.map((o) => accounts.properties(o.id).then((ps) => ps.map((p) => ({ ...p, organizationId: p.organizationId || o.id })))))
  ).flat();
  return { me, orgs, properties };
}

export interface SessionContext {
  session: Session | null;
  /** Reloads me, organisations and properties (after a change). */
  refresh: () => Promise<Session | null>;
}

export const SessionCtx = createContext<SessionContext>({ session: null, refresh: async () => null });

export const useSession = () => useContext(SessionCtx);

export function roleIn(session: Session | null, orgId: string): Role | null {
  return session?.me.memberships.find((m) => m.organizationId === orgId)?.role ?? null;
}

const RANK: Record<Role, number> = { viewer: 0, editor: 1, admin: 2, owner: 3 };
export const atLeast = (role: Role | null, needed: Role) => role !== null && RANK[role] >= RANK[needed];

/** The property a page is about (loaded fresh), its organisation and the signed-in person's role there. */
export function usePropertyPage(propertyId: string) {
  const { session } = useSession();
  const [property, setProperty] = useState<Property | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    accounts.property(propertyId).then(setProperty, setError);
  }, [propertyId]);
  const orgId = property?.organizationId || session?.properties.find((p) => p.id === propertyId)?.organizationId || session?.orgs[0]?.id || '';
  return { property, setProperty, error, orgId, role: roleIn(session, orgId) };
}

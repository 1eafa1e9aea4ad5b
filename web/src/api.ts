/**
 * The console's only way to the server: the accounts API (`/api/…`) and the public GA4 Data API
 * (`/v1beta/…`), both with the session cookie, and the `X-CSRF-Token` header on every request
 * that changes state.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly reason: string,
    message: string,
    readonly fields: Record<string, string> = {},
    readonly retryAfter: number | null = null,
  ) {
    super(message);
  }
}

/** The session's CSRF token, fetched once for everyone who needs it at the same time. */
let csrf: Promise<string> | null = null;

function csrfToken(fresh = false): Promise<string> {
  if (csrf && !fresh) return csrf;
  csrf = fetch('/api/auth/csrf', { credentials: 'same-origin', headers: { accept: 'application/json' } })
    .then((r) => r.json())
    .then((body: { token?: string }) => body.token ?? '')
    .catch(() => {
      csrf = null;
      return '';
    });
  return csrf;
}

/** Forget the CSRF token (it belongs to the session, which changes at login and logout). */
export function resetSession(): void {
  csrf = null;
}

function fieldMessages(err: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  const raw = err.fields ?? err.issues ?? err.details;
  if (Array.isArray(raw)) {
    for (const i of raw as { path?: unknown; field?: string; message?: string }[]) {
      const name = i.field ?? (Array.isArray(i.path) ? i.path.join('.') : String(i.path ?? ''));
      if (name && i.message) out[name] = i.message;
    }
  } else if (raw && typeof raw === 'object') {
    for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
      if (typeof v === 'string') out[k] = v;
      else if (Array.isArray(v) && typeof v[0] === 'string') out[k] = v[0];
    }
  }
  return out;
}

async function toError(r: Response): Promise<ApiError> {
  const body = (await r.json().catch(() => null)) as { error?: Record<string, unknown> } | null;
  const e = body?.error ?? {};
  const retry = Number(r.headers.get('retry-after'));
  // accounts errors: {error:{code, reason, message}}; GA4 errors: {error:{code: 400, status, message}}
  const code = typeof e.code === 'string' ? e.code : String(e.status ?? r.status);
  const reason = typeof e.reason === 'string' ? e.reason : code;
  const message =
    typeof e.message === 'string' && e.message
      ? e.message
      : r.status === 404
        ? 'Not found.'
        : r.status >= 500
          ? 'The server could not answer. Try again in a moment.'
          : `The request failed (${r.status}).`;
  return new ApiError(r.status, code, reason, message, fieldMessages(e), Number.isFinite(retry) && retry > 0 ? retry : null);
}

export async function request<T = unknown>(method: string, url: string, body?: unknown, extra: Record<string, string> = {}): Promise<T> {
  const unsafe = method !== 'GET' && method !== 'HEAD';
  const send = async (fresh: boolean) => {
    const headers: Record<string, string> = { accept: 'application/json', ...extra };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (unsafe) headers['x-csrf-token'] = await csrfToken(fresh);
    return fetch(url, { method, credentials: 'same-origin', headers, body: body === undefined ? undefined : JSON.stringify(body) });
  };
  let r: Response;
  try {
    r = await send(false);
    // a session that changed under us (login elsewhere, expiry) has a new token: fetch it once
    if (unsafe && r.status === 403) {
      const again = r.clone();
      const b = (await again.json().catch(() => null)) as { error?: { reason?: string; code?: string } } | null;
      if (/csrf/i.test(`${b?.error?.reason ?? ''} ${b?.error?.code ?? ''}`)) r = await send(true);
    }
  } catch {
    throw new ApiError(0, 'network', 'network', 'Tally cannot be reached. Check your connection and try again.');
  }
  if (r.status === 204) return undefined as T;
  if (!r.ok) throw await toError(r);
  const text = await r.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

export const api = {
  get: <T>(url: string) => request<T>('GET', url),
  post: <T>(url: string, body: unknown = {}) => request<T>('POST', url, body),
  patch: <T>(url: string, body: unknown) => request<T>('PATCH', url, body),
  del: <T>(url: string) => request<T>('DELETE', url),
};

// ---- shapes of the accounts API (issue #10), read tolerantly ----

export type Role = 'owner' | 'admin' | 'editor' | 'viewer';

export interface User {
  id: string;
  email: string;
  name: string;
  emailVerified: boolean;
}
export interface Membership {
  organizationId: string;
  role: Role;
}
export interface Me {
  user: User;
  memberships: Membership[];
}
export interface Organization {
  id: string;
  name: string;
  plan?: string;
}
export interface Property {
  id: string;
  organizationId: string;
  name: string;
  measurementId?: string;
  /** the site's host name (events from other hosts are refused when set) */
  domain: string;
  timeZone: string;
  currency: string;
  sessionTimeoutMinutes?: number;
  engagedSessionSeconds?: number;
  keyEvents: string[];
  allowedHostnames: string[];
  snippets: Record<string, unknown>;
  raw: Record<string, unknown>;
}
export interface ApiKey {
  id: string;
  name: string;
  kind: string;
  prefix: string;
  createdAt?: string;
  lastUsedAt?: string | null;
  revokedAt?: string | null;
  expiresAt?: string | null;
}
export interface Member {
  userId: string;
  email: string;
  name: string;
  role: Role;
}
export interface Invitation {
  id: string;
  email: string;
  role: Role;
  createdAt?: string;
  expiresAt?: string;
}
export interface AuditEntry {
  id: string;
  at: string;
  actor: string;
  action: string;
  target: string;
  ip: string;
  before: unknown;
  after: unknown;
}

type Obj = Record<string, unknown>;
const str = (o: Obj, ...keys: string[]): string => {
  for (const k of keys) {
    const v = o[k];
    if (typeof v === 'string') return v;
    if (typeof v === 'number') return String(v);
  }
  return '';
};
const optStr = (o: Obj, ...keys: string[]): string | null => str(o, ...keys) || null;
const list = <T>(body: unknown, key: string, map: (o: Obj) => T): T[] => {
  const arr = Array.isArray(body)
    ? body
    : Array.isArray((body as Obj)?.[key])
      ? ((body as Obj)[key] as unknown[])
      : Array.isArray((body as Obj)?.items)
        ? ((body as Obj).items as unknown[])
        : [];
  return arr.map((x) => map(x as Obj));
};

export const toUser = (o: Obj): User => ({
  id: str(o, 'id', 'userId'),
  email: str(o, 'email'),
  name: str(o, 'name', 'displayName'),
  emailVerified: Boolean(o.emailVerified ?? o.verified ?? o.email_verified ?? o.emailVerifiedAt ?? o.email_verified_at),
});
export const toOrg = (o: Obj): Organization => ({ id: str(o, 'id', 'organizationId'), name: str(o, 'name'), plan: optStr(o, 'plan') ?? undefined });
export const toProperty = (o: Obj): Property => {
  const num = (...k: string[]) => {
    for (const key of k) if (typeof o[key] === 'number') return o[key] as number;
    return undefined;
  };
  const arr = (...k: string[]) => {
    for (const key of k) if (Array.isArray(o[key])) return (o[key] as unknown[]).map(String);
    return [];
  };
  return {
    id: str(o, 'id', 'propertyId'),
    organizationId: str(o, 'organizationId', 'orgId'),
    name: str(o, 'name', 'displayName'),
    measurementId: optStr(o, 'measurementId', 'measurement_id') ?? undefined,
    domain: str(o, 'domain'),
    timeZone: str(o, 'timeZone', 'time_zone') || 'UTC',
    currency: str(o, 'currencyCode', 'currency') || 'USD',
    sessionTimeoutMinutes:
      num('sessionTimeoutMinutes', 'session_timeout_minutes') ?? (num('sessionTimeoutSeconds') !== undefined ? num('sessionTimeoutSeconds')! / 60 : undefined),
    engagedSessionSeconds: num('engagedSessionSeconds', 'engaged_session_seconds'),
    keyEvents: arr('keyEvents', 'key_events'),
    allowedHostnames: arr('allowedHostnames', 'allowed_hostnames'),
    snippets: ((o.installSnippets ?? o.snippets ?? {}) as Obj) ?? {},
    raw: o,
  };
};
export const toKey = (o: Obj): ApiKey => ({
  id: str(o, 'id', 'keyId'),
  name: str(o, 'name'),
  kind: str(o, 'kind', 'type'),
  prefix: str(o, 'prefix', 'keyPrefix'),
  createdAt: optStr(o, 'createdAt', 'created_at') ?? undefined,
  lastUsedAt: optStr(o, 'lastUsedAt', 'last_used_at'),
  revokedAt: optStr(o, 'revokedAt', 'revoked_at'),
  expiresAt: optStr(o, 'expiresAt', 'expires_at'),
});
export const toMember = (o: Obj): Member => {
  const u = (o.user ?? {}) as Obj;
  return {
    userId: str(o, 'userId', 'id') || str(u, 'id'),
    email: str(o, 'email') || str(u, 'email'),
    name: str(o, 'name') || str(u, 'name'),
    role: (str(o, 'role') || 'viewer') as Role,
  };
};
export const toInvitation = (o: Obj): Invitation => ({
  id: str(o, 'id', 'invitationId'),
  email: str(o, 'email'),
  role: (str(o, 'role') || 'viewer') as Role,
  createdAt: optStr(o, 'createdAt', 'created_at') ?? undefined,
  expiresAt: optStr(o, 'expiresAt', 'expires_at') ?? undefined,
});
export const toAudit = (o: Obj): AuditEntry => {
  const actor = o.actor && typeof o.actor === 'object' ? (o.actor as Obj) : null;
  const target = o.target && typeof o.target === 'object' ? (o.target as Obj) : null;
  return {
    id: str(o, 'id'),
    at: str(o, 'time', 'at', 'createdAt'),
    actor: actor ? str(actor, 'email', 'userId', 'kind') : str(o, 'actor'),
    action: str(o, 'action'),
    // long random ids are noise in a list: the type, and a short id for numeric or short ones
    target: target ? [str(target, 'type'), str(target, 'id').length <= 12 ? str(target, 'id') : ''].filter(Boolean).join(' ') : str(o, 'target'),
    ip: str(o, 'ip', 'ipAddress'),
    before: o.before ?? null,
    after: o.after ?? null,
  };
};

// ---- calls ----

export const accounts = {
  me: async (): Promise<Me | null> => {
    try {
      const b = await api.get<Obj>('/api/me');
      return {
        user: toUser((b.user ?? {}) as Obj),
        memberships: list(b, 'memberships', (m) => ({ organizationId: str(m, 'organizationId', 'orgId'), role: str(m, 'role') as Role })),
      };
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return null;
      throw e;
    }
  },
  csrf: csrfToken,
  signup: async (b: { email: string; password: string; name: string; organizationName: string }) => {
    const r = await api.post<Obj>('/api/auth/signup', b);
    resetSession();
    return r;
  },
  login: async (b: { email: string; password: string }) => {
    const r = await api.post<Obj>('/api/auth/login', b);
    resetSession();
    return r;
  },
  logout: async () => {
    await api.post('/api/auth/logout');
    resetSession();
  },
  verify: (token: string) => api.post('/api/auth/verify', { token }),
  resetRequest: (email: string) => api.post('/api/auth/password-reset', { email }),
  resetConfirm: (token: string, password: string) => api.post('/api/auth/password-reset/confirm', { token, password }),
  acceptInvitation: (token: string) => api.post<Obj>(`/api/invitations/${encodeURIComponent(token)}/accept`),

  orgs: async () => list(await api.get(`/api/orgs`), 'organizations', toOrg),
  createOrg: async (name: string) => toOrg(unwrap(await api.post<Obj>('/api/orgs', { name }), 'organization')),
  org: async (id: string) => toOrg(unwrap(await api.get<Obj>(`/api/orgs/${id}`), 'organization')),

  properties: async (orgId: string) => list(await api.get(`/api/orgs/${orgId}/properties`), 'properties', toProperty),
  createProperty: async (orgId: string, b: Obj) => toProperty(unwrap(await api.post<Obj>(`/api/orgs/${orgId}/properties`, b), 'property')),
  property: async (id: string) => toProperty(unwrap(await api.get<Obj>(`/api/properties/${id}`), 'property')),
  updateProperty: async (id: string, b: Obj) => toProperty(unwrap(await api.patch<Obj>(`/api/properties/${id}`, b), 'property')),
  /** The same PATCH, with the replay the API offers when a setting the transform reads changed. */
  updatePropertyWithReplay: async (id: string, b: Obj) => {
    const r = await api.patch<Obj>(`/api/properties/${id}`, b);
    return {
      property: toProperty(unwrap(r, 'property')),
      replaySuggestion: (r?.replaySuggestion ?? null) as { propertyId: string; from: string; to: string; dryRun: true } | null,
    };
  },

  keys: async (propertyId: string) => list(await api.get(`/api/properties/${propertyId}/keys`), 'keys', toKey),
  createKey: async (propertyId: string, b: { kind: string; name: string }) => secretOf(await api.post<Obj>(`/api/properties/${propertyId}/keys`, b)),
  revokeKey: (keyId: string) => api.del(`/api/keys/${keyId}`),
  rotateKey: async (keyId: string, graceSeconds: number) => secretOf(await api.post<Obj>(`/api/keys/${keyId}/rotate`, { gracePeriodSeconds: graceSeconds })),

  members: async (orgId: string) => {
    const b = await api.get<Obj>(`/api/orgs/${orgId}/members`);
    return { members: list(b, 'members', toMember), invitations: list((b as Obj)?.invitations ?? [], 'invitations', toInvitation) };
  },
  invite: (orgId: string, b: { email: string; role: Role }) => api.post(`/api/orgs/${orgId}/invitations`, b),
  setRole: (orgId: string, userId: string, role: Role) => api.patch(`/api/orgs/${orgId}/members/${userId}`, { role }),
  removeMember: (orgId: string, userId: string) => api.del(`/api/orgs/${orgId}/members/${userId}`),

  audit: async (orgId: string, cursor?: string) => {
    const b = await api.get<Obj>(`/api/orgs/${orgId}/audit${cursor ? `?cursor=${encodeURIComponent(cursor)}` : ''}`);
    return { entries: list(b, 'entries', toAudit), next: str(b ?? {}, 'nextCursor', 'cursor', 'next') || null };
  },
};

function unwrap(b: Obj, key: string): Obj {
  return (b && typeof b[key] === 'object' && b[key] !== null ? b[key] : b) as Obj;
}

function secretOf(b: Obj): { key: ApiKey; secret: string } {
  const key = toKey(unwrap(b, 'key'));
  return { key, secret: str(b, 'secret', 'token', 'value') || str(unwrap(b, 'key'), 'secret', 'token') };
}

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CookieClient } from '../../test/support/cookie-client.js';
import { startAccountsApp } from './accounts-app.testkit.js';

type AccountsApp = Awaited<ReturnType<typeof startAccountsApp>>;

/** An accounts app of its own for the enclosing describe: started before its tests, closed after them. */
function accountsAppPerSuite(): () => AccountsApp {
  let app: AccountsApp | undefined;
  beforeAll(async () => {
    app = await startAccountsApp();
  }, 120_000);
  afterAll(async () => app?.close());
  return () => {
    if (!app) throw new Error('the accounts app runs only inside the suite');
    return app;
  };
}

describe('accounts API', () => {
  const app = accountsAppPerSuite();

  it('signs up, verifies from the outbox, logs out and in again with a new session id', async () => {
    const c = new CookieClient(app().baseUrl);
    const s = await c.post('/api/auth/signup', { email: 'Ann@Acme.test', password: 'a long enough secret', name: 'Ann', organizationName: 'Acme' });
    expect(s.status).toBe(201);
    expect(s.body.user).toMatchObject({ email: 'ann@acme.test', emailVerified: false });
    expect(s.body.organization.plan.id).toBe('free');
    const setCookie = s.headers.getSetCookie()[0];
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Lax/);
    expect(setCookie).not.toMatch(/Secure/);
    const first = c.cookieHeader();

    expect((await c.post('/api/auth/verify', { token: app().tokenFor('ann@acme.test', 'verify') })).status).toBe(200);
    expect((await c.get('/api/me')).body.user.emailVerified).toBe(true);
    // a verification link works once
    expect((await c.post('/api/auth/verify', { token: app().tokenFor('ann@acme.test', 'verify') })).body.error.reason).toBe('invalid_token');

    expect((await c.post('/api/auth/logout')).status).toBe(403); // no CSRF token
    await c.csrf();
    expect((await c.post('/api/auth/logout')).status).toBe(204);
    expect((await c.get('/api/me')).status).toBe(401);

    const l = await c.post('/api/auth/login', { email: 'ann@acme.test', password: 'a long enough secret' });
    expect(l.status).toBe(200);
    expect(l.body.memberships).toEqual([{ organizationId: s.body.organization.id, role: 'owner' }]);
    expect(c.cookieHeader()).not.toBe(first);
    expect((await c.get('/api/me')).status).toBe(200);
  });

  it('answers 409 for a taken e-mail, 422 with field messages for bad fields and weak passwords', async () => {
    const c = new CookieClient(app().baseUrl);
    const dup = await c.post('/api/auth/signup', { email: 'ann@acme.test', password: 'another long secret', name: 'A', organizationName: 'X' });
    expect(dup.status).toBe(409);
    const bad = await c.post('/api/auth/signup', { email: 'not-an-email', password: 5, name: '', organizationName: 'X' });
    expect(bad.status).toBe(422);
    expect(Object.keys(bad.body.error.fields).sort()).toEqual(['email', 'name', 'password']);
    expect(bad.body.error).toMatchObject({ code: 'unprocessable', reason: 'invalid_body' });
    for (const pw of ['short', 'password123', 'Qwertyuiop']) {
      const r = await c.post('/api/auth/signup', { email: `w${pw.length}@acme.test`, password: pw, name: 'W', organizationName: 'W' });
      expect(r.status, pw).toBe(422);
      expect(r.body.error.fields.password).toBeDefined();
    }
  });

  it('gives the same 401 for an unknown e-mail and a wrong password, then 429 with Retry-After after 10 failures', async () => {
    const c = new CookieClient(app().baseUrl);
    const unknown = await c.post('/api/auth/login', { email: 'nobody@acme.test', password: 'whatever it is here' });
    const wrong = await c.post('/api/auth/login', { email: 'ann@acme.test', password: 'not the password' });
    expect(unknown.status).toBe(401);
    expect(wrong.status).toBe(401);
    expect(unknown.body).toEqual(wrong.body);
    for (let i = 0; i < 9; i++) await c.post('/api/auth/login', { email: 'ann@acme.test', password: 'not the password' });
    const limited = await c.post('/api/auth/login', { email: 'ann@acme.test', password: 'a long enough secret' });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.body.error.reason).toBe('too_many_logins');
  });
});

describe('organisations, members, properties, keys and audit', () => {
  const app = accountsAppPerSuite();

  async function signUp(email: string, org = 'Org') {
    const c = new CookieClient(app().baseUrl);
    const r = await c.post('/api/auth/signup', { email, password: 'first day password', name: email.split('@')[0], organizationName: org });
    expect(r.status).toBe(201);
    await c.csrf();
    return { c, orgId: r.body.organization.id as string, userId: r.body.user.id as string };
  }

  it('walks an owner and an invited viewer through properties, keys, reports, revocation and the audit log', async () => {
    const { c, orgId } = await signUp('owner@first.test', 'First');
    // unverified: one property, no invitations
    const p = await c.post(`/api/orgs/${orgId}/properties`, { name: 'Shop', domain: 'shop.first.test', timeZone: 'Europe/Berlin', keyEvents: ['purchase'] });
    expect(p.status).toBe(201);
    const property = p.body.property;
    expect(property).toMatchObject({ timeZone: 'Europe/Berlin', currencyCode: 'USD', measurementId: expect.stringMatching(/^G-/) });
    expect(property.installSnippets.tallyJs).toContain(`data-mid="${property.measurementId}"`);
    expect((await c.post(`/api/orgs/${orgId}/properties`, { name: 'Two', domain: 'two.first.test' })).body.error.reason).toBe('email_not_verified');
    expect((await c.post(`/api/orgs/${orgId}/invitations`, { email: 'viewer@first.test', role: 'viewer' })).body.error.reason).toBe('email_not_verified');
    await c.post('/api/auth/verify', { token: app().tokenFor('owner@first.test', 'verify') });

    const created = await c.post(`/api/properties/${property.id}/keys`, { kind: 'read', name: 'dashboards' });
    expect(created.status).toBe(201);
    expect(created.body.secret).toMatch(/^tk_read_/);
    const list = await c.get(`/api/properties/${property.id}/keys`);
    expect(list.body.keys.map((k: any) => k.name)).toEqual(['dashboards']);
    expect(JSON.stringify(list.body)).not.toContain(created.body.secret);

    // reports: the session (with CSRF) and the read key both work
    expect((await c.post(`/v1beta/properties/${property.id}:runReport`, {})).status).toBe(200);
    expect((await c.post(`/v1beta/properties/${property.id}:runReport`, {}, { 'x-csrf-token': 'nope' })).status).toBe(403);
    // the v1alpha methods (runFunnelReport) take the member's session too
    expect((await c.post(`/v1alpha/properties/${property.id}:runFunnelReport`, {})).status).toBe(200);
    expect((await c.post(`/v1alpha/properties/${property.id}:runFunnelReport`, {}, { 'x-csrf-token': 'nope' })).status).toBe(403);
    const byKey = await fetch(`${app().baseUrl}/v1beta/properties/${property.id}:runReport`, {
      method: 'POST',
      headers: { authorization: `Bearer ${created.body.secret}` },
    });
    expect(byKey.status).toBe(200);

    // invite a viewer; they sign up with the invited address and accept
    expect((await c.post(`/api/orgs/${orgId}/invitations`, { email: 'viewer@first.test', role: 'viewer' })).status).toBe(201);
    const inviteToken = app().tokenFor('viewer@first.test', 'invitations');
    const stranger = await signUp('stranger@first.test', 'Elsewhere');
    expect((await stranger.c.post(`/api/invitations/${inviteToken}/accept`)).status).toBe(404); // not their invitation
    const viewer = await signUp('viewer@first.test', 'Viewer Own');
    expect((await viewer.c.post(`/api/invitations/${inviteToken}/accept`)).body.membership).toEqual({ organizationId: orgId, role: 'viewer' });
    expect((await viewer.c.post(`/api/invitations/${inviteToken}/accept`)).status).toBe(404); // single use
    expect((await viewer.c.post(`/api/properties/${property.id}/keys`, { kind: 'ingest', name: 'mine' })).status).toBe(403);
    expect((await viewer.c.post(`/v1beta/properties/${property.id}:runReport`, {})).status).toBe(200);

    // someone in another organisation never learns the property exists
    expect((await stranger.c.get(`/api/properties/${property.id}`)).status).toBe(404);
    expect((await stranger.c.post(`/v1beta/properties/${property.id}:runReport`, {})).status).toBe(404);
    expect((await stranger.c.post(`/v1alpha/properties/${property.id}:runFunnelReport`, {})).status).toBe(404);
    expect((await stranger.c.request('DELETE', `/api/keys/${created.body.key.id}`)).status).toBe(404);

    // revoke: this process's cache drops the key at once
    expect((await c.delete(`/api/keys/${created.body.key.id}`)).status).toBe(204);
    await new Promise((r) => setTimeout(r, 50));
    const revoked = await fetch(`${app().baseUrl}/v1beta/properties/${property.id}:runReport`, {
      method: 'POST',
      headers: { authorization: `Bearer ${created.body.secret}` },
    });
    expect(revoked.status).toBe(401);

    // the last owner cannot leave or be demoted
    const members = (await c.get(`/api/orgs/${orgId}/members`)).body.members;
    const me = members.find((m: any) => m.role === 'owner');
    expect((await c.patch(`/api/orgs/${orgId}/members/${me.userId}`, { role: 'admin' })).body.error.reason).toBe('last_owner');

    const audit = await c.get(`/api/orgs/${orgId}/audit?limit=3`);
    expect(audit.body.entries.map((e: any) => e.action)).toEqual(['key.revoke', 'member.join', 'member.invite']);
    expect(audit.body.entries[0]).toMatchObject({
      actor: { kind: 'user', email: 'owner@first.test' },
      ip: expect.any(String),
      before: expect.objectContaining({ kind: 'read' }),
    });
    const next = await c.get(`/api/orgs/${orgId}/audit?cursor=${audit.body.nextCursor}`);
    expect(next.body.entries.map((e: any) => e.action)).toEqual(['key.create', 'property.create', 'organization.create']);
    expect(next.body.nextCursor).toBeNull();
    await expect(app().db('audit_log').where({ organization_id: orgId }).del()).rejects.toThrow(/append-only/);
  });

  it('rotates a key with a grace period: both work until it ends, then only the new one', async () => {
    const { c, orgId } = await signUp('rot@first.test', 'Rot');
    const property = (await c.post(`/api/orgs/${orgId}/properties`, { name: 'R', domain: 'r.test' })).body.property;
    const k = (await c.post(`/api/properties/${property.id}/keys`, { kind: 'read', name: 'r' })).body;
    const rotated = await c.post(`/api/keys/${k.key.id}/rotate`, { gracePeriodSeconds: 1 });
    expect(rotated.status).toBe(201);
    expect(rotated.body.previous.expiresAt).toBeTruthy();
    await app().credentials.refresh();
    expect(app().credentials.resolveKey(k.secret, 'read')?.propertyId).toBe(property.id);
    expect(app().credentials.resolveKey(rotated.body.secret, 'read')?.propertyId).toBe(property.id);
    await new Promise((r) => setTimeout(r, 1100));
    await app().credentials.refresh();
    expect(app().credentials.resolveKey(k.secret, 'read')).toBeNull();
    expect(app().credentials.resolveKey(rotated.body.secret, 'read')?.propertyId).toBe(property.id);
  });

  it('resets a password by e-mailed link (single use) and ends every session of the user', async () => {
    const { c } = await signUp('reset@first.test', 'Reset');
    const other = new CookieClient(app().baseUrl);
    await other.post('/api/auth/login', { email: 'reset@first.test', password: 'first day password' });
    expect((await other.get('/api/me')).status).toBe(200);
    const anon = new CookieClient(app().baseUrl);
    expect((await anon.post('/api/auth/password-reset', { email: 'reset@first.test' })).status).toBe(202);
    expect((await anon.post('/api/auth/password-reset', { email: 'nobody@first.test' })).status).toBe(202);
    const token = app().tokenFor('reset@first.test', 'password-reset');
    expect((await anon.post('/api/auth/password-reset/confirm', { token, password: 'a brand new password' })).status).toBe(200);
    expect((await anon.post('/api/auth/password-reset/confirm', { token, password: 'yet another password' })).status).toBe(400);
    expect((await c.get('/api/me')).status).toBe(401);
    expect((await other.get('/api/me')).status).toBe(401);
    expect((await anon.post('/api/auth/login', { email: 'reset@first.test', password: 'a brand new password' })).status).toBe(200);
  });
});

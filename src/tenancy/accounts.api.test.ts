import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CookieClient } from '../../test/support/cookie-client.js';
import { startAccountsApp } from './accounts-app.testkit.js';

type App = Awaited<ReturnType<typeof startAccountsApp>>;

describe('accounts API', () => {
  let app: App;
  beforeAll(async () => {
    app = await startAccountsApp();
  }, 120_000);
  afterAll(async () => app?.close());

  it('signs up, verifies from the outbox, logs out and in again with a new session id', async () => {
    const c = new CookieClient(app.baseUrl);
    const s = await c.post('/api/auth/signup', { email: 'Ann@Acme.test', password: 'a long enough secret', name: 'Ann', organizationName: 'Acme' });
    expect(s.status).toBe(201);
    expect(s.body.user).toMatchObject({ email: 'ann@acme.test', emailVerified: false });
    expect(s.body.organization.plan.id).toBe('free');
    const setCookie = s.headers.getSetCookie()[0];
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Lax/);
    expect(setCookie).not.toMatch(/Secure/);
    const first = c.cookieHeader();

    expect((await c.post('/api/auth/verify', { token: app.tokenFor('ann@acme.test', 'verify') })).status).toBe(200);
    expect((await c.get('/api/me')).body.user.emailVerified).toBe(true);
    // a verification link works once
    expect((await c.post('/api/auth/verify', { token: app.tokenFor('ann@acme.test', 'verify') })).body.error.reason).toBe('invalid_token');

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
    const c = new CookieClient(app.baseUrl);
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
    const c = new CookieClient(app.baseUrl);
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

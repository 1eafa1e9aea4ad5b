import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CookieClient } from '../../test/support/cookie-client.js';
import { startAccountsApp } from './accounts-app.testkit.js';
import { API_ROUTES } from './accounts.routes.js';

type App = Awaited<ReturnType<typeof startAccountsApp>>;

/** Values of every wrong type, and a few hostile strings. */
const JUNK: unknown[] = [null, true, 0, -1, 1e308, 'x'.repeat(5000), '', '\u0000', '<script>', [], [1, 'a'], {}, { $ne: null }, { __proto__: { admin: true } }];
const BAD_IDS = ['0', '-1', '99999999999999999999', '1e5', '..%2F..%2Fetc', '%00', 'x'.repeat(300), '%F0%9F%92%A9'];

/**
 * Every route, signed in as an owner of a real organisation, with bodies of wrong types, fields of
 * every wrong type, malformed and oversized bodies, and junk ids: always a 4xx (or a 2xx when the
 * junk happens to be acceptable), never a 5xx.
 */
describe('every management route refuses bad input with a 4xx, never a 5xx', () => {
  let app: App;
  let c: CookieClient;
  let ids: Record<string, string>;

  beforeAll(async () => {
    app = await startAccountsApp();
    c = new CookieClient(app.baseUrl);
    const s = await c.post('/api/auth/signup', { email: 'fuzz@fuzz.test', password: 'fuzzing password 1', name: 'F', organizationName: 'Fuzz' });
    await app.db('users').where({ email: 'fuzz@fuzz.test' }).update({ email_verified_at: new Date() });
    await c.csrf();
    const p = await c.post(`/api/orgs/${s.body.organization.id}/properties`, { name: 'P', domain: 'p.fuzz.test' });
    const k = await c.post(`/api/properties/${p.body.property.id}/keys`, { kind: 'read', name: 'k' });
    ids = { orgId: s.body.organization.id, propertyId: p.body.property.id, keyId: k.body.key.id, userId: s.body.user.id, token: 'nope' };
  }, 120_000);
  afterAll(async () => app?.close());

  const expect4xx = (r: { status: number; body: any }, what: string) => {
    expect(r.status, `${what}: ${JSON.stringify(r.body)?.slice(0, 300)}`).toBeLessThan(500);
    if (r.status >= 400) expect(r.body?.error?.reason, what).toEqual(expect.any(String));
  };

  for (const route of API_ROUTES) {
    if (route.path === '/api/auth/logout' || route.method === 'delete') continue; // would end the fuzzing session or its objects; their junk ids are below
    it(`${route.method.toUpperCase()} ${route.path}`, async () => {
      const path = route.path.replace(/:(\w+)/g, (_, p: string) => ids[p]);
      const method = route.method.toUpperCase();
      if (method !== 'GET') {
        for (const body of JUNK) expect4xx(await c.request(method, path, JSON.stringify(body)), `${method} ${path} body ${JSON.stringify(body)?.slice(0, 40)}`);
        const fields = Object.keys((route.body as { shape?: Record<string, unknown> } | undefined)?.shape ?? {});
        for (const f of fields) for (const v of JUNK) expect4xx(await c.request(method, path, { [f]: v }), `${f}=${JSON.stringify(v)?.slice(0, 40)}`);
        expect4xx(await c.request(method, path, '{"email":'), 'malformed JSON');
        const big = await c.request(method, path, JSON.stringify({ name: 'x'.repeat(200_000) }));
        expect(big.status).toBe(route.body ? 413 : big.status);
        expect4xx(big, 'oversized');
      }
      for (const [k, v] of [
        ['cursor', 'abc'],
        ['cursor', '1'.repeat(30)],
        ['limit', '-5'],
        ['limit', 'many'],
      ])
        expect4xx(await c.get(`${path}?${k}=${v}`), `query ${k}=${v}`);
    }, 60_000);
  }

  it('junk ids in every scoped path answer 404 (or 401 for a route that needs none)', async () => {
    for (const route of API_ROUTES.filter((r) => r.scope || r.path.includes(':token'))) {
      for (const bad of BAD_IDS) {
        const path = route.path.replace(/:(\w+)/g, () => bad);
        const r = await c.request(route.method.toUpperCase(), path, route.body ? {} : undefined);
        expect([404, 422], `${route.method} ${path}: ${r.status}`).toContain(r.status);
      }
    }
  });
});

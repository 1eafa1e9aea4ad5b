import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CookieClient } from '../../test/support/cookie-client.js';
import { startAccountsApp } from './accounts-app.testkit.js';
import { API_ROUTES, type ApiRoute } from './accounts.routes.js';
import { can, PERMISSIONS, ROLES, type Role } from './permissions.js';
import { loadConfig } from '../infra/config/config.js';
import { createLogger } from '../infra/logger.js';
import { openEventLog, openObjectStore } from '../server/infra.factory.js';
import { supportApiRoutes, supportServices } from '../server/support.module.js';
import { InProcessJobQueue } from '../infra/jobs/in-process.job-queue.js';
import { PipelineStateRepository } from '../../jobs/pipeline-state.repository.js';
import { ReplayRepository } from '../support/replay.repository.js';
import { lifecycleRoutes } from '../lifecycle/lifecycle.routes.js';
import { lifecycleTestRoutes } from '../lifecycle/lifecycle-app.testkit.js';
import { LifecycleRepository } from '../lifecycle/lifecycle.repository.js';
import { billingRoutes } from '../billing/billing.routes.js';
import { BillingService, billingDisabled } from '../billing/billing.service.js';
import { noBilling } from '../billing/billing-provider.js';
import { EntitlementsReader } from '../billing/entitlements.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The support tools' routes (src/support) go through the same guard: they are in the matrix too. */
const supportDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-matrix-support-'));
const supportConfig = loadConfig({ TALLY_DATA_DIR: supportDir });
const SUPPORT_API_ROUTES = supportApiRoutes(null);
/** Billing's routes too (provider none: owners reach them, checkout and portal answer 409 billing_disabled). */
/** And the data lifecycle's (deletion, export, import, retention), on real embedded infrastructure. */
const ALL_ROUTES: readonly ApiRoute[] = [...API_ROUTES, ...SUPPORT_API_ROUTES, ...billingRoutes(null), ...lifecycleRoutes(null)];

type App = Awaited<ReturnType<typeof startAccountsApp>>;
const PASSWORD = 'matrix test password 1';
const operator = { kind: 'operator' as const };

/** A valid body for each route that takes one, so an allowed call is judged by its guard, not its validation. */
function bodyFor(route: ApiRoute, target: { memberId: string; propertyId?: string }): unknown {
  const key = `${route.method} ${route.path}`;
  const bodies: Record<string, unknown> = {
    'patch /api/orgs/:orgId': { name: 'Renamed' },
    'post /api/orgs/:orgId/invitations': { email: 'invitee@matrix.test', role: 'viewer' },
    'patch /api/orgs/:orgId/members/:userId': { role: 'viewer' },
    'post /api/orgs/:orgId/properties': { name: 'Second', domain: 'second.matrix.test' },
    'patch /api/properties/:propertyId': { keyEvents: ['purchase', 'sign_up'] },
    'patch /api/properties/:propertyId/rules': { botPatterns: [{ match: 'contains', value: 'MatrixKiosk' }] },
    'post /api/properties/:propertyId/keys': { kind: 'read', name: 'matrix' },
    'post /api/keys/:keyId/rotate': { gracePeriodSeconds: 0 },
    'post /api/properties/:propertyId/deletions': { userId: 'someone', reason: 'matrix' },
    'patch /api/properties/:propertyId/retention': { raw: 7 },
    'post /api/support/replays': { propertyId: target.propertyId ?? '0', from: '2026-11-01', to: '2026-11-02', dryRun: true, reason: 'matrix' },
    'post /api/properties/:propertyId/dead-letters/redrive': { reason: 'hostname_not_allowed' },
    'post /api/orgs/:orgId/billing/checkout': { planId: 'growth' },
  };
  void target;
  return bodies[key] ?? (route.body ? {} : undefined);
}

describe('permission matrix: every route × every role × own and other organisation', () => {
  let app: App;
  const clients: Record<string, CookieClient> = {};
  const users: Record<string, string> = {};

  let closeSupport = async () => undefined as void;
  beforeAll(async () => {
    const logger = createLogger('silent');
    const store = await openObjectStore(supportConfig);
    const log = await openEventLog(supportConfig, logger);
    // a queue that is never started: a replay asked for here is recorded and queued, not run
    const jobs = new InProcessJobQueue(logger);
    closeSupport = async () => {
      await jobs.stop();
      await log.close();
      await store.close();
    };
    app = await startAccountsApp({
      routes: async ({ db, credentials, dir }) => {
        const lifecycle = await lifecycleTestRoutes({ db, credentials, dir });
        return {
          close: lifecycle.close,
          routes: [
            ...lifecycle.routes,
            ...supportApiRoutes(supportServices({ config: supportConfig, logger, db, store, log, state: new PipelineStateRepository(db), credentials, jobs })),
            ...billingRoutes(
              new BillingService({
                db,
                provider: noBilling(billingDisabled),
                entitlements: new EntitlementsReader(db, { graceMs: 7 * 86_400_000 }),
                publicUrl: 'http://console.test',
              }),
            ),
          ],
        };
      },
    });
    for (const name of [...ROLES, 'staff', 'outsider']) {
      const u = await app.service.createUser({ email: `${name}@matrix.test`, password: PASSWORD, name, verified: true, isStaff: name === 'staff' });
      users[name] = u.id;
      const c = new CookieClient(app.baseUrl);
      expect((await c.post('/api/auth/login', { email: `${name}@matrix.test`, password: PASSWORD })).status).toBe(200);
      await c.csrf();
      clients[name] = c;
    }
    clients.anonymous = new CookieClient(app.baseUrl);
    await clients.anonymous.csrf();
  }, 120_000);
  afterAll(async () => {
    await app?.close();
    await closeSupport();
    fs.rmSync(supportDir, { recursive: true, force: true });
  });

  /** A fresh organisation with the four role holders (or only the outsider), a property, a key and an extra member. */
  async function fixture(members: 'roles' | 'outsider') {
    const owner = members === 'roles' ? users.owner : users.outsider;
    // on Scale: five members are past Free's member limit, and the guard, not the plan, is what this judges
    const org = await app.service.createOrg(operator, { name: `org-${Math.random()}`, ownerId: owner, planId: 'scale' });
    if (members === 'roles')
      for (const r of ['admin', 'editor', 'viewer'] as const) await app.db('memberships').insert({ organization_id: org.id, user_id: users[r], role: r });
    const extra = await app.service.createUser({ email: `extra-${Math.random()}@matrix.test`, password: PASSWORD, name: 'x' });
    await app.db('memberships').insert({ organization_id: org.id, user_id: extra.id, role: 'editor' });
    const property = await app.service.createProperty(operator, org.id, { name: 'p', domain: 'p.matrix.test' });
    const { key } = await app.service.createKey(operator, property.id, { kind: 'ingest', name: 'k' });
    const deletion = await new LifecycleRepository(app.db).createReceipt({
      id: `del_${Math.random().toString(36).slice(2)}`,
      organizationId: org.id,
      propertyId: property.id,
      subject: { kind: 'user_id', sha256: '0'.repeat(64) },
      reason: 'matrix',
      requestedBy: null,
    });
    const replay = await new ReplayRepository(app.db).create({
      organizationId: org.id,
      propertyId: property.id,
      from: '2026-11-01',
      to: '2026-11-01',
      dryRun: true,
      reason: 'matrix',
      actor: operator,
    });
    return { orgId: org.id, propertyId: property.id, keyId: key.id, userId: extra.id, replayId: replay.id, deletionId: deletion.id, visitorId: '123.456' };
  }

  function url(route: ApiRoute, ids: Record<string, string>): string {
    return route.path.replace(/:(\w+)/g, (_, p: string) => encodeURIComponent(ids[p] ?? 'x'));
  }

  it('every route declares a known permission, and scoped permissions say where their organisation comes from', () => {
    const seen = new Set<string>();
    for (const r of ALL_ROUTES) {
      const id = `${r.method} ${r.path}`;
      expect(seen.has(id), `${id} declared twice`).toBe(false);
      seen.add(id);
      expect(r.access, `${id} declares no permission`).toBeTruthy();
      const known = r.access === 'public' || r.access === 'signed_in' || (PERMISSIONS as readonly string[]).includes(r.access);
      expect(known, `${id}: unknown permission ${r.access}`).toBe(true);
      if (r.access !== 'public' && r.access !== 'signed_in') expect(r.scope, `${id} has a permission but no scope`).toBeDefined();
    }
  });

  const guarded = ALL_ROUTES.filter((r) => r.access !== 'public');
  for (const route of guarded) {
    it(`${route.method.toUpperCase()} ${route.path} (${route.access})`, async () => {
      const call = async (who: string, ids: Record<string, string>, headers: Record<string, string> = {}) => {
        const b = bodyFor(route, { memberId: ids.userId, propertyId: ids.propertyId });
        const r = await clients[who].request(route.method.toUpperCase(), url(route, ids), b, headers);
        expect(r.status, `${who}: ${JSON.stringify(r.body)}`).toBeLessThan(500);
        return r;
      };
      const shared = route.method === 'get' ? await fixture('roles') : null;
      const own = async () => shared ?? (await fixture('roles'));

      expect((await call('anonymous', await own())).status, 'anonymous').toBe(401);
      if (route.access === 'signed_in') return; // no organisation: any signed-in user

      const permission = route.access as Exclude<typeof route.access, 'public' | 'signed_in'>;
      for (const role of ROLES as readonly Role[]) {
        const mine = await call(role, await own());
        if (can(role, permission)) expect([401, 403, 404], `${role} on own org: ${JSON.stringify(mine.body)}`).not.toContain(mine.status);
        else expect(mine.status, `${role} on own org`).toBe(403);
        const theirs = await call(role, await fixture('outsider'));
        expect(theirs.status, `${role} on another org`).toBe(404);
      }
      const noReason = await call('staff', await own());
      expect(noReason.status, 'staff without a reason').toBe(403);
      const staff = await call('staff', await own(), { 'x-support-reason': 'ticket 42' });
      if (can('staff', permission)) expect([401, 403, 404], `staff: ${JSON.stringify(staff.body)}`).not.toContain(staff.status);
      else expect(staff.status, 'staff writing').toBe(403);
      // a cookie request that changes state without the CSRF header is refused even for the owner
      if (route.method !== 'get') {
        const r = await clients.owner.request(
          route.method.toUpperCase(),
          url(route, await own()),
          bodyFor(route, { memberId: '', propertyId: (await own()).propertyId }),
          {
            'x-csrf-token': 'wrong',
          },
        );
        expect(r.status).toBe(403);
        expect(r.body.error.reason).toBe('csrf');
      }
    }, 60_000);
  }

  it('staff reads are written to the organisation audit log with the reason', async () => {
    const ids = await fixture('roles');
    await clients.staff.get(`/api/orgs/${ids.orgId}/members`, { 'x-support-reason': 'customer asked, ticket 7' });
    const audit = await clients.owner.get(`/api/orgs/${ids.orgId}/audit`);
    expect(audit.body.entries[0]).toMatchObject({
      action: 'support.access',
      reason: 'customer asked, ticket 7',
      actor: { kind: 'staff', userId: users.staff },
    });
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CookieClient } from '../../test/support/cookie-client.js';
import { DEFAULT_CHANNEL_RULES } from '../domain/enrichment/channel-group.js';
import { startAccountsApp } from './accounts-app.testkit.js';

type App = Awaited<ReturnType<typeof startAccountsApp>>;
const PASSWORD = 'rules test password 1';
const operator = { kind: 'operator' as const };

/**
 * The retroactive rules' API (property-rules.ts, routes in accounts.routes.ts) on the embedded metadata DB: defaults,
 * a change with its replay suggestion and audit entry, what the credential cache (and so the
 * collector and the transform) sees, bad input as 400 invalid_rule / 422 invalid_body, and the
 * tenant wall. The role × organisation matrix is in permissions.test.ts.
 */
describe('property rules API', () => {
  let app: App;
  const c: Record<'owner' | 'viewer' | 'other', CookieClient> = {} as never;
  let propertyId: string;
  let orgId: string;

  beforeAll(async () => {
    app = await startAccountsApp();
    const ids: Record<string, string> = {};
    for (const name of ['owner', 'viewer', 'other'] as const) {
      ids[name] = (await app.service.createUser({ email: `${name}@rules.test`, password: PASSWORD, name, verified: true })).id;
      c[name] = new CookieClient(app.baseUrl);
      expect((await c[name].post('/api/auth/login', { email: `${name}@rules.test`, password: PASSWORD })).status).toBe(200);
      await c[name].csrf();
    }
    const org = await app.service.createOrg(operator, { name: 'Rules', ownerId: ids.owner, planId: 'scale' });
    await app.db('memberships').insert({ organization_id: org.id, user_id: ids.viewer, role: 'viewer' });
    orgId = org.id;
    propertyId = (await app.service.createProperty(operator, org.id, { name: 'p', domain: 'rules.test', timeZone: 'Europe/Paris' })).id;
    const otherOrg = await app.service.createOrg(operator, { name: 'Other', ownerId: ids.other, planId: 'scale' });
    await app.service.createProperty(operator, otherOrg.id, { name: 'q', domain: 'other.test' });
  }, 120_000);
  afterAll(async () => app?.close());

  it('starts with no rules and gives the default channel group as data', async () => {
    const r = await c.viewer.get(`/api/properties/${propertyId}/rules`);
    expect(r.status).toBe(200);
    expect(r.body.rules).toEqual({ internalTraffic: { rules: [], filter: 'active' }, botPatterns: [], channelRules: null });
    expect(r.body.defaults.channelRules).toEqual(DEFAULT_CHANNEL_RULES);
    expect(r.body.defaults.channelFallback).toBe('Unassigned');
  });

  it('a change is saved, audited, seen by the credential cache, and answers with the replay to offer', async () => {
    const body = {
      internalTraffic: { rules: [{ name: 'office', cidrs: ['198.51.100.0/24', '2001:db8:1::/48'] }] },
      botPatterns: [{ match: 'regex', value: '^AcmeKiosk/\\d+' }],
      channelRules: [{ channel: 'Promo', when: { field: 'campaign', regex: '^spring' } }, ...DEFAULT_CHANNEL_RULES],
    };
    const r = await c.owner.patch(`/api/properties/${propertyId}/rules`, body);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    // defaults filled in: the traffic type is GA4's `internal`, the filter active
    expect(r.body.rules.internalTraffic).toEqual({
      rules: [{ name: 'office', trafficType: 'internal', cidrs: body.internalTraffic.rules[0].cidrs }],
      filter: 'active',
    });
    expect(r.body.rules.channelRules[0].channel).toBe('Promo');
    const s = r.body.replaySuggestion;
    expect(s).toMatchObject({ propertyId, dryRun: true, endpoint: 'POST /api/support/replays' });
    expect(s.from < s.to).toBe(true);
    expect((Date.parse(s.to) - Date.parse(s.from)) / 86_400_000).toBe(29);

    await app.credentials.refresh();
    const cached = app.credentials.property(propertyId)!;
    expect(cached.internalTraffic).toEqual(r.body.rules.internalTraffic);
    expect(cached.botPatterns).toEqual(body.botPatterns);
    expect(cached.channelRules).toEqual(body.channelRules);

    const audit = await c.owner.get(`/api/orgs/${orgId}/audit`);
    expect(audit.body.entries[0]).toMatchObject({ action: 'property.rules.update', before: { botPatterns: [] }, after: { botPatterns: body.botPatterns } });

    // the same rules again change nothing: no replay to offer
    const same = await c.owner.patch(`/api/properties/${propertyId}/rules`, { botPatterns: body.botPatterns });
    expect(same.body.replaySuggestion).toBeNull();
    // back to the default channel group
    const reset = await c.owner.patch(`/api/properties/${propertyId}/rules`, { channelRules: null });
    expect(reset.body.rules.channelRules).toBeNull();
    expect(reset.body.replaySuggestion).not.toBeNull();
  });

  it('the property PATCH offers the replay too when a setting the transform reads changes, not for a rename', async () => {
    const timeout = await c.owner.patch(`/api/properties/${propertyId}`, { sessionTimeoutMinutes: 45 });
    expect(timeout.status).toBe(200);
    expect(timeout.body.replaySuggestion).toMatchObject({ propertyId, dryRun: true });
    const rename = await c.owner.patch(`/api/properties/${propertyId}`, { name: 'Renamed' });
    expect(rename.body.replaySuggestion).toBeUndefined();
  });

  it('refuses unusable rules with 400 invalid_rule and the field path, malformed ones with 422, and changes nothing', async () => {
    const before = (await c.owner.get(`/api/properties/${propertyId}/rules`)).body.rules;
    const bad: [unknown, string][] = [
      [{ internalTraffic: { rules: [{ name: 'x', cidrs: ['198.51.100.0/33'] }] } }, 'internalTraffic.rules[0].cidrs[0]'],
      [
        {
          internalTraffic: {
            rules: [
              { name: 'x', cidrs: ['10.0.0.0/8'] },
              { name: 'X', cidrs: ['::1'] },
            ],
          },
        },
        'internalTraffic.rules[1].name',
      ],
      [{ botPatterns: [{ match: 'regex', value: '(a+)+$' }] }, 'botPatterns[0].value'],
      [{ botPatterns: [{ match: 'regex', value: '[unclosed' }] }, 'botPatterns[0].value'],
      [
        {
          channelRules: [
            {
              channel: 'X',
              when: {
                any: [
                  { field: 'medium', in: ['a'] },
                  { field: 'source', regex: '(\\w*)*' },
                ],
              },
            },
          ],
        },
        'channelRules[0].when.any[1].regex',
      ],
    ];
    for (const [body, path] of bad) {
      const r = await c.owner.patch(`/api/properties/${propertyId}/rules`, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error).toMatchObject({ code: 'invalid_argument', reason: 'invalid_rule' });
      expect(Object.keys(r.body.error.fields)).toEqual([path]);
    }
    for (const body of [
      { botPatterns: [{ match: 'glob', value: 'x' }] },
      { botPatterns: Array.from({ length: 51 }, () => ({ match: 'contains', value: 'x' })) },
      { channelRules: [{ channel: 'X', when: { field: 'country', regex: 'x' } }] },
      { internalTraffic: { rules: [{ name: 'x', cidrs: [] }] } },
      { somethingElse: 1 },
    ]) {
      const r = await c.owner.patch(`/api/properties/${propertyId}/rules`, body);
      expect(r.status, JSON.stringify(body)).toBe(422);
      expect(r.body.error.reason).toBe('invalid_body');
    }
    expect((await c.owner.get(`/api/properties/${propertyId}/rules`)).body.rules).toEqual(before);
  });

  it("is a tenant wall: another organisation's owner gets 404, a viewer cannot change rules", async () => {
    expect((await c.other.get(`/api/properties/${propertyId}/rules`)).status).toBe(404);
    const edit = await c.other.patch(`/api/properties/${propertyId}/rules`, { botPatterns: [] });
    expect(edit.status).toBe(404);
    const viewer = await c.viewer.patch(`/api/properties/${propertyId}/rules`, { botPatterns: [] });
    expect(viewer.status).toBe(403);
    expect((await c.owner.get(`/api/properties/${propertyId}/rules`)).body.rules.botPatterns).toHaveLength(1);
  });
});

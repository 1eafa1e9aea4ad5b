import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../infra/config/config.js';
import { createLogger } from '../infra/logger.js';
import { startTally, type TallyHandle } from '../server/tally-server.js';
import { createTenant, type CreatedTenant } from '../tenancy/tenant.repository.js';
import { getRules, updateRules, type PropertyRulesPatch } from '../tenancy/property-rules.js';
import { DEFAULT_CHANNEL_RULES } from '../domain/enrichment/channel-group.js';
import { addDays, localDate, startOfLocalDate } from '../domain/time-zone.js';
import { runReport, zoneAtMidday } from '../../test/support/golden.js';
import type { ReplayView } from './replay.repository.js';
import type { VisitorInspection } from './inspector.service.js';

const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';
const operator = { kind: 'operator' as const };

/**
 * The retroactive rules (issue 13) through a replay, on the embedded profile (DuckDB transform
 * and warehouse), one process with collector, api and worker. 18 visitors on one past day, one
 * page view each:
 * - 3 from the office's IPv4 /24 and 2 from its IPv6 /48 (ranges added after ingest: decidable on
 *   the truncated IP, so a replay excludes them),
 * - 2 from the office host 203.0.113.7/32 (its rule existed at ingest: the collector stamped them),
 * - 1 from 192.0.2.5, a /32 added after ingest (cannot be applied to the past: counted still),
 * - 2 whose browser says `AcmeKiosk` (a bot pattern added later),
 * - 4 from the newsletter's `spring_sale` campaign (Email by default; Promo by the property's rules),
 * - 4 others.
 * Each rule change: the dry run's diff moves by exactly the events it should and changes no
 * report; the real run makes the reports follow.
 */
describe('retroactive rules: internal traffic, bot patterns and channel rules recomputed by a replay', () => {
  let tally: TallyHandle;
  let t: CreatedTenant;
  let dir: string;
  let day: string;
  let baseUrl: string;

  const visitors: { ip: string; ua?: string; query?: string }[] = [
    ...['198.51.100.10', '198.51.100.11', '198.51.100.12', '2001:db8:1:2::5', '2001:db8:1:ff::6'].map((ip) => ({ ip })),
    { ip: '203.0.113.7' },
    { ip: '203.0.113.7' },
    { ip: '192.0.2.5' },
    { ip: '192.0.2.20', ua: `${CHROME} AcmeKiosk/2.1` },
    { ip: '192.0.2.21', ua: `${CHROME} AcmeKiosk/2.1` },
    ...[30, 31, 32, 33].map((n) => ({ ip: `192.0.2.${n}`, query: '?utm_source=newsletter&utm_medium=email&utm_campaign=spring_sale' })),
    ...[40, 41, 42, 43].map((n) => ({ ip: `192.0.2.${n}` })),
  ];

  const rules = (patch: PropertyRulesPatch) => updateRules(tally.db, operator, t.propertyId, patch).then(async (r) => (await tally.credentials.refresh(), r));
  const replay = (dryRun: boolean) =>
    tally.runJob('replay', { propertyId: t.propertyId, from: day, to: day, dryRun, reason: 'retro rules' }, () => undefined) as Promise<ReplayView>;
  const report = async (dimension?: string) => {
    const { status, body } = await runReport(
      { baseUrl, readKey: t.readKey, propertyId: t.propertyId },
      {
        dateRanges: [{ startDate: day, endDate: day }],
        dimensions: dimension ? [{ name: dimension }] : [],
        metrics: [{ name: 'totalUsers' }, { name: 'sessions' }],
      },
    );
    expect(status, JSON.stringify(body)).toBe(200);
    return new Map<string, { users: number; sessions: number }>(
      (body.rows ?? []).map((r: any) => [
        dimension ? r.dimensionValues[0].value : '',
        { users: Number(r.metricValues[0].value), sessions: Number(r.metricValues[1].value) },
      ]),
    );
  };
  const users = async () => (await report()).get('')?.users ?? 0;
  const officeHost = { name: 'office host', trafficType: 'internal', cidrs: ['203.0.113.7/32'] };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-retro-rules-'));
    const now = Date.now();
    const timeZone = zoneAtMidday(now);
    day = addDays(localDate(now, timeZone), -2);
    const config = loadConfig({ TALLY_DATA_DIR: dir, PORT: '0', TALLY_TRANSFORM_INTERVAL_MS: '3600000' });
    tally = await startTally(config, ['collector', 'api', 'worker'], { logger: createLogger(process.env.TALLY_TEST_LOG ?? 'silent') });
    baseUrl = `http://127.0.0.1:${tally.port}`;
    t = await createTenant(tally.db, { name: 'Retro', email: 'owner@retro.test', domain: 'shop.example.com', timeZone, planId: 'scale' });
    // the office host's rule exists when its events arrive: the collector stamps them
    await rules({ internalTraffic: { rules: [officeHost], filter: 'active' } });
    const at = startOfLocalDate(day, timeZone) + 10 * 3_600_000;
    const events = visitors.map((v, i) => ({
      event_id: `retro-${i}`,
      name: 'page_view',
      client_id: `client-${i}`,
      timestamp: at + i * 60_000,
      url: `https://shop.example.com/landing${v.query ?? ''}`,
      user_agent: v.ua ?? CHROME,
      ip: v.ip,
    }));
    const res = await fetch(`${baseUrl}/v1/collect`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.ingestKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ events }),
    });
    expect(res.status, await res.clone().text()).toBeLessThan(300);
    expect(((await res.json()) as { accepted: number }).accepted).toBe(visitors.length);
    await tally.runJob('pipeline', { propertyId: t.propertyId }, () => undefined);
  }, 300_000);

  afterAll(async () => {
    await tally?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the raw zone keeps the edge flag and only truncated IPs; the stamped events are excluded from the start', async () => {
    const records: Record<string, unknown>[] = [];
    for (const o of await tally.store.list(`raw/tenant=${t.organizationId}/property=${t.propertyId}/`)) {
      const body = (await tally.store.get(o.key))!;
      const text = (o.key.endsWith('.gz') ? zlib.gunzipSync(body) : body).toString('utf8');
      expect(text).not.toContain('203.0.113.7');
      expect(text).not.toContain('198.51.100.10');
      expect(text).not.toMatch(/2001:db8:1:2/);
      for (const l of text.split('\n')) if (l) records.push(JSON.parse(l));
    }
    expect(records).toHaveLength(visitors.length);
    const stamped = records.filter((r) => r.traffic_type === 'internal');
    expect(stamped.map((r) => r.ip_trunc)).toEqual(['203.0.113.0', '203.0.113.0']);
    expect(await users()).toBe(visitors.length - 2);
  });

  it('internal traffic: ranges added later reach past events on a replay when as wide as the truncation; the filter switched off brings the stamped ones back', async () => {
    const changed = await rules({
      internalTraffic: {
        rules: [officeHost, { name: 'office', trafficType: 'internal', cidrs: ['198.51.100.0/24', '2001:db8:1::/48', '192.0.2.5/32'] }],
        filter: 'active',
      },
    });
    expect(changed.replaySuggestion).toMatchObject({ propertyId: t.propertyId, dryRun: true });
    expect(changed.replaySuggestion!.from <= day && day <= changed.replaySuggestion!.to).toBe(true);

    const dry = await replay(true);
    expect(dry.state).toBe('succeeded');
    const [d] = dry.diff!.days;
    // the /24 and the /48 exclude 5 more visitors; 192.0.2.5's /32 cannot be judged on 192.0.2.0
    expect([d.before.users, d.after.users]).toEqual([16, 11]);
    expect([d.before.sessions, d.after.sessions]).toEqual([16, 11]);
    expect(await users()).toBe(16); // a dry run changes no report

    expect((await replay(false)).state).toBe('succeeded');
    expect(await users()).toBe(11);
    // the inspector says why: stamped at ingest, or in a range on the truncated IP; 192.0.2.5 counted
    const inspect = async (i: number) =>
      ((await tally.runJob('inspect', { propertyId: t.propertyId, clientId: `client-${i}`, from: day, to: day }, () => undefined)) as VisitorInspection)
        .events[0];
    expect(await inspect(0)).toMatchObject({ verdict: 'internal_traffic', why: expect.stringContaining('198.51.100.0') });
    expect(await inspect(5)).toMatchObject({ verdict: 'internal_traffic', why: expect.stringContaining('stamped at ingest') });
    expect((await inspect(7)).verdict).toBe('counted');

    await rules({ internalTraffic: { rules: (await getRules(tally.db, t.propertyId)).rules.internalTraffic.rules, filter: 'inactive' } });
    const off = await replay(true);
    expect([off.diff!.days[0].before.users, off.diff!.days[0].after.users]).toEqual([11, 18]);
    expect((await replay(false)).state).toBe('succeeded');
    expect(await users()).toBe(18);
  }, 300_000);

  it('bot patterns: a pattern added later re-classifies past events on a replay', async () => {
    const changed = await rules({ botPatterns: [{ match: 'contains', value: 'acmekiosk' }] });
    expect(changed.replaySuggestion).not.toBeNull();
    const dry = await replay(true);
    expect([dry.diff!.days[0].before.users, dry.diff!.days[0].after.users]).toEqual([18, 16]);
    expect(await users()).toBe(18);
    expect((await replay(false)).state).toBe('succeeded');
    expect(await users()).toBe(16);
    const kiosk = (await tally.runJob('inspect', { propertyId: t.propertyId, clientId: 'client-8', from: day, to: day }, () => undefined)) as VisitorInspection;
    expect(kiosk.events[0]).toMatchObject({ verdict: 'bot', why: expect.stringContaining("property's own bot patterns") });
  }, 300_000);

  it("channel rules: the property's own list regroups past sessions on a replay", async () => {
    expect((await report('sessionDefaultChannelGroup')).get('Email')?.sessions).toBe(4);
    await rules({
      channelRules: [
        {
          channel: 'Promo',
          when: {
            all: [
              { field: 'medium', in: ['email'] },
              { field: 'campaign', regex: '^spring' },
            ],
          },
        },
        ...DEFAULT_CHANNEL_RULES,
      ],
    });
    const dry = await replay(true);
    // the same sessions, grouped otherwise: the totals stay, the channels move
    expect(dry.diff!.totals.after).toEqual(dry.diff!.totals.before);
    expect(dry.diff!.channels).toEqual([
      { name: 'Email', before: 4, after: 0, change: -4 },
      { name: 'Promo', before: 0, after: 4, change: 4 },
    ]);
    expect((await report('sessionDefaultChannelGroup')).get('Promo')).toBeUndefined();
    expect((await replay(false)).state).toBe('succeeded');
    const after = await report('sessionDefaultChannelGroup');
    expect(after.get('Promo')?.sessions).toBe(4);
    expect(after.get('Email')).toBeUndefined();
    // back to GA4's default group: the replay restores Email
    await rules({ channelRules: null });
    expect((await replay(false)).state).toBe('succeeded');
    expect((await report('sessionDefaultChannelGroup')).get('Email')?.sessions).toBe(4);
  }, 300_000);
});

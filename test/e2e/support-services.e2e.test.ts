import zlib from 'node:zlib';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithService } from '../support/services.js';
import { servicesProfile, type ServicesProfile } from '../support/services-profile.js';
import { eventually, startRole, tempDataDir, type RoleProcess, type TenantKeys } from '../support/tally-process.js';
import { parsePrometheus, sampleSum } from '../support/prometheus.js';
import { tallyCli } from '../support/cli.js';
import { CookieClient } from '../support/cookie-client.js';
import { expectSame, metricsBy, runReport, zoneAtMidday, type ReportTarget } from '../support/golden.js';
import { generateTraffic, type TrafficOptions } from '../../src/demo/traffic-generator.js';
import { expectedReport, groundTruth, withSessionTimeout, type GroundTruth } from '../../src/demo/ground-truth.js';
import { addDays, localDate } from '../../src/domain/time-zone.js';
import type { S3ObjectStore } from '../../src/infra/object-store/s3.object-store.js';
import { countParquetRows } from '../../src/lifecycle/parquet-files.js';

const PASSWORD = 'support services password 1';
const NEW_TIMEOUT = 120;
const GONE = { userId: 'gone-user', clientId: 'gone-client' };
const LETTER_CLIENT = '1111.2222';

/**
 * Issue 13's support and lifecycle tools on the services profile: `tally serve` on Kafka, S3
 * (moto), PostgreSQL metadata, a PostgreSQL warehouse and Redis (BullMQ), each with its own
 * topics, prefix, databases and queue prefix. Everything goes through the API as an owner would
 * use it (a session and CSRF), and through the CLI where the API has no route (running the
 * pipeline). One property's story: a backfill with a bad line; a session-timeout change replayed
 * (dry run first); refused hits redriven after their host is allowed; one person deleted from
 * every zone; an export; and another tenant's owner and keys kept out of all of it.
 */
describeWithService('support on services', 'redis', 'REDIS_URL', (redisUrl) => {
  describeWithService('on PostgreSQL', 'postgres', 'DATABASE_URL', (databaseUrl) => {
    describeWithService('on Kafka', 'kafka', 'KAFKA_BROKERS', (brokers) => {
      describeWithService('replay, dead letters, import, deletion and export on Kafka, S3, PostgreSQL and Redis', 's3', 'S3_ENDPOINT', (s3Endpoint) => {
        let env: Record<string, string>;
        let tally: RoleProcess;
        let baseUrl: string;
        let profile: ServicesProfile;
        let store: S3ObjectStore;
        let a: TenantKeys;
        let b: TenantKeys;
        let ownerA: CookieClient;
        let ownerB: CookieClient;
        let opts: TrafficOptions;
        let gt: GroundTruth;
        let startDate: string;
        let endDate: string;
        let replayId: string;

        const cli = (args: string[]) => tallyCli(tempDataDir('tally-cli-'), args, env);
        const pipelineRuns = async () =>
          sampleSum(parsePrometheus(await (await fetch(`${baseUrl}/metrics`)).text()), 'tally_job_duration_seconds_count', {
            job: 'pipeline',
            outcome: 'ok',
          }) ?? 0;
        /** Until the scheduler's pipeline (every 2 s) has run `n` more times from now. */
        const pipelineRunsMore = async (n = 2) => {
          const from = await pipelineRuns();
          await eventually(async () => ((await pipelineRuns()) >= from + n ? true : undefined), 120_000, `${n} more pipeline runs`);
        };
        const totalEvents = async () => (await metricsBy(target())).get('')?.eventCount ?? 0;
        const untilEvents = (n: number, what: string) => eventually(async () => ((await totalEvents()) === n ? true : undefined), 180_000, what);
        const target = (): ReportTarget => ({ baseUrl: baseUrl, readKey: a.readKey, propertyId: a.propertyId, startDate, endDate });
        const reportsEqual = async (truth: GroundTruth, what: string) => {
          for (const dim of [undefined, 'date', 'pagePath', 'sessionSource'] as const)
            expectSame(await metricsBy(target(), dim), expectedReport(truth, { startDate, endDate, dimension: dim }), `${what}, by ${dim ?? 'nothing'}`);
        };
        const todaysLetterViews = async () => {
          const r = await runReport(
            { baseUrl: baseUrl, readKey: a.readKey, propertyId: a.propertyId },
            {
              dateRanges: [{ startDate: 'today', endDate: 'today' }],
              dimensions: [{ name: 'hostName' }],
              metrics: [{ name: 'screenPageViews' }],
            },
          );
          expect(r.status, JSON.stringify(r.body)).toBe(200);
          const row = (r.body.rows ?? []).find((x: { dimensionValues: { value: string }[] }) => x.dimensionValues[0].value === 'blog.newhost.test');
          return Number(row?.metricValues[0].value ?? 0);
        };
        const pollReplay = async (c: CookieClient, replay: { id: string; state: string }) => {
          let r = replay as any;
          for (let i = 0; i < 1200 && (r.state === 'queued' || r.state === 'running'); i++) {
            await new Promise((res) => setTimeout(res, 250));
            const got = await c.get(`/api/support/replays/${replay.id}`);
            expect(got.status, JSON.stringify(got.body)).toBe(200);
            r = got.body;
          }
          return r;
        };
        const signIn = async (email: string) => {
          const c = new CookieClient(baseUrl);
          const r = await c.post('/api/auth/login', { email, password: PASSWORD });
          expect(r.status, JSON.stringify(r.body)).toBe(200);
          await c.csrf();
          return c;
        };
        const tenant = async (name: string, timeZone: string): Promise<TenantKeys> => {
          const email = `owner@${name}.example.com`;
          await cli(['user', 'create', '--email', email, '--name', name, '--password', PASSWORD, '--json']);
          return JSON.parse(
            await cli([
              'tenant',
              'create',
              '--name',
              name,
              '--email',
              email,
              '--domain',
              `${name}.example.com`,
              '--time-zone',
              timeZone,
              '--plan',
              'scale',
              '--json',
            ]),
          );
        };
        /** Every raw-zone record of the property on S3 (gzip NDJSON objects). */
        const rawRecords = async (t: TenantKeys) => {
          const out: any[] = [];
          for (const o of await store.list('raw/')) {
            if (!o.key.includes(`property=${t.propertyId}/`) || !o.key.endsWith('.ndjson.gz')) continue;
            const text = zlib.gunzipSync((await store.get(o.key))!).toString('utf8');
            for (const line of text.split('\n')) if (line) out.push(JSON.parse(line));
          }
          return out;
        };

        beforeAll(async () => {
          profile = await servicesProfile('support', { redisUrl, databaseUrl, brokers, s3Endpoint }, { partitions: 2 });
          store = profile.store;
          env = {
            ...profile.env,
            // the scheduler's pipeline runs every 2 s (the API has no route to run it)
            TALLY_TRANSFORM_INTERVAL_MS: '2000',
            TALLY_ARCHIVE_MAX_WAIT_MS: '250',
          };
          const now = Date.now();
          const timeZone = zoneAtMidday(now);
          startDate = addDays(localDate(now, timeZone), -2);
          endDate = addDays(startDate, 1);
          // no client session ids: the session timeout decides the sessions. Small traffic has few
          // gaps between 30 and 120 min, and where they fall depends on seed and dates: take the
          // first seed whose sessions the longer timeout merges
          for (const seed of [7, 1313, 1314, 42, 2026, 99, 5, 11]) {
            opts = { seed, startDate, days: 2, timeZone, visitorsPerDay: 30, sessionIdShare: 0 };
            gt = groundTruth(opts);
            const sessions = (truth: GroundTruth) => expectedReport(truth, { startDate, endDate }).get('')!.sessions;
            if (sessions(withSessionTimeout(gt, NEW_TIMEOUT)) < sessions(gt)) break;
          }
          // the tenants exist before the server starts, so its key caches hold them from the first load
          a = await tenant('svc-a', timeZone);
          b = await tenant('svc-b', timeZone);
          // every role in one process; with nothing in the data dir, the port comes from its log
          tally = await startRole('serve', { ...env, TALLY_HEALTH_PORT: '0' });
          baseUrl = `http://127.0.0.1:${tally.port}`;
          ownerA = await signIn('owner@svc-a.example.com');
          ownerB = await signIn('owner@svc-b.example.com');
        }, 240_000);

        afterAll(async () => {
          const code = await tally?.stop();
          await profile?.tearDown();
          expect(code, tally?.output()).toBe(0);
        }, 120_000);

        it('imports a backfill through the API, naming its bad line; the report equals the imported truth', async () => {
          const rows = [...generateTraffic(opts)].map((i) => JSON.stringify(i.event));
          const BAD_LINE = 7;
          rows.splice(BAD_LINE - 1, 0, JSON.stringify({ name: 'page_view', client_id: 'no-time' }));
          const r = await ownerA.request('POST', `/api/properties/${a.propertyId}/imports`, rows.join('\n') + '\n', { 'content-type': 'application/x-ndjson' });
          expect(r.status, JSON.stringify(r.body)).toBe(200);
          expect(r.body).toMatchObject({ rows: rows.length, imported: rows.length - 1, refused: [{ line: BAD_LINE }] });
          expect(r.body.refused).toHaveLength(1);
          await untilEvents(expectedReport(gt, { startDate, endDate }).get('')!.eventCount, 'the pipeline to load the backfill');
          await reportsEqual(gt, 'after the import');
        }, 180_000);

        it('redrives hostname_not_allowed letters after the host is allowed, counted once though redriven twice', async () => {
          for (let i = 0; i < 5; i++) {
            const q = new URLSearchParams({
              v: '2',
              tid: a.measurementId,
              cid: LETTER_CLIENT,
              en: 'page_view',
              dl: `https://blog.newhost.test/post-${i}`,
              _et: '100',
            });
            const r = await fetch(`${baseUrl}/g/collect?${q}`, { headers: { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0' } });
            expect(r.status).toBe(204);
          }
          // the archiver files the dead-letter topic into S3; the list reads it there
          let list: any;
          for (let i = 0; i < 240; i++) {
            list = await ownerA.get(`/api/properties/${a.propertyId}/dead-letters?reason=hostname_not_allowed`);
            expect(list.status, JSON.stringify(list.body)).toBe(200);
            if (list.body.total === 5) break;
            await new Promise((res) => setTimeout(res, 250));
          }
          expect(list.body).toMatchObject({ total: 5, byReason: [{ reason: 'hostname_not_allowed', count: 5 }] });
          expect(JSON.parse(await cli(['dead-letters', 'list', '--property', a.propertyId, '--json']))).toMatchObject({ total: 5 });

          const redrive = () => ownerA.post(`/api/properties/${a.propertyId}/dead-letters/redrive`, { reason: 'hostname_not_allowed', note: 'ticket 99' });
          const early = await redrive();
          expect(early.status, JSON.stringify(early.body)).toBe(200);
          expect(early.body).toMatchObject({ letters: 5, appended: 0, stillRefused: [{ reason: 'hostname_not_allowed', count: 5 }] });

          const property = (await ownerA.get(`/api/properties/${a.propertyId}`)).body.property;
          const allowed = await ownerA.patch(`/api/properties/${a.propertyId}`, { allowedHostnames: [...property.allowedHostnames, 'blog.newhost.test'] });
          expect(allowed.status, JSON.stringify(allowed.body)).toBe(200);
          const first = await redrive();
          expect(first.body).toMatchObject({ letters: 5, appended: 5, alreadyRedriven: 0, stillRefused: [] });
          const second = await redrive();
          expect(second.body).toMatchObject({ letters: 5, appended: 0, alreadyRedriven: 5 });
          await eventually(async () => ((await todaysLetterViews()) === 5 ? true : undefined), 120_000, 'the redriven page views');
          // two more pipeline runs after both redrives: still counted once
          await pipelineRunsMore(2);
          expect(await todaysLetterViews()).toBe(5);
          // the past dates were not touched
          await reportsEqual(gt, 'after the redrive');
        }, 180_000);

        it('a dry run after a session-timeout change gives the diff and changes no report; the real run makes the reports the reference', async () => {
          const patched = await ownerA.patch(`/api/properties/${a.propertyId}`, { sessionTimeoutMinutes: NEW_TIMEOUT });
          expect(patched.status, JSON.stringify(patched.body)).toBe(200);
          expect(patched.body.replaySuggestion).toMatchObject({ propertyId: a.propertyId, dryRun: true });

          // the backfill's last sessions closed when the redriven hits (received now) moved the
          // transform's cut past them: until then a real replay of endDate fails (replay_range_open)
          const dry = await ownerA.post('/api/support/replays', {
            propertyId: a.propertyId,
            from: startDate,
            to: endDate,
            dryRun: true,
            reason: 'ticket 13 dry',
          });
          expect(dry.status, JSON.stringify(dry.body)).toBe(202);
          const dryDone = await pollReplay(ownerA, dry.body);
          expect(dryDone.state, JSON.stringify(dryDone)).toBe('succeeded');
          const oldTruth = expectedReport(gt, { startDate, endDate, dimension: 'date' });
          const newTruth = expectedReport(withSessionTimeout(gt, NEW_TIMEOUT), { startDate, endDate, dimension: 'date' });
          expect(dryDone.diff.days.map((d: { date: string }) => d.date)).toEqual([startDate, endDate]);
          for (const day of dryDone.diff.days)
            for (const [side, truth] of [
              [day.before, oldTruth.get(day.date)!],
              [day.after, newTruth.get(day.date)!],
            ]) {
              expect(side.sessions, day.date).toBe(truth.sessions);
              expect(side.users, day.date).toBe(truth.totalUsers);
              expect(side.views, day.date).toBe(truth.screenPageViews);
              expect(side.events, day.date).toBe(truth.eventCount);
              expect(side.bounceRate, day.date).toBeCloseTo(truth.bounceRate, 9);
            }
          expect(dryDone.diff.totals.after.sessions).toBeLessThan(dryDone.diff.totals.before.sessions);
          await reportsEqual(gt, 'after the dry run');
          expect(await store.list('staging/')).toEqual([]);

          const real = await ownerA.post('/api/support/replays', {
            propertyId: a.propertyId,
            from: startDate,
            to: endDate,
            dryRun: false,
            reason: 'ticket 13 real',
          });
          expect(real.status, JSON.stringify(real.body)).toBe(202);
          replayId = real.body.id;
          const realDone = await pollReplay(ownerA, real.body);
          expect(realDone.state, JSON.stringify(realDone)).toBe('succeeded');
          await reportsEqual(withSessionTimeout(gt, NEW_TIMEOUT), 'after the real replay');
          const audit = await ownerA.get(`/api/orgs/${a.organizationId}/audit`);
          const actions = audit.body.entries.map((e: { action: string }) => e.action);
          expect(actions).toContain('support.replay');
          expect(actions).toContain('support.replay.dry_run');
        }, 300_000);

        it('deletes one person from the raw zone (S3), the transformed zone and the warehouse (PostgreSQL); every other figure is unchanged', async () => {
          // the person: a backfill of their own, on both dates, on pages others visit too
          const at = (date: string, h: number) => new Date(`${date}T12:00:00Z`).getTime() + h * 60_000;
          const csv = ['event_id,timestamp,name,client_id,user_id,url'];
          for (const [i, date] of [startDate, endDate].entries())
            for (let k = 0; k < 3; k++) csv.push(`gone-${i}-${k},${at(date, k)},page_view,${GONE.clientId},${GONE.userId},https://svc-a.example.com/gone-${k}`);
          const imported = await ownerA.request('POST', `/api/properties/${a.propertyId}/imports`, csv.join('\n') + '\n', { 'content-type': 'text/csv' });
          expect(imported.body).toMatchObject({ rows: 6, imported: 6, refused: [] });
          await untilEvents(expectedReport(gt, { startDate, endDate }).get('')!.eventCount + 6, "the pipeline to load the person's events");
          expect((await rawRecords(a)).filter((r) => r.user_id === GONE.userId)).toHaveLength(6);

          const asked = await ownerA.post(`/api/properties/${a.propertyId}/deletions`, { userId: GONE.userId, reason: 'GDPR request 7' });
          expect(asked.status, JSON.stringify(asked.body)).toBe(202);
          let receipt = asked.body.deletion;
          for (let i = 0; i < 1200 && (receipt.state === 'queued' || receipt.state === 'running'); i++) {
            await new Promise((res) => setTimeout(res, 250));
            receipt = (await ownerA.get(`/api/properties/${a.propertyId}/deletions/${receipt.id}`)).body.deletion;
          }
          expect(receipt.state, JSON.stringify(receipt)).toBe('done');
          expect(receipt.counts).toMatchObject({ rawRecords: 6, warehouseEvents: 6, transformedRemaining: 0, warehouseRemaining: 0 });

          // our own scans of every zone, not the receipt's
          const raw = await rawRecords(a);
          expect(raw.length).toBeGreaterThan(0);
          expect(raw.filter((r) => r.user_id === GONE.userId || r.client_id === GONE.clientId)).toEqual([]);
          const transformed = (await store.list('transformed/')).filter((o) => o.key.includes(`property=${a.propertyId}/`)).map((o) => o.key);
          expect(transformed.length).toBeGreaterThan(0);
          expect(await countParquetRows(store, transformed, `user_id = '${GONE.userId}' OR client_id = '${GONE.clientId}'`)).toBe(0);
          expect(await countParquetRows(store, transformed, 'true')).toBeGreaterThan(0);
          const wh = new pg.Client({ connectionString: profile.warehouseDb.url });
          await wh.connect();
          try {
            for (const table of ['events', 'sessions', 'identities']) {
              const { rows } = await wh.query(`SELECT count(*)::int AS n FROM ${table} WHERE property_id = $1 AND (user_id = $2 OR client_id = $3)`, [
                a.propertyId,
                GONE.userId,
                GONE.clientId,
              ]);
              expect(rows[0].n, table).toBe(0);
            }
          } finally {
            await wh.end();
          }
          await reportsEqual(withSessionTimeout(gt, NEW_TIMEOUT), 'after the deletion');
          expect(await todaysLetterViews()).toBe(5);
        }, 300_000);

        it('streams an export of the rows', async () => {
          const r = await fetch(`${baseUrl}/api/properties/${a.propertyId}/export?from=${startDate}&to=${endDate}&format=ndjson`, {
            headers: { cookie: ownerA.cookieHeader() },
          });
          expect(r.status).toBe(200);
          expect(r.headers.get('content-type')).toMatch(/ndjson/);
          const lines = (await r.text()).trim().split('\n');
          const rows = lines.map((l) => JSON.parse(l));
          expect(rows).toHaveLength(expectedReport(gt, { startDate, endDate }).get('')!.eventCount);
          expect(new Set(rows.map((x) => x.event_date))).toEqual(new Set([startDate, endDate].map((d) => d.replaceAll('-', ''))));
          expect(rows.filter((x) => x.user_id === GONE.userId)).toEqual([]);
        }, 120_000);

        it("tenant B's owner and keys cannot touch A's replay, dead letters, export, imports or deletions", async () => {
          const before = (await metricsBy(target())).get('')!;
          const refused = (status: number) => expect([403, 404]).toContain(status);
          refused((await ownerB.get(`/api/support/replays/${replayId}`)).status);
          refused(
            (await ownerB.post('/api/support/replays', { propertyId: a.propertyId, from: startDate, to: endDate, dryRun: false, reason: 'not mine' })).status,
          );
          refused((await ownerB.get(`/api/properties/${a.propertyId}/dead-letters`)).status);
          refused((await ownerB.post(`/api/properties/${a.propertyId}/dead-letters/redrive`, { reason: 'hostname_not_allowed' })).status);
          refused((await ownerB.get(`/api/properties/${a.propertyId}/export?from=${startDate}&to=${endDate}`)).status);
          refused((await ownerB.get(`/api/support/properties/${a.propertyId}/visitors/${LETTER_CLIENT}`)).status);
          refused(
            (
              await ownerB.request('POST', `/api/properties/${a.propertyId}/imports`, '{"name":"page_view","client_id":"x","timestamp":1}\n', {
                'content-type': 'application/x-ndjson',
              })
            ).status,
          );
          refused((await ownerB.post(`/api/properties/${a.propertyId}/deletions`, { clientId: 'anyone', reason: 'not mine' })).status);
          // B's keys are not sessions: the management API refuses them on A's (and B's own) property
          for (const key of [b.readKey, b.ingestKey]) {
            const r = await fetch(`${baseUrl}/api/properties/${a.propertyId}/export?from=${startDate}&to=${endDate}`, {
              headers: { authorization: `Bearer ${key}` },
            });
            expect([401, 403, 404]).toContain(r.status);
            const dl = await fetch(`${baseUrl}/api/properties/${a.propertyId}/dead-letters`, { headers: { authorization: `Bearer ${key}` } });
            expect([401, 403, 404]).toContain(dl.status);
          }
          const crossed = await runReport({ baseUrl: baseUrl, readKey: b.readKey, propertyId: a.propertyId }, { metrics: [{ name: 'eventCount' }] });
          refused(crossed.status);
          // B sees its own (empty) dead letters, and A's data is as it was
          expect((await ownerB.get(`/api/properties/${b.propertyId}/dead-letters`)).body.total).toBe(0);
          await pipelineRunsMore(2);
          expect((await metricsBy(target())).get('')).toEqual(before);
        }, 120_000);
      });
    });
  });
});

import { Queue } from 'bullmq';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithService } from '../support/services.js';
import { servicesProfile, type ServicesProfile } from '../support/services-profile.js';
import { parsePrometheus, sampleSum } from '../support/prometheus.js';
import { eventually, startRole, tempDataDir, type RoleProcess } from '../support/tally-process.js';
import { tallyCli } from '../support/cli.js';
import { expectSame, GOLDEN_CASES, metricsBy, runReport, zoneAtMidday, type ReportTarget } from '../support/golden.js';
import { generateTraffic, type TrafficOptions } from '../../src/demo/traffic-generator.js';
import { expectedReport, groundTruth } from '../../src/demo/ground-truth.js';
import { sendTraffic } from '../../src/demo/traffic-sender.js';
import { addDays, localDate } from '../../src/domain/time-zone.js';

describeWithService('separate roles', 'redis', 'REDIS_URL', (redisUrl) => {
  describeWithService('on PostgreSQL', 'postgres', 'DATABASE_URL', (databaseUrl) => {
    describeWithService('on Kafka', 'kafka', 'KAFKA_BROKERS', (brokers) => {
      describeWithService('two collectors, a worker, a scheduler and an api on Kafka, S3, PostgreSQL and Redis', 's3', 'S3_ENDPOINT', (s3Endpoint) => {
        let env: Record<string, string>;
        const procs: RoleProcess[] = [];
        let collectors: RoleProcess[];
        let api: RoleProcess;
        let target: ReportTarget;
        let opts: TrafficOptions;
        let sentEvents = 0;
        let profile: ServicesProfile;
        let metaDb: ServicesProfile['metaDb'];
        let queuePrefix: string;

        beforeAll(async () => {
          profile = await servicesProfile('roles', { redisUrl, databaseUrl, brokers, s3Endpoint }, { partitions: 4 });
          ({ metaDb, queuePrefix } = profile);
          env = {
            ...profile.env,
            TALLY_TRANSFORM_INTERVAL_MS: '2000',
            TALLY_ARCHIVE_MAX_WAIT_MS: '250',
          };

          const now = Date.now();
          const timeZone = zoneAtMidday(now);
          const startDate = addDays(localDate(now, timeZone), -2);
          const endDate = addDays(startDate, 1);
          opts = { seed: 20261127, startDate, days: 2, timeZone, visitorsPerDay: 120 };
          // the tenant exists before the collectors start, so their key caches hold it from the first load
          const created = JSON.parse(
            await tallyCli(
              tempDataDir('tally-cli-'),
              [
                'tenant',
                'create',
                '--name',
                'Roles',
                '--email',
                'owner@roles.example.com',
                '--domain',
                'roles.example.com',
                '--time-zone',
                timeZone,
                '--plan',
                'scale',
                '--json',
              ],
              env,
            ),
          );

          // roles without an HTTP listener are probed on their own health port
          procs.push(await startRole('scheduler', { ...env, TALLY_HEALTH_PORT: '0' }));
          procs.push(await startRole('worker', { ...env, TALLY_HEALTH_PORT: '0' }));
          api = await startRole('api', env);
          collectors = [await startRole('collector', env), await startRole('collector', env)];
          procs.push(api, ...collectors);
          target = { baseUrl: `http://127.0.0.1:${api.port}`, readKey: created.readKey, propertyId: created.propertyId, startDate, endDate };

          // one generated dataset, its events dealt alternately to the two collectors
          const halves = await Promise.all(
            collectors.map((c, half) => {
              let n = 0;
              return sendTraffic(generateTraffic(opts), {
                baseUrl: `http://127.0.0.1:${c.port}`,
                ingestKey: created.ingestKey,
                filter: () => n++ % 2 === half,
              });
            }),
          );
          for (const h of halves) expect(h.rejected).toBe(0);
          expect(halves[0].sent).toBeGreaterThan(0);
          expect(halves[1].sent).toBeGreaterThan(0);
          sentEvents = halves[0].sent + halves[1].sent;
        }, 300_000);

        afterAll(async () => {
          const codes = await Promise.all(procs.map((p) => p.stop()));
          await profile?.tearDown();
          procs.forEach((p, i) => expect(codes[i], `${p.role}:\n${p.output()}`).toBe(0));
        }, 120_000);

        it('has exactly one process running job handlers: the worker', async () => {
          const q = new Queue('pipeline', { connection: { url: redisUrl }, prefix: queuePrefix });
          try {
            expect(await q.getWorkersCount()).toBe(1);
            const schedulers = await q.getJobSchedulers();
            expect(schedulers.map((s) => [s.key, s.every])).toEqual([['pipeline', 2000]]);
          } finally {
            await q.close();
          }
        });

        it('answers with the golden-dataset numbers, every metric, overall and by every dimension', async () => {
          const gt = groundTruth(opts);
          const overall = expectedReport(gt, { startDate: target.startDate, endDate: target.endDate });
          // the scheduler's next runs on the worker load the data: wait until the totals arrive
          await eventually(
            async () => {
              const got = (await metricsBy(target)).get('');
              return got && got.eventCount === overall.get('')!.eventCount && got.sessions === overall.get('')!.sessions ? got : undefined;
            },
            180_000,
            'the pipeline to load every event',
          );
          for (const [dim, api] of GOLDEN_CASES)
            expectSame(
              await metricsBy(target, api),
              expectedReport(gt, { startDate: target.startDate, endDate: target.endDate, dimension: dim }),
              dim ?? 'overall',
            );
          expect(sentEvents).toBe(gt.stats.sentEvents);
        });

        it('answers /healthz, /readyz with its own checks, and /metrics on every role', async () => {
          const expected: Record<string, string[]> = {
            scheduler: ['jobQueue', 'metadata'],
            worker: ['eventLog', 'jobQueue', 'metadata', 'objectStore', 'warehouse'],
            api: ['metadata', 'warehouse'],
            collector: ['eventLog', 'metadata'],
          };
          for (const p of procs) {
            const base = `http://127.0.0.1:${p.port || p.healthPort}`;
            expect(p.port || p.healthPort, p.role).toBeGreaterThan(0);
            const live = await fetch(`${base}/healthz`);
            expect(live.status, p.role).toBe(200);
            expect(((await live.json()) as { roles: string[] }).roles).toEqual([p.role]);
            // a probe may miss its 2 s bound while the worker's pipeline loads the warehouse on a
            // busy 2-core machine; an orchestrator probes again (failureThreshold), so does this
            let ready: Response;
            let body: { status: string; checks: Record<string, { ok: boolean }> };
            for (let tries = 1; ; tries++) {
              ready = await fetch(`${base}/readyz`);
              body = (await ready.json()) as typeof body;
              if (ready.status === 200 || tries === 20) break;
              await new Promise((r) => setTimeout(r, 1_000));
            }
            expect(ready.status, `${p.role}: ${JSON.stringify(body)}`).toBe(200);
            expect(Object.keys(body.checks).sort(), p.role).toEqual(expected[p.role]);
            const samples = parsePrometheus(await (await fetch(`${base}/metrics`)).text());
            expect(sampleSum(samples, 'process_cpu_seconds_total'), p.role).toBeGreaterThan(0);
            if (p.role === 'worker') expect(sampleSum(samples, 'tally_archiver_lag_records', { output: 'raw-events' })).toBeGreaterThanOrEqual(0);
            if (p.role === 'worker')
              expect(sampleSum(samples, 'tally_job_duration_seconds_count', { job: 'pipeline', outcome: 'ok' })).toBeGreaterThanOrEqual(1);
            if (p.role === 'api') expect(sampleSum(samples, 'tally_complete_up_to_age_seconds')).toBeGreaterThanOrEqual(0);
          }
          // every event the two collectors acknowledged is counted by the collector that took it
          const accepted = await Promise.all(
            collectors.map(
              async (c) =>
                sampleSum(parsePrometheus(await (await fetch(`http://127.0.0.1:${c.port}/metrics`)).text()), 'tally_ingest_events_total', {
                  outcome: 'accepted',
                }) ?? 0,
            ),
          );
          expect(accepted[0] + accepted[1]).toBe(sentEvents);
        }, 180_000);

        it('logs at start the role and each engine with where it points, without secrets', () => {
          expect(new URL(metaDb.url).password).not.toBe('');
          for (const p of procs) {
            const start = p
              .output()
              .split('\n')
              .map((l) => {
                try {
                  return JSON.parse(l);
                } catch {
                  return null;
                }
              })
              .find((l) => l?.msg === 'tally starting');
            expect(start, p.role).toMatchObject({
              level: 30,
              roles: [p.role],
              eventLog: { engine: 'kafka' },
              metadata: { engine: 'postgres' },
              objectStore: { engine: 's3' },
              warehouse: { engine: 'postgres' },
              jobs: { engine: 'bullmq' },
            });
            expect(p.output(), p.role).not.toContain(`:${new URL(metaDb.url).password}@`);
          }
        });

        it('serves reports only from the api: a collector answers 404 on the report API', async () => {
          const r = await runReport(
            { ...target, baseUrl: `http://127.0.0.1:${collectors[0].port}` },
            { dateRanges: [{ startDate: target.startDate, endDate: target.endDate }], metrics: [{ name: 'sessions' }] },
          );
          expect(r.status).toBe(404);
        });
      });
    });
  });
});

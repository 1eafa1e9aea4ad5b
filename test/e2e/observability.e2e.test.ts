import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tallyCli } from '../support/cli.js';
import { parsePrometheus, sampleSum, type Sample } from '../support/prometheus.js';
import { createTenantCli, eventually, readZone, startTally, type TallyProcess, type TenantKeys } from '../support/tally-process.js';

const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';

/** The process's JSON log lines. */
function logLines(tally: TallyProcess): Record<string, any>[] {
  return tally
    .output()
    .split('\n')
    .flatMap((l) => {
      try {
        return [JSON.parse(l)];
      } catch {
        return [];
      }
    });
}

/**
 * `tally serve` (every role) observed from outside: /healthz, /readyz with every role's checks,
 * /metrics scraped after real traffic, a job run and reports, and the log lines an operator reads.
 */
describe('health, metrics and logs of tally serve', () => {
  let tally: TallyProcess;
  let t: TenantKeys;
  let samples: Sample[];
  let healthPort: number;

  beforeAll(async () => {
    tally = await startTally({ env: { LOG_LEVEL: 'debug', TALLY_TRANSFORM_INTERVAL_MS: '3600000', TALLY_ARCHIVE_MAX_WAIT_MS: '100', TALLY_HEALTH_PORT: '0' } });
    t = await createTenantCli(tally.dataDir, 'Observed');
    healthPort = logLines(tally).find((l) => l.msg === 'health listening')?.port;

    const mp = await fetch(`${tally.baseUrl}/mp/collect?measurement_id=${t.measurementId}&api_secret=${t.apiSecret}`, {
      method: 'POST',
      body: JSON.stringify({
        client_id: '1.2',
        events: [{ name: 'page_view', params: { page_location: 'https://observed.example.com/' } }, { name: '_reserved_name' }],
      }),
    });
    expect(mp.status).toBe(204);
    const native = await fetch(`${tally.baseUrl}/v1/collect`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.ingestKey}`, 'user-agent': CHROME },
      body: JSON.stringify({ events: [1, 2, 3].map((i) => ({ event_id: `e${i}`, name: 'page_view', client_id: 'c1', url: 'https://observed.example.com/' })) }),
    });
    expect(native.status).toBe(200);
    expect((await fetch(`${tally.baseUrl}/v1/collect`, { method: 'POST', body: '{}' })).status).toBe(401);
    await eventually(() => (readZone(tally.dataDir, 'raw').length >= 4 ? true : undefined), 30_000, 'the archiver');
    await tallyCli(tally.dataDir, ['jobs', 'run', 'pipeline']);
    const report = await fetch(`${tally.baseUrl}/v1beta/properties/${t.propertyId}:runReport`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.readKey}` },
      body: JSON.stringify({ dateRanges: [{ startDate: '2daysAgo', endDate: 'today' }], metrics: [{ name: 'eventCount' }] }),
    });
    expect(report.status).toBe(200);
    expect((await fetch(`${tally.baseUrl}/v1beta/properties/${t.propertyId}/metadata`)).status).toBe(401);

    const scraped = await fetch(`${tally.baseUrl}/metrics`);
    expect(scraped.status).toBe(200);
    expect(scraped.headers.get('content-type')).toMatch(/^text\/plain/);
    samples = parsePrometheus(await scraped.text());
  }, 180_000);
  afterAll(async () => {
    expect(await tally?.stop()).toBe(0);
  });

  it('answers /healthz and /readyz with every role’s checks, on the main port and on TALLY_HEALTH_PORT', async () => {
    for (const base of [tally.baseUrl, `http://127.0.0.1:${healthPort}`]) {
      const live = await fetch(`${base}/healthz`);
      expect(live.status).toBe(200);
      expect(await live.json()).toEqual({ status: 'ok', roles: ['collector', 'api', 'worker', 'scheduler'] });
      const ready = await fetch(`${base}/readyz`);
      const body = (await ready.json()) as { status: string; checks: Record<string, { ok: boolean }> };
      expect(ready.status, JSON.stringify(body)).toBe(200);
      expect(body.status).toBe('ready');
      expect(Object.keys(body.checks).sort()).toEqual(['eventLog', 'jobQueue', 'metadata', 'objectStore', 'warehouse']);
      expect(Object.values(body.checks).every((c) => c.ok)).toBe(true);
    }
    expect((await fetch(`http://127.0.0.1:${healthPort}/mp/collect`)).status).toBe(404);
  });

  it('counts ingest requests and events by protocol and outcome, dead letters by reason, and append latency', () => {
    expect(sampleSum(samples, 'tally_ingest_requests_total', { protocol: 'ga4mp', status: '204' })).toBe(1);
    expect(sampleSum(samples, 'tally_ingest_requests_total', { protocol: 'native', status: '200' })).toBe(1);
    expect(sampleSum(samples, 'tally_ingest_requests_total', { protocol: 'native', status: '401' })).toBe(1);
    expect(sampleSum(samples, 'tally_ingest_events_total', { protocol: 'ga4mp', outcome: 'accepted' })).toBe(1);
    expect(sampleSum(samples, 'tally_ingest_events_total', { protocol: 'ga4mp', outcome: 'dead_lettered' })).toBe(1);
    expect(sampleSum(samples, 'tally_ingest_events_total', { protocol: 'native', outcome: 'accepted' })).toBe(3);
    const dead = samples.filter((s) => s.name === 'tally_dead_letters_total');
    expect(dead).toHaveLength(1);
    expect(dead[0].labels.protocol).toBe('ga4mp');
    // the reason label is the reason the dead-letter record carries
    expect(readZone(tally.dataDir, 'deadletter').map((r) => r.record.reason)).toContain(dead[0].labels.reason);
    expect(sampleSum(samples, 'tally_event_log_append_seconds_count', { output: 'raw-events' })).toBe(2);
    expect(sampleSum(samples, 'tally_event_log_append_seconds_count', { output: 'dead-letter' })).toBe(1);
  });

  it('reports job durations, transformed events, archiver lag and the age of "complete up to"', () => {
    for (const job of ['pipeline', 'transform', 'load'])
      expect(sampleSum(samples, 'tally_job_duration_seconds_count', { job, outcome: 'ok' }), job).toBeGreaterThanOrEqual(1);
    expect(sampleSum(samples, 'tally_transform_events_total')).toBe(4);
    // the archiver caught up before the pipeline ran
    expect(sampleSum(samples, 'tally_archiver_lag_records', { output: 'raw-events' })).toBe(0);
    const age = sampleSum(samples, 'tally_complete_up_to_age_seconds')!;
    expect(age).toBeGreaterThanOrEqual(0);
    expect(age).toBeLessThan(120);
  });

  it('times reports by method and status, and has the process metrics', () => {
    expect(sampleSum(samples, 'tally_report_duration_seconds_count', { method: 'runReport', status: '200' })).toBe(1);
    expect(sampleSum(samples, 'tally_report_duration_seconds_count', { method: 'metadata', status: '401' })).toBe(1);
    expect(sampleSum(samples, 'process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(sampleSum(samples, 'nodejs_eventloop_lag_seconds')).toBeDefined();
  });

  it('logs the engines at start, requests at debug without secrets, and job runs with property, dates and events', () => {
    const lines = logLines(tally);
    const start = lines.find((l) => l.msg === 'tally starting')!;
    expect(start.level).toBe(30);
    expect(start.roles).toEqual(['collector', 'api', 'worker', 'scheduler']);
    expect(start.eventLog.engine).toBe('local');
    expect(start.metadata.engine).toBe('pglite');
    expect(start.warehouse.engine).toBe('duckdb');
    expect(start.objectStore.engine).toBe('folder');
    expect(start.jobs.engine).toBe('in-process');

    const ingest = lines.filter((l) => l.msg === 'ingest request');
    expect(ingest.map((l) => [l.level, l.path, l.status])).toContainEqual([20, '/mp/collect', 204]);
    expect(lines.filter((l) => l.msg === 'api request').map((l) => l.path)).toContain(`/v1beta/properties/${t.propertyId}:runReport`);
    expect(tally.output()).not.toContain(t.apiSecret);

    const transform = lines.find((l) => l.msg === 'job transform ran')!;
    expect(transform.level).toBe(30);
    expect(transform.ms).toBeGreaterThanOrEqual(0);
    expect(transform.events).toBe(4);
    expect(transform.properties).toHaveLength(1);
    expect(transform.properties[0]).toMatchObject({ propertyId: t.propertyId, events: 4 });
    expect(transform.properties[0].dates).toMatch(/^\d{4}-\d{2}-\d{2}(\.\.\d{4}-\d{2}-\d{2})?$/);
    expect(lines.find((l) => l.msg === 'job load ran')).toMatchObject({ level: 30, partitions: expect.any(Number), rows: expect.any(Number) });
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../infra/logger.js';
import { loadConfig } from '../infra/config/config.js';
import { createOpsEndpoints, startHealthListener, type ReadinessCheck } from './health.js';
import { describeEngines, redactUrl } from './startup-summary.js';

const log = createLogger('silent');
let close: (() => Promise<void>) | null = null;
afterEach(async () => {
  await close?.();
  close = null;
});

async function serve(checks: ReadinessCheck[], opts: { timeoutMs?: number; cacheMs?: number } = {}) {
  const ops = createOpsEndpoints({ roles: ['worker'], checks, log, ...opts });
  const h = await startHealthListener(0, '127.0.0.1', ops);
  close = h.close;
  return { ops, base: `http://127.0.0.1:${h.port}` };
}

describe('health endpoints', () => {
  it('answers 503 naming the check that failed or did not answer in time', async () => {
    const { base } = await serve(
      [
        { name: 'metadata', run: async () => 1 },
        { name: 'warehouse', run: () => Promise.reject(new Error('connection refused')) },
        { name: 'eventLog', run: () => new Promise(() => undefined) },
      ],
      { timeoutMs: 50 },
    );
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const r = await fetch(`${base}/readyz`);
    expect(r.status).toBe(503);
    const body = (await r.json()) as { status: string; checks: Record<string, { ok: boolean; error?: string }> };
    expect(body.status).toBe('not_ready');
    expect(body.checks.metadata.ok).toBe(true);
    expect(body.checks.warehouse).toMatchObject({ ok: false, error: 'connection refused' });
    expect(body.checks.eventLog).toMatchObject({ ok: false, error: 'no answer within 50 ms' });
  });

  it('shares one round of checks between probes within cacheMs, and says draining once drained', async () => {
    let runs = 0;
    const { ops, base } = await serve([{ name: 'metadata', run: async () => runs++ }], { cacheMs: 60_000 });
    await Promise.all([1, 2, 3, 4, 5].map(() => fetch(`${base}/readyz`)));
    expect(runs).toBe(1);
    ops.drain();
    const r = await fetch(`${base}/readyz`);
    expect(r.status).toBe(503);
    expect(((await r.json()) as { status: string }).status).toBe('draining');
    expect((await fetch(`${base}/readyz`, { method: 'POST' })).status).toBe(405);
    expect((await fetch(`${base}/other`)).status).toBe(404);
  });

  it('serves the Prometheus exposition', async () => {
    const { base } = await serve([]);
    const r = await fetch(`${base}/metrics`);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await r.text();
    for (const name of [
      'tally_ingest_requests_total',
      'tally_ingest_events_total',
      'tally_dead_letters_total',
      'tally_event_log_append_seconds',
      'tally_job_duration_seconds',
      'tally_report_duration_seconds',
      'tally_report_answers_total',
      'tally_archiver_lag_records',
      'tally_complete_up_to_age_seconds',
    ]) {
      expect(text).toContain(`# TYPE ${name} `);
    }
  });
});

describe('startup summary', () => {
  it('names each engine and where it points, without credentials', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgres://tally:s3cret@db.internal:5432/tally?sslmode=require',
      KAFKA_BROKERS: 'k1:9092,k2:9092',
      S3_BUCKET: 'raw',
      REDIS_URL: 'redis://:hunter2@cache:6379/0',
      TALLY_WAREHOUSE: 'postgres',
      WAREHOUSE_URL: 'postgres://wh:pw2@wh.internal/warehouse',
    });
    const d = describeEngines(config, ['api']);
    const text = JSON.stringify(d);
    for (const secret of ['s3cret', 'hunter2', 'pw2', 'sslmode']) expect(text).not.toContain(secret);
    expect(d).toMatchObject({
      roles: ['api'],
      metadata: { engine: 'postgres', url: 'postgres://db.internal:5432/tally' },
      eventLog: { engine: 'kafka', brokers: ['k1:9092', 'k2:9092'] },
      objectStore: { engine: 's3', bucket: 'raw' },
      warehouse: { engine: 'postgres', url: 'postgres://wh.internal/warehouse' },
      jobs: { engine: 'bullmq', redis: 'redis://cache:6379/0' },
    });
    expect(redactUrl('not a url')).toBe('(unparseable)');
  });
});

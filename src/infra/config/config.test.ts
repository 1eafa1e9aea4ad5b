import { describe, expect, it } from 'vitest';
import { checkRoles, ConfigError, loadConfig } from './config.js';

describe('loadConfig', () => {
  it('gives the embedded defaults on an empty environment', () => {
    const c = loadConfig({});
    expect(c.http.port).toBe(8080);
    expect(c.eventLog.kind).toBe('local');
    expect(c.objectStore.kind).toBe('folder');
    expect(c.core.dataDir.endsWith('.tally')).toBe(true);
    expect(c.demo.enabled).toBe(true);
  });

  it('names every bad variable in one error', () => {
    let err: unknown;
    try {
      loadConfig({ PORT: 'eighty', TALLY_LOG_PARTITIONS: '0', DATABASE_URL: 'not a url' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const msg = (err as Error).message;
    expect(msg).toContain('PORT="eighty"');
    expect(msg).toContain('TALLY_LOG_PARTITIONS="0"');
    expect(msg).toContain('DATABASE_URL="not a url"');
  });

  it('switches ports by configuration alone', () => {
    const c = loadConfig({ KAFKA_BROKERS: 'a:9092, b:9092', S3_BUCKET: 'b', S3_FORCE_PATH_STYLE: 'true' });
    expect(c.eventLog.kind).toBe('kafka');
    expect(c.eventLog.kafka?.brokers).toEqual(['a:9092', 'b:9092']);
    expect(c.objectStore).toMatchObject({ kind: 's3', bucket: 'b', forcePathStyle: true });
  });

  it('refuses kafka without brokers', () => {
    expect(() => loadConfig({ TALLY_EVENT_LOG: 'kafka' })).toThrow(/KAFKA_BROKERS/);
  });

  it('gives the transform an explicit DuckDB memory limit: TALLY_TRANSFORM_MEMORY, else a quarter of the machine', () => {
    expect(loadConfig({ TALLY_TRANSFORM_MEMORY: '2GB' }).jobs.transformMemory).toBe('2GB');
    expect(loadConfig({}).jobs.transformMemory).toMatch(/^\d+MB$/);
    expect(() => loadConfig({ TALLY_TRANSFORM_MEMORY: 'lots' })).toThrow(/TALLY_TRANSFORM_MEMORY/);
    expect(loadConfig({}).jobs.transformLateAllowanceMs).toBe(600_000);
  });

  it('takes S3_BUCKET with the default DuckDB warehouse (objects are fetched through the store)', () => {
    const c = loadConfig({ S3_BUCKET: 'b' });
    expect(c.warehouse.kind).toBe('duckdb');
    expect(c.objectStore.kind).toBe('s3');
  });

  it.each([
    [{ S3_ENDPOINT: 'http://127.0.0.1:9000' }, ['S3_ENDPOINT', 'S3_BUCKET']],
    [{ S3_PREFIX: 'raw/' }, ['S3_PREFIX', 'S3_BUCKET']],
    [{ REDSHIFT_IAM_ROLE: 'arn:aws:iam::123456789012:role/r' }, ['REDSHIFT_IAM_ROLE', 'TALLY_WAREHOUSE']],
    [{ TALLY_TRANSFORM_ENGINE: 'spark', SPARK_SUBMIT: 'spark-submit', S3_BUCKET: 'b' }, ['SPARK_JARS', 'S3_BUCKET']],
  ])('refuses a combination that cannot work, naming its variables: %o', (env, names) => {
    let err: unknown;
    try {
      loadConfig(env);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    for (const n of names) expect((err as Error).message).toContain(n);
  });

  it('reads the report limits, 10 s deadline by default', () => {
    expect(loadConfig({}).reports).toEqual({
      timeoutMs: 10_000,
      concurrency: 3,
      perTenant: 1,
      queuePerTenant: 10,
      requestsPerKeyPerMinute: 600,
      sqlMaxRows: 10_000,
      sqlTimeoutMs: 10_000,
    });
    expect(loadConfig({ TALLY_SQL_MAX_ROWS: '50', TALLY_SQL_TIMEOUT_MS: '2000' }).reports).toMatchObject({ sqlMaxRows: 50, sqlTimeoutMs: 2000 });
    expect(loadConfig({ TALLY_REPORT_TIMEOUT_MS: '2500', TALLY_REPORT_RATE_PER_MINUTE: '60' }).reports).toMatchObject({
      timeoutMs: 2500,
      requestsPerKeyPerMinute: 60,
    });
    expect(() => loadConfig({ TALLY_REPORT_TIMEOUT_MS: '0' })).toThrow(/TALLY_REPORT_TIMEOUT_MS/);
  });

  it('refuses api and worker in separate processes on the embedded DuckDB warehouse, not on PostgreSQL', () => {
    expect(() => checkRoles(loadConfig({}), ['api'])).toThrow(/TALLY_WAREHOUSE=duckdb.*api and worker/);
    expect(() => checkRoles(loadConfig({}), ['worker', 'scheduler'])).toThrow(ConfigError);
    expect(() => checkRoles(loadConfig({}), ['collector'])).not.toThrow();
    expect(() => checkRoles(loadConfig({}), ['collector', 'api', 'worker', 'scheduler'])).not.toThrow();
    expect(() => checkRoles(loadConfig({ TALLY_WAREHOUSE: 'postgres', WAREHOUSE_URL: 'postgres://x@h/db' }), ['api'])).not.toThrow();
  });
});

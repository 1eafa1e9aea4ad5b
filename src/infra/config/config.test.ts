import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

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
});

import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { observedJob } from './observed-job.js';
import { registry } from '../metrics/metrics.js';

describe('observed jobs', () => {
  it('logs what ran, for which property and dates, how long and how many events, and times it', async () => {
    const lines: any[] = [];
    const log = pino({ level: 'info' }, new Writable({ write: (chunk, _enc, cb) => (lines.push(JSON.parse(String(chunk))), cb()) }));
    const transform = observedJob(
      'transform',
      async () => ({ properties: [{ propertyId: '400000001', dates: ['2026-12-01', '2026-12-02', '2026-12-03'], eventsWritten: 42 }] }),
      log,
    );
    const ctx = { name: 'transform', data: { propertyId: '400000001' }, progress: () => undefined, signal: new AbortController().signal };
    await transform(ctx);
    await expect(observedJob('load', () => Promise.reject(new Error('warehouse down')), log)(ctx)).rejects.toThrow('warehouse down');
    expect(lines[0]).toMatchObject({
      level: 30,
      msg: 'job transform ran',
      job: 'transform',
      data: { propertyId: '400000001' },
      events: 42,
      properties: [{ propertyId: '400000001', dates: '2026-12-01..2026-12-03', days: 3, events: 42 }],
    });
    expect(lines[0].ms).toBeGreaterThanOrEqual(0);
    expect(lines[1]).toMatchObject({ level: 50, msg: 'job load failed', job: 'load', err: { message: 'warehouse down' } });
    const text = await registry.metrics();
    expect(text).toMatch(/tally_job_duration_seconds_count\{job="transform",outcome="ok"\} 1/);
    expect(text).toMatch(/tally_job_duration_seconds_count\{job="load",outcome="failed"\} 1/);
    expect(text).toMatch(/tally_transform_events_total 42/);
  });
});

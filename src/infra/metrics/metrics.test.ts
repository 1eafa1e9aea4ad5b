import { describe, expect, it } from 'vitest';
import { metrics, registry } from './metrics.js';
import { parsePrometheus, sampleSum } from '../../../test/support/prometheus.js';

describe('metrics', () => {
  it('exposes the hot-path counters and histogram with their totals, cumulative buckets, sum and count', async () => {
    for (let i = 0; i < 3; i++) metrics.ingestRequest('native', 200);
    metrics.ingestRequest('native', 429);
    metrics.ingestEvents('native', 'accepted', 500);
    metrics.ingestEvents('native', 'dead_lettered', 0);
    metrics.deadLetter('gtag', 'invalid');
    for (const s of [0.0004, 0.003, 0.003, 9]) metrics.appendDone('raw-events', s);
    const samples = parsePrometheus(await registry.metrics());

    expect(sampleSum(samples, 'tally_ingest_requests_total', { protocol: 'native', status: '200' })).toBe(3);
    expect(sampleSum(samples, 'tally_ingest_requests_total', { protocol: 'native', status: '429' })).toBe(1);
    expect(sampleSum(samples, 'tally_ingest_events_total', { protocol: 'native', outcome: 'accepted' })).toBe(500);
    expect(sampleSum(samples, 'tally_ingest_events_total', { outcome: 'dead_lettered' })).toBeUndefined();
    expect(sampleSum(samples, 'tally_dead_letters_total', { protocol: 'gtag', reason: 'invalid' })).toBe(1);

    const bucket = (le: string) => sampleSum(samples, 'tally_event_log_append_seconds_bucket', { output: 'raw-events', le });
    expect([bucket('0.0005'), bucket('0.001'), bucket('0.005'), bucket('5'), bucket('+Inf')]).toEqual([1, 1, 3, 3, 4]);
    expect(sampleSum(samples, 'tally_event_log_append_seconds_count', { output: 'raw-events' })).toBe(4);
    expect(sampleSum(samples, 'tally_event_log_append_seconds_sum', { output: 'raw-events' })).toBeCloseTo(9.0064, 6);

    // a second scrape reports the same totals, not twice them
    const again = parsePrometheus(await registry.metrics());
    expect(sampleSum(again, 'tally_ingest_requests_total', { protocol: 'native', status: '200' })).toBe(3);
  });

  it('reads archiver lag and "complete up to" from the sources the running roles set, and forgets them on unset', async () => {
    const unset = metrics.readFrom({
      archiverLag: async () => ({ 'raw-events': 12, 'dead-letter': 0 }),
      completeUpTo: async () => new Date(Date.now() - 90_000),
    });
    let samples = parsePrometheus(await registry.metrics());
    expect(sampleSum(samples, 'tally_archiver_lag_records', { output: 'raw-events' })).toBe(12);
    expect(sampleSum(samples, 'tally_complete_up_to_age_seconds')).toBeGreaterThanOrEqual(90);
    unset();
    samples = parsePrometheus(await registry.metrics());
    expect(sampleSum(samples, 'tally_archiver_lag_records')).toBeUndefined();
  });
});

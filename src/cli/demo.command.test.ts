import { describe, expect, it } from 'vitest';
import { groundTruth } from '../demo/ground-truth.js';
import { generateTraffic } from '../demo/traffic-generator.js';
import { demoTrafficOptions } from './demo.command.js';

describe('tally demo', () => {
  it('writes a ground truth for exactly the sessions it sends: none still to come today, none older than the collector accepts', () => {
    const now = Date.parse('2026-12-05T13:30:00Z'); // mid-day: half of today's sessions are still to come
    const opts = demoTrafficOptions(3, 200, 42, 'UTC', now);
    const sent = [...generateTraffic(opts)].map((i) => i.event);
    const accepted = sent.filter((e) => e.timestamp <= now && e.timestamp > now - 72 * 3_600_000);
    expect(accepted.length).toBe(sent.length);
    const gt = groundTruth(opts);
    expect(gt.stats.sentEvents).toBe(sent.length);
    const sessions = new Set(sent.map((e) => `${e.client_id}/${e.session_id ?? ''}`));
    expect(sessions.size).toBeGreaterThan(0);
    // today's human sessions in the truth all happened before `now`
    const today = gt.sessions.filter((s) => s.date === '2026-12-05');
    expect(today.length).toBeGreaterThan(0);
    expect(today.filter((s) => s.endMs > now)).toEqual([]);
  });
});

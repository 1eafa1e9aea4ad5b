import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { measureIsolation, percentile, startIsolationServer, type IsolationServer } from './report-isolation.testkit.js';

/**
 * Issue 9 §4: one tenant's reports cannot stall another's. Before the fair queue and the reader
 * connections, B's report waited behind all six of A's heavy ones (7 s measured on the issue's
 * machine). The milliseconds are `npm run bench -- report-isolation`'s; here, ratios to the heavy
 * reports of the same run, which a loaded CI machine cannot make flaky.
 */
let server: IsolationServer;

beforeAll(async () => {
  server = await startIsolationServer();
}, 60_000);

afterAll(async () => {
  await server?.close();
});

describe('report isolation between tenants (embedded warehouse)', () => {
  it("six heavy reports of one tenant do not hold another tenant's one-metric report behind them", async () => {
    const { alone, heavy, heavyMs, light } = await measureIsolation(server.url);
    expect(alone.status).toBe(200);
    const expected = alone.json.rows[0].metricValues[0].value;
    for (const r of light) {
      expect(r.status).toBe(200);
      expect(r.json.rows[0].metricValues[0].value).toBe(expected);
    }
    // a heavy report finishes or meets its deadline (GA4's DEADLINE_EXCEEDED); nothing else
    for (const h of heavy) expect([200, 504]).toContain(h.status);
    const ms = light.map((r) => r.ms);
    console.log(
      `isolation: light alone ${Math.round(alone.ms)} ms; heavy ${heavy.map((h) => `${h.status} in ${Math.round(h.ms)} ms`).join(', ')}; ${light.length} light reports during ${Math.round(heavyMs)} ms of six heavy ones: p50 ${Math.round(percentile(ms, 0.5))} ms, p99 ${Math.round(percentile(ms, 0.99))} ms`,
    );
    // Queued behind the six, B's report would finish once, after them. With the fair queue it runs
    // again and again while they run, each time in a small part of their time.
    expect(light.length).toBeGreaterThanOrEqual(3);
    expect(percentile(ms, 0.5)).toBeLessThan(heavyMs / 4);
  }, 120_000);
});

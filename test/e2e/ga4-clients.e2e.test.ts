import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify, stripVTControlCharacters } from 'node:util';
import { BetaAnalyticsDataClient } from '@google-analytics/data';
import { OAuth2Client } from 'google-auth-library';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithService } from '../support/services.js';
import { startTally, type TallyProcess } from '../support/tally-process.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');
const DIMENSIONS = ['date', 'deviceCategory'];
const METRICS = ['activeUsers', 'sessions', 'screenPageViews', 'bounceRate'];

/**
 * Google's own GA4 Data API clients for Node, Python (google-analytics-data, REST) and Java
 * (google-analytics-data, HTTP/JSON), each run as an analyst would against `tally serve` with
 * demo data, give the same numbers for the same request. Python comes from the services venv
 * (TALLY_PYTHON), Java from Maven (`mvn` on PATH; its artifacts cached in ~/.m2).
 */
describeWithService("Google's GA4 clients against Tally", 'spark', 'TALLY_PYTHON', (python) => {
  let tally: TallyProcess;
  let readKey: string;
  let propertyId: string;
  let node: string[][];

  beforeAll(async () => {
    tally = await startTally({ env: { TALLY_DEMO: 'on' } });
    // the demo prints its keys once it has sent and loaded its traffic
    const deadline = Date.now() + 240_000;
    while (!/properties\/\d+:runReport/.test(tally.output())) {
      if (Date.now() > deadline) throw new Error(`no demo keys:\n${tally.output()}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    readKey = /read key\s+(tk_read_\S+)/.exec(tally.output())![1];
    propertyId = /properties\/(\d+):runReport/.exec(tally.output())![1];
    // the read key where Google's OAuth access token would go
    const auth = new OAuth2Client();
    auth.setCredentials({ access_token: readKey });
    const client = new BetaAnalyticsDataClient({
      fallback: 'rest',
      apiEndpoint: '127.0.0.1',
      port: tally.port,
      protocol: 'http',
      authClient: auth as never,
    });
    const [res] = await client.runReport({
      property: `properties/${propertyId}`,
      dimensions: DIMENSIONS.map((name) => ({ name })),
      metrics: METRICS.map((name) => ({ name })),
      dateRanges: [{ startDate: '7daysAgo', endDate: 'today' }],
      orderBys: [{ dimension: { dimensionName: 'date' } }],
      limit: 100000,
    });
    node = (res.rows ?? []).map((r) => [...r.dimensionValues!.map((v) => v.value!), ...r.metricValues!.map((v) => v.value!)]);
    await client.close();
  }, 300_000);
  afterAll(async () => {
    await tally?.stop();
  });

  const byKey = (rows: (string | number)[][]) => new Map(rows.map((r) => [`${r[0]}|${r[1]}`, r.slice(2).map((v) => Math.round(Number(v) * 1e6) / 1e6)]));
  const args = () => ['--endpoint', tally.baseUrl, '--property', propertyId, '--read-key', readKey, '--start', '7daysAgo', '--end', 'today'];
  const fields = () => [...DIMENSIONS.flatMap((d) => ['--dimension', d]), ...METRICS.flatMap((m) => ['--metric', m])];

  it('the Node client sees the demo traffic', () => {
    expect(node.length).toBeGreaterThan(1);
    expect(node.reduce((s, r) => s + Number(r[3]), 0)).toBeGreaterThan(100);
  });

  it('Python (pandas DataFrame through google-analytics-data, REST transport) equals the Node client', async () => {
    const { stdout } = await run(python, [path.join(ROOT, 'examples/python/tally_report.py'), ...args(), ...fields(), '--json'], { timeout: 120_000 });
    const records = JSON.parse(stdout) as Record<string, string | number>[];
    const rows = records.map((r) => [...DIMENSIONS, ...METRICS].map((k) => r[k]));
    expect(byKey(rows)).toEqual(byKey(node));
  }, 180_000);

  it('Java (google-analytics-data over HTTP/JSON, built by Maven) equals the Node client', async () => {
    const { stdout } = await run('mvn', ['-q', '-B', 'compile', 'exec:java', `-Dexec.args=${[...args(), ...fields()].join(' ')}`], {
      cwd: path.join(ROOT, 'examples/java'),
      timeout: 600_000,
    });
    // without Maven's own colour codes around its (quiet) output
    const lines = stripVTControlCharacters(stdout).trim().split('\n');
    expect(lines[0].split('\t')).toEqual([...DIMENSIONS, ...METRICS]);
    expect(byKey(lines.slice(1).map((l) => l.split('\t')))).toEqual(byKey(node));
  }, 660_000);
});

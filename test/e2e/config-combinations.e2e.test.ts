import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tallyCli } from '../support/cli.js';
import { describeWithService } from '../support/services.js';
import { createTenantCli, eventually, startTally, tempDataDir, type TallyProcess, type TenantKeys } from '../support/tally-process.js';

const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';

/**
 * Issue 9 §7: every configuration either works or is refused at start. `S3_BUCKET` with the
 * default DuckDB warehouse used to load nothing (DuckDB wanted to download httpfs at run time).
 */
describeWithService('tally serve with S3_BUCKET and the default DuckDB warehouse', 's3', 'S3_ENDPOINT', (endpoint) => {
  let tally: TallyProcess;
  let t: TenantKeys;
  let s3Env: Record<string, string>;

  beforeAll(async () => {
    s3Env = {
      S3_BUCKET: process.env.S3_BUCKET ?? 'tally',
      S3_ENDPOINT: endpoint,
      S3_REGION: process.env.S3_REGION ?? 'us-east-1',
      S3_FORCE_PATH_STYLE: 'true',
      S3_PREFIX: `test/duck-on-s3/${Date.now()}-${process.pid}`,
    };
    tally = await startTally({ env: { TALLY_TRANSFORM_INTERVAL_MS: '3600000', TALLY_ARCHIVE_MAX_WAIT_MS: '100', ...s3Env } });
    t = await createTenantCli(tally.dataDir, 'DuckOnS3');
  }, 120_000);
  afterAll(async () => {
    expect(await tally?.stop()).toBe(0);
  });

  it('archives, transforms and loads through S3, and the report counts every event', async () => {
    const r = await fetch(`${tally.baseUrl}/v1/collect`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.ingestKey}`, 'user-agent': CHROME },
      body: JSON.stringify({ events: ['a', 'b', 'c'].map((id) => ({ event_id: id, name: 'page_view', client_id: 'c1', url: 'https://s3.example.com/' })) }),
    });
    expect(r.status).toBe(200);
    const count = async () => {
      const res = await fetch(`${tally.baseUrl}/v1beta/properties/${t.propertyId}:runReport`, {
        method: 'POST',
        headers: { authorization: `Bearer ${t.readKey}` },
        body: JSON.stringify({ dateRanges: [{ startDate: '2daysAgo', endDate: 'today' }], metrics: [{ name: 'eventCount' }] }),
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { rows?: { metricValues: { value: string }[] }[] };
      return Number(body.rows?.[0]?.metricValues[0].value ?? 0);
    };
    await eventually(
      async () => {
        await tallyCli(tally.dataDir, ['jobs', 'run', 'pipeline'], s3Env);
        return (await count()) === 3 ? true : undefined;
      },
      90_000,
      'three events in the report',
    );
    // nothing went through the local folder store: the objects are on S3
    const objects = path.join(tally.dataDir, 'objects');
    expect(fs.existsSync(objects) ? fs.readdirSync(objects) : []).toEqual([]);
    expect(tally.output()).not.toMatch(/httpfs|extension/i);
  }, 180_000);
});

describe('configurations that cannot work stop the process at start, naming the variables', () => {
  const refused = (args: string[], env: Record<string, string>) =>
    tallyCli(tempDataDir('tally-refused-'), args, env).then(
      () => '',
      (e: Error) => e.message,
    );

  it('tally api alone on the embedded DuckDB warehouse', async () => {
    const message = await refused(['api'], { PORT: '0', HOST: '127.0.0.1' });
    expect(message).toMatch(/exited 2/);
    expect(message).toMatch(/TALLY_WAREHOUSE=duckdb/);
  });

  it('S3_ENDPOINT without S3_BUCKET', async () => {
    const message = await refused(['serve'], { PORT: '0', HOST: '127.0.0.1', S3_ENDPOINT: 'http://127.0.0.1:1' });
    expect(message).toMatch(/exited 2/);
    expect(message).toMatch(/S3_ENDPOINT.*S3_BUCKET/);
  });
});

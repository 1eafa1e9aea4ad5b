import { afterAll, describe, expect, it } from 'vitest';
import { eventually, startTally, type TallyProcess } from '../support/tally-process.js';

describe('npm start on an empty data dir', () => {
  let tally: TallyProcess | undefined;
  afterAll(async () => {
    await tally?.stop();
  });

  it('listens first, then seeds a demo tenant and prints a report request that works', async () => {
    tally = await startTally({ env: { TALLY_DEMO: 'on', LOG_LEVEL: 'info' } });
    // the collector answers while the demo is still being generated
    expect((await fetch(`${tally.baseUrl}/readyz`)).status).toBe(200);
    const out = await eventually(() => (tally!.output().includes('Try a report:') ? tally!.output() : undefined), 120_000, 'the demo tenant');
    expect(out.indexOf('tally listening')).toBeLessThan(out.indexOf('Demo tenant ready'));
    const readKey = /read key\s+(\S+)/.exec(out)![1];
    const property = /property id\s+(\d+)/.exec(out)![1];
    const body = /-d '(\{.*\})'/.exec(out)![1];
    const r = await fetch(`${tally.baseUrl}/v1beta/properties/${property}:runReport`, {
      method: 'POST',
      headers: { authorization: `Bearer ${readKey}` },
      body,
    });
    expect(r.status).toBe(200);
    const report = (await r.json()) as any;
    expect(report.rows.length).toBeGreaterThanOrEqual(2);
    const sessions = report.rows.reduce((n: number, row: any) => n + Number(row.metricValues[1].value), 0);
    expect(sessions).toBeGreaterThan(100);
    // the README's tenant SQL request works on the demo (its plan includes the `sql` feature)
    const sql = await fetch(`${tally.baseUrl}/v1/sql`, {
      method: 'POST',
      headers: { authorization: `Bearer ${readKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'SELECT device_category, count(*) AS events FROM events GROUP BY 1 ORDER BY 2 DESC' }),
    });
    expect(sql.status, await sql.clone().text()).toBe(200);
    expect(((await sql.json()) as any).rows.length).toBeGreaterThanOrEqual(2);
    // the demo owner's console login, printed beside the keys
    const [, email, password] = /log in as (\S+), password (\S+)\)/.exec(out)!;
    const login = await fetch(`${tally.baseUrl}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password }),
    });
    expect(login.status).toBe(200);
    expect(((await login.json()) as any).memberships).toHaveLength(1);
  });

  it('does not seed again on a restart of the same data dir', async () => {
    const dataDir = tally!.dataDir;
    expect(await tally!.stop()).toBe(0);
    tally = await startTally({ dataDir, env: { TALLY_DEMO: 'on' } });
    await new Promise((r) => setTimeout(r, 3000));
    expect(tally.output()).not.toContain('Demo tenant ready');
  });
});

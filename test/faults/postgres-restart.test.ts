import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { afterAll, expect, it } from 'vitest';
import { createTestDatabase } from '../../src/infra/metadata/test-database.testkit.js';
import { describeWithService } from '../support/services.js';
import { createTenantCli, eventually, readZone, startTally, type TallyProcess } from '../support/tally-process.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const STATE = process.env.TALLY_SERVICES_STATE ?? '/tmp/tally-services';

async function canConnect(url: string): Promise<boolean> {
  const c = new Client({ connectionString: url, connectionTimeoutMillis: 1000 });
  try {
    await c.connect();
    await c.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** Fast shutdown of the server scripts/services started (its data stays; `down` would delete it). */
async function stopPostgres(url: string): Promise<void> {
  const pid = Number(fs.readFileSync(path.join(STATE, 'postgres.pid'), 'utf8').trim().split('\n')[0]);
  process.kill(pid, 'SIGINT');
  await eventually(async () => ((await canConnect(url)) ? undefined : true), 30_000, 'PostgreSQL to stop');
}

function startPostgres(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(ROOT, 'scripts/services'), ['up', 'postgres'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`scripts/services up postgres failed (${code}): ${err}`))));
  });
}

describeWithService('fault: PostgreSQL restarted under traffic', 'postgres', 'DATABASE_URL', (baseUrl) => {
  let db: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  let tally: TallyProcess | undefined;
  let stopped = false;

  afterAll(async () => {
    if (stopped) await startPostgres();
    await tally?.stop();
    await db?.drop();
  });

  it('keeps accepting with cached keys while the metadata DB is down, and archives everything once it is back', async () => {
    db = await createTestDatabase(baseUrl, 'fault_pg');
    tally = await startTally({ env: { DATABASE_URL: db.url } });
    const t = await createTenantCli(tally.dataDir, 'Resilient');
    let n = 0;
    const send = async () => {
      const id = `pg-${n++}`;
      const r = await fetch(`${tally!.baseUrl}/v1/collect`, {
        method: 'POST',
        headers: { authorization: `Bearer ${t.ingestKey}` },
        body: JSON.stringify({ events: [{ event_id: id, name: 'page_view', client_id: 'c1' }] }),
      });
      return { id, status: r.status };
    };
    const before = await Promise.all(Array.from({ length: 10 }, send));
    expect(before.map((r) => r.status)).toEqual(Array(10).fill(200));

    await stopPostgres(db.url);
    stopped = true;
    const during: { id: string; status: number }[] = [];
    for (let i = 0; i < 30; i++) {
      during.push(await send());
      await new Promise((r) => setTimeout(r, 100)); // spans the credential refresh and usage flush
    }
    expect(during.map((r) => r.status)).toEqual(Array(30).fill(200));
    const mp = await fetch(`${tally.baseUrl}/mp/collect?measurement_id=${t.measurementId}&api_secret=${t.apiSecret}`, {
      method: 'POST',
      body: JSON.stringify({ client_id: '1.2', events: [{ name: 'while_db_down' }] }),
    });
    expect(mp.status).toBe(204);

    await startPostgres();
    stopped = false;
    const after = await Promise.all(Array.from({ length: 10 }, send));
    expect(after.map((r) => r.status)).toEqual(Array(10).fill(200));

    const acked = [...before, ...during, ...after].map((r) => r.id);
    const raw = await eventually(
      () => {
        const recs = readZone(tally!.dataDir, 'raw').map((r) => r.record);
        return acked.every((id) => recs.some((r) => r.event_id === id)) && recs.some((r) => r.name === 'while_db_down') ? recs : undefined;
      },
      90_000,
      'every acknowledged event in the raw zone',
    );
    const counts = new Map<string, number>();
    for (const r of raw) counts.set(r.event_id, (counts.get(r.event_id) ?? 0) + 1);
    for (const id of acked) expect(counts.get(id), id).toBe(1);
    expect(await tally.stop()).toBe(0);
    tally = undefined;
  });
});

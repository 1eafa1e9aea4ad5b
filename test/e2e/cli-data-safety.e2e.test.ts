import { execFile, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { embeddedEnv, startTally, tempDataDir, type TallyProcess } from '../support/tally-process.js';

const BIN = path.resolve(import.meta.dirname, '../../bin/tally.mjs');
interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}
/** `tally …` as a child process, without blocking the test worker (vitest's RPC times out behind long spawnSync chains). */
const tally = (args: string[], env: Record<string, string> = {}) =>
  new Promise<Run>((resolve) => {
    const opts = { env: { ...embeddedEnv(), LOG_LEVEL: 'warn', TALLY_DEMO: 'off', ...env }, encoding: 'utf8' as const, timeout: 180_000 };
    execFile(process.execPath, [BIN, ...args], opts, (err, stdout, stderr) =>
      resolve({ status: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
const json = (r: Run) => {
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
};
const serverJson = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'server.json'), 'utf8')) as { pid: number; port: number; adminPort: number };

describe('the data dir is never corrupted by a second process', () => {
  let a: TallyProcess;
  beforeAll(async () => {
    // no scheduled pipeline: the jobs the test runs by hand are the only ones
    a = await startTally({ env: { TALLY_TRANSFORM_INTERVAL_MS: '86400000' } });
  }, 180_000);
  afterAll(async () => {
    await a?.stop();
  });

  it('a refused second `tally serve` leaves server.json alone, and the CLI keeps using the running server', async () => {
    const before = fs.readFileSync(path.join(a.dataDir, 'server.json'), 'utf8');
    const second = await tally(['serve'], { TALLY_DATA_DIR: a.dataDir, PORT: '0', HOST: '127.0.0.1' });
    expect(second.status).not.toBe(0);
    expect(second.stderr).toContain(`data dir ${a.dataDir} is in use by process ${a.child.pid}`);
    expect(fs.readFileSync(path.join(a.dataDir, 'server.json'), 'utf8')).toBe(before);

    const t = json(
      await tally(['tenant', 'create', '--name', 'Kept', '--email', 'kept@example.com', '--domain', 'kept.example', '--json'], { TALLY_DATA_DIR: a.dataDir }),
    );
    // created in the running server's database: listed by it, and still there after it stops
    expect(json(await tally(['tenant', 'list', '--json'], { TALLY_DATA_DIR: a.dataDir })).map((x: { organizationId: string }) => x.organizationId)).toContain(
      t.organizationId,
    );
    const ingest = await fetch(`${a.baseUrl}/v1/collect`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.ingestKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ events: [{ name: 'page_view', client_id: 'c1', timestamp: Date.now(), url: 'https://kept.example/' }] }),
    });
    expect(ingest.status).toBeLessThan(300);
  }, 240_000);

  it('serves the operator endpoint on loopback only, apart from the public listener, and checks the token before reading a body', async () => {
    expect((await fetch(`${a.baseUrl}/internal/v1/tenants`)).status).toBe(404);
    const { adminPort } = serverJson(a.dataDir);
    expect(adminPort).toBeGreaterThan(0);
    expect(adminPort).not.toBe(a.port);
    // a body announced but never sent: the answer comes anyway, so nothing was read before the token check
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request({
        host: '127.0.0.1',
        port: adminPort,
        method: 'POST',
        path: '/internal/v1/tenants',
        headers: { authorization: 'Bearer wrong', 'content-length': '100000' },
      });
      req.on('response', (res) => {
        resolve(res.statusCode ?? 0);
        req.destroy();
      });
      req.on('error', reject);
      req.flushHeaders();
    });
    expect(status).toBe(401);
  });

  it('manages tenants through the running server: list, show, set-plan, delete, as text or JSON', async () => {
    const env = { TALLY_DATA_DIR: a.dataDir };
    const t = json(await tally(['tenant', 'create', '--name', 'Acme', '--email', 'owner@acme.example', '--domain', 'acme.example', '--json'], env));
    const list = await tally(['tenant', 'list'], env);
    expect(list.stdout).toMatch(new RegExp(`${t.organizationId}\\s+free\\s+1\\s`));
    const shown = json(await tally(['tenant', 'show', t.organizationId, '--json'], env));
    expect(shown).toMatchObject({ organizationId: t.organizationId, name: 'Acme', planId: 'free', owners: ['owner@acme.example'] });
    expect(shown.keys.map((k: { scope: string }) => k.scope).sort()).toEqual(['ingest', 'mp_secret', 'read']);
    expect(JSON.stringify(shown)).not.toContain(t.readKey);
    expect((await tally(['tenant', 'set-plan', t.organizationId, 'growth'], env)).stdout).toContain('is now on plan growth');
    const bad = await tally(['tenant', 'set-plan', t.organizationId, 'platinum'], env);
    expect([bad.status, bad.stderr]).toEqual([1, expect.stringContaining('unknown plan "platinum"')]);
    expect((await tally(['tenant', 'delete', t.organizationId], env)).status).toBe(2);
    // through the running server the erasure of the property's data is queued on its worker
    expect(json(await tally(['tenant', 'delete', t.organizationId, '--yes', '--json'], env))).toEqual({
      organizationId: t.organizationId,
      properties: 1,
      propertyIds: [t.propertyId],
      purge: 'queued',
    });
    const gone = await tally(['tenant', 'show', t.organizationId], env);
    expect([gone.status, gone.stderr]).toEqual([1, expect.stringContaining(`no tenant ${t.organizationId}`)]);
  }, 180_000);

  it('`tally demo` writes its keys 0600 and a ground truth for today that the reports match; `jobs run pipeline --full` covers every property', async () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tally-demo-out-')), 'truth.json');
    fs.writeFileSync(out, 'old', { mode: 0o644 });
    const env = { TALLY_DATA_DIR: a.dataDir };
    const demo = json(await tally(['demo', '--url', a.baseUrl, '--days', '2', '--visitors', '60', '--out', out, '--json'], env));
    expect(fs.statSync(out).mode & 0o777).toBe(0o600);
    const file = JSON.parse(fs.readFileSync(out, 'utf8'));
    expect(demo.accepted).toBe(file.sent.accepted);
    expect(file.tenant.readKey).toMatch(/^tk_read_/);

    const first = json(await tally(['jobs', 'run', 'pipeline', '--json'], env));
    expect(first.transform.properties.map((p: { propertyId: string }) => p.propertyId)).toContain(file.tenant.propertyId);
    // nothing new since: --full without --property re-transforms every property with raw data
    const full = json(await tally(['jobs', 'run', 'pipeline', '--full', '--json'], env));
    expect(full.transform.properties.map((p: { propertyId: string }) => p.propertyId)).toContain(file.tenant.propertyId);
    expect((await tally(['jobs', 'run', 'pipeline'], env)).stdout).toMatch(/load: \d+ partition\(s\)/);
    // progress counts whole units, each named: dates transformed, then partitions loaded
    const token = fs.readFileSync(path.join(a.dataDir, 'admin-token'), 'utf8').trim();
    const run = await fetch(`http://127.0.0.1:${serverJson(a.dataDir).adminPort}/internal/v1/jobs/run`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'pipeline', full: true }),
    });
    const progress = (await run.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((l) => l.progress)
      .map((l) => l.progress as [number, number, string]);
    expect(new Set(progress.map((p) => p[2]))).toEqual(new Set(['dates', 'partitions']));
    for (const [done, total] of progress) expect(Number.isInteger(done) && Number.isInteger(total) && done <= total && total > 1).toBe(true);

    // the first day sent: a whole day whatever the hour (today alone is nearly empty just after midnight)
    const today = file.groundTruth.options.startDate as string;
    const res = await fetch(`${a.baseUrl}/v1beta/properties/${file.tenant.propertyId}:runReport`, {
      method: 'POST',
      headers: { authorization: `Bearer ${file.tenant.readKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        dateRanges: [{ startDate: today, endDate: today }],
        metrics: [{ name: 'activeUsers' }, { name: 'sessions' }, { name: 'eventCount' }],
      }),
    });
    const report = (await res.json()) as { rows?: { metricValues: { value: string }[] }[] };
    const got = (report.rows?.[0]?.metricValues ?? []).map((m) => Number(m.value));
    const want = file.groundTruth.byDate[today];
    expect(got).toEqual([want.activeUsers, want.sessions, want.eventCount]);
  }, 300_000);
});

describe('the CLI and the data dir', () => {
  it('never opens an embedded database that a live process holds, whatever server.json says', async () => {
    const dir = tempDataDir();
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 120000)'], { stdio: 'ignore' });
    try {
      fs.writeFileSync(path.join(dir, 'LOCK'), String(holder.pid));
      const old = new Date(Date.now() - 10 * 60_000);
      fs.utimesSync(path.join(dir, 'LOCK'), old, old); // held for ten minutes: not a server starting
      fs.writeFileSync(path.join(dir, 'server.json'), JSON.stringify({ pid: 999_999, port: 1, host: '127.0.0.1', adminPort: 1 })); // stale
      const r = await tally(['tenant', 'create', '--name', 'X', '--email', 'x@example.com', '--domain', 'x.example'], { TALLY_DATA_DIR: dir });
      expect(r.status).toBe(3);
      expect(r.stderr).toContain(`data dir ${dir} is in use by process ${holder.pid}`);
      expect(fs.existsSync(path.join(dir, 'pgdata'))).toBe(false);
    } finally {
      holder.kill();
    }
  }, 60_000);

  it('says so and stops when there is no data dir, and --init makes one on purpose', () => {
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-elsewhere-'));
    const args = ['tenant', 'create', '--name', 'Y', '--email', 'y@example.com', '--domain', 'y.example', '--json'];
    const env = embeddedEnv();
    delete env.TALLY_DATA_DIR;
    const r = spawnSync(process.execPath, [BIN, ...args], { cwd, env: { ...env, LOG_LEVEL: 'warn' }, encoding: 'utf8', timeout: 120_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`no Tally data dir at ${path.join(cwd, '.tally')} (TALLY_DATA_DIR is not set`);
    expect(fs.existsSync(path.join(cwd, '.tally'))).toBe(false);
    const ok = spawnSync(process.execPath, [BIN, ...args, '--init'], { cwd, env: { ...env, LOG_LEVEL: 'warn' }, encoding: 'utf8', timeout: 120_000 });
    expect(ok.status, ok.stderr).toBe(0);
    expect(fs.existsSync(path.join(cwd, '.tally', 'pgdata', 'PG_VERSION'))).toBe(true);
  }, 180_000);
});

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../infra/config/config.js';
import { createLogger } from '../infra/logger.js';
import { TRANSFORMED_TABLE_NAMES } from '../domain/transformed-schema.js';
import { startTally, type TallyHandle } from '../server/tally-server.js';
import { createTenant, type CreatedTenant } from '../tenancy/tenant.repository.js';
import { TenancyService } from '../tenancy/tenancy.service.js';
import { openOperator } from './operator.js';

const UA = 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0';
const ZONES = ['raw/', 'deadletter/', 'transformed/', 'state/'];

/**
 * `tally tenant delete` erases the tenant's data: through the process holding the data dir (its
 * admin endpoint queues `purge-property` per property, its worker runs them) and with nobody
 * holding it (the command runs the purges itself). Before, it removed the bookkeeping only and
 * left every stored object and warehouse row of the properties behind.
 */
describe('tally tenant delete erases the properties’ data', () => {
  let dir: string;
  let config: Config;
  let tally: TallyHandle | null = null;
  let a: CreatedTenant;
  let b: CreatedTenant;
  let c: CreatedTenant;
  let a2: string;

  const start = async () => {
    tally = await startTally(config, ['collector', 'api', 'worker'], { logger: createLogger(process.env.TALLY_TEST_LOG ?? 'silent') });
    return tally;
  };
  /** Page views (and a dead letter: a host the property does not list) for one property, then the pipeline. */
  const traffic = async (t: TallyHandle, measurementId: string, host: string, propertyId: string) => {
    for (const [i, h] of [host, host, 'elsewhere.not-listed.test'].entries()) {
      const q = new URLSearchParams({ v: '2', tid: measurementId, cid: `c${i}.1`, en: 'page_view', dl: `https://${h}/p${i}`, _et: '100' });
      const r = await fetch(`http://127.0.0.1:${t.port}/g/collect?${q}`, { headers: { 'user-agent': UA } });
      expect(r.status).toBe(204);
    }
    await t.runJob('pipeline', { propertyId }, () => undefined);
  };
  const keysOf = async (t: TallyHandle, propertyId: string) => {
    const keys: string[] = [];
    for (const z of ZONES) keys.push(...(await t.store.list(z)).map((o) => o.key).filter((k) => k.includes(`property=${propertyId}/`)));
    return keys;
  };
  const warehouseRows = async (t: TallyHandle, propertyId: string) => {
    let n = 0;
    for (const table of TRANSFORMED_TABLE_NAMES) {
      const [row] = await t.warehouse!.query<{ n: unknown }>(`SELECT count(*) AS n FROM ${table} WHERE property_id = $1`, [propertyId]);
      n += Number(row.n);
    }
    return n;
  };
  const expectErased = async (t: TallyHandle, propertyId: string) => {
    expect(await keysOf(t, propertyId)).toEqual([]);
    expect(await warehouseRows(t, propertyId)).toBe(0);
  };
  const expectData = async (t: TallyHandle, propertyId: string) => {
    const keys = await keysOf(t, propertyId);
    for (const z of ['raw/', 'deadletter/', 'transformed/'])
      expect(
        keys.some((k) => k.startsWith(z)),
        `${propertyId} ${z}`,
      ).toBe(true);
    expect(await warehouseRows(t, propertyId)).toBeGreaterThan(0);
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-tenant-delete-'));
    config = loadConfig({ TALLY_DATA_DIR: dir, PORT: '0', LOG_LEVEL: 'silent', TALLY_TRANSFORM_INTERVAL_MS: '3600000', TALLY_ARCHIVE_MAX_WAIT_MS: '100' });
    const t = await start();
    a = await createTenant(t.db, { name: 'A', email: 'owner@a.delete.test', domain: 'a.example.com', planId: 'scale' });
    b = await createTenant(t.db, { name: 'B', email: 'owner@b.delete.test', domain: 'b.example.com', planId: 'scale' });
    c = await createTenant(t.db, { name: 'C', email: 'owner@c.delete.test', domain: 'c.example.com', planId: 'scale' });
    const second = await new TenancyService(t.db).createProperty({ kind: 'operator' }, a.organizationId, { name: 'second', domain: 'a2.example.com' });
    a2 = String(second.id);
    await t.credentials.refresh();
    await traffic(t, a.measurementId, 'a.example.com', a.propertyId);
    await traffic(t, second.measurementId, 'a2.example.com', a2);
    await traffic(t, b.measurementId, 'b.example.com', b.propertyId);
    await traffic(t, c.measurementId, 'c.example.com', c.propertyId);
    for (const id of [a.propertyId, a2, b.propertyId, c.propertyId]) await expectData(t, id);
  }, 180_000);

  afterAll(async () => {
    await tally?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('through the running process: queues purge-property for each property; once it ran nothing with their ids is left, other tenants keep theirs', async () => {
    const t = tally!;
    const op = await openOperator(config);
    expect(op.via.kind).toBe('server');
    const r = await op.deleteTenant(a.organizationId);
    expect(r).toMatchObject({ organizationId: a.organizationId, properties: 2, purge: 'queued' });
    expect([...r.propertyIds].sort()).toEqual([a.propertyId, a2].sort());
    // the queued jobs run on the process's worker
    for (let i = 0; i < 300 && ((await keysOf(t, a.propertyId)).length || (await keysOf(t, a2)).length); i++) await new Promise((res) => setTimeout(res, 100));
    for (let i = 0; i < 100 && ((await warehouseRows(t, a.propertyId)) || (await warehouseRows(t, a2))); i++) await new Promise((res) => setTimeout(res, 100));
    await expectErased(t, a.propertyId);
    await expectErased(t, a2);
    for (const id of [b.propertyId, c.propertyId]) await expectData(t, id);
  }, 120_000);

  it('with no process holding the data dir: the command runs the purges itself before it answers', async () => {
    await tally!.stop();
    tally = null;
    const op = await openOperator(config);
    expect(op.via.kind).toBe('local');
    const r = await op.deleteTenant(b.organizationId);
    expect(r).toMatchObject({ organizationId: b.organizationId, properties: 1, propertyIds: [b.propertyId], purge: 'done' });
    const t = await start();
    await expectErased(t, b.propertyId);
    await expectData(t, c.propertyId);
  }, 120_000);
});

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { describeWithService } from '../../../test/support/services.js';
import { createTestDatabase } from '../../infra/metadata/test-database.testkit.js';
import { FolderObjectStore } from '../../infra/object-store/folder.object-store.js';
import { PostgresWarehouse } from '../../infra/warehouse/postgres.warehouse.js';
import { generateProperty, loadPartitions, mergeFixtures, writeParquetPartitions } from '../report-fixture.testkit.js';
import { sqlSandboxSuite } from './sql.testkit.js';

describeWithService('POST /v1/sql on the PostgreSQL warehouse', 'postgres', 'DATABASE_URL', (baseUrl) => {
  const drops: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const d of drops) await d();
  });
  const fresh = async () => {
    const t = await createTestDatabase(baseUrl, 'sql');
    drops.push(t.drop);
    return t.url;
  };

  describe('through the API, as the tally_sql role under row-level security', () => {
    sqlSandboxSuite(async (dir) => {
      const wh = new PostgresWarehouse({ url: await fresh(), store: new FolderObjectStore(dir) });
      await wh.init();
      return wh;
    });
  });

  it('gives a BI tool a read-only login that sees one property, whatever it sets or selects', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tally-sql-bi-'));
    const url = await fresh();
    const wh = new PostgresWarehouse({ url, store: new FolderObjectStore(dir) });
    // property ids unique to this run: login roles are per cluster, shared by every test database
    const mine = `bi${Date.now().toString(36)}`;
    const theirs = `${mine}x`;
    const fx = mergeFixtures(generateProperty('t1', mine, 21, 10), generateProperty('t2', theirs, 22, 10));
    try {
      await wh.init();
      await loadPartitions(wh, await writeParquetPartitions(fx, dir));
      const grant = await wh.grantReader({ tenantId: 't1', propertyId: mine });
      const again = await wh.grantReader({ tenantId: 't1', propertyId: mine });
      expect(again.role).toBe(grant.role);
      const login = new URL(url);
      login.username = grant.role;
      login.password = grant.password;
      const bad = new pg.Client({ connectionString: (() => ((login.password = grant.password), login.toString()))() });
      // the first password was rotated by the second grant
      await expect(bad.connect()).rejects.toThrow();
      login.password = again.password;
      const bi = new pg.Client({ connectionString: login.toString() });
      await bi.connect();
      try {
        const count = async (sql: string) => Number((await bi.query(sql)).rows[0].n);
        expect(await count('SELECT count(*) AS n FROM events')).toBe(fx.events.filter((e) => e.property_id === mine).length);
        expect(await count(`SELECT count(*) AS n FROM events WHERE property_id = '${theirs}'`)).toBe(0);
        // the policy is keyed by the login, not by a setting the login could change
        await bi.query("SELECT set_config('tally.tenant_id', 't2', false), set_config('tally.property_id', $1, false)", [theirs]);
        expect(await count(`SELECT count(*) AS n FROM sessions WHERE property_id = '${theirs}'`)).toBe(0);
        await expect(bi.query('SELECT * FROM tally_sql_grants')).rejects.toThrow(/permission denied/);
        await expect(bi.query("DELETE FROM events WHERE property_id = 'x'")).rejects.toThrow(/read-only|permission denied/);
      } finally {
        await bi.end();
      }
    } finally {
      await wh.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

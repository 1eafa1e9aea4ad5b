import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateProperty, writeParquetPartitions } from '../../query/report-fixture.testkit.js';
import { servicesS3Store } from '../object-store/s3-store.testkit.js';
import { DuckDbWarehouse } from './duckdb.warehouse.js';

/**
 * Issue 9 §7: S3_BUCKET with the default DuckDB warehouse loaded nothing (DuckDB wanted to
 * download httpfs at run time). Objects are now fetched through the ObjectStore port.
 */
describe('DuckDbWarehouse with objects on S3 (services profile: moto)', () => {
  it('loads a partition from several S3 objects without any DuckDB extension, and refuses a missing one', async () => {
    const store = servicesS3Store('duck-wh-test');
    if (!store) return;
    const dir = mkdtempSync(join(tmpdir(), 'tally-duck-s3-'));
    const wh = await DuckDbWarehouse.open({ path: ':memory:', store, tempDir: dir });
    try {
      const a = generateProperty('t9', 'p9', 11, 8);
      const b = generateProperty('t9', 'p9', 12, 5);
      const partsA = await writeParquetPartitions(a, join(dir, 'a'));
      const partsB = await writeParquetPartitions(b, join(dir, 'b'));
      for (const p of partsA) await store.put(p.key, readFileSync(join(dir, 'a', p.key)));
      for (const p of partsB) await store.put(p.key.replace('part-0', 'part-1'), readFileSync(join(dir, 'b', p.key)));
      expect(store.locate(partsA[0].key)).toMatch(/^s3:\/\//);
      await wh.init();
      // one partition, its objects from both writers (the transform writes several per partition)
      const date = partsA.find((p) => p.table === 'events')!.date;
      const keys = [partsA, partsB]
        .flatMap((ps) => ps.filter((p) => p.table === 'events' && p.date === date))
        .map((p, i) => (i === 0 ? p.key : p.key.replace('part-0', 'part-1')));
      expect(keys).toHaveLength(2);
      const { rows } = await wh.loadPartition('events', { tenantId: 't9', propertyId: 'p9', date }, keys);
      const expected = [...a.events, ...b.events].filter((e) => e.local_date === date).length;
      expect(rows).toBe(expected);
      expect((await wh.query<{ n: number }>('SELECT count(*) AS n FROM events WHERE local_date = CAST($1 AS DATE)', [date]))[0].n).toBe(expected);
      const extensions = await wh.query<{ n: number }>("SELECT count(*) AS n FROM duckdb_extensions() WHERE extension_name = 'httpfs' AND loaded", []);
      expect(extensions[0].n).toBe(0);
      await expect(wh.loadPartition('events', { tenantId: 't9', propertyId: 'p9', date }, [`${keys[0]}.gone`])).rejects.toMatchObject({ code: 'not_found' });
      expect((await wh.query<{ n: number }>('SELECT count(*) AS n FROM events', []))[0].n).toBe(expected);
    } finally {
      await wh.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

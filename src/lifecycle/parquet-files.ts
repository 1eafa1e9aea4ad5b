import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import type { ObjectStore } from '../infra/object-store/object-store.port.js';

/**
 * Parquet work on objects of any store: each file is fetched into a scratch folder, handled by an
 * in-memory DuckDB, and put back whole (`put` is atomic), so the folder store and S3 behave alike
 * and no engine credentials are needed.
 */
export async function withScratchDuckDb<T>(fn: (conn: DuckDBConnection, scratch: string) => Promise<T>): Promise<T> {
  const scratch = await mkdtemp(join(tmpdir(), 'tally-lifecycle-'));
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  const conn = await instance.connect();
  try {
    return await fn(conn, scratch);
  } finally {
    conn.closeSync();
    instance.closeSync();
    await rm(scratch, { recursive: true, force: true });
  }
}

export function sqlText(v: string): string {
  return `'${v.replace(/'/g, "''")}'`;
}

/**
 * Removes the rows matching `where` (a DuckDB condition) from each Parquet object of `keys`;
 * objects without such rows are left untouched. Returns the rows removed and the rows left.
 */
export async function removeParquetRows(store: ObjectStore, keys: string[], where: string): Promise<{ removed: number; left: number }> {
  return withScratchDuckDb(async (conn, scratch) => {
    let removed = 0;
    let left = 0;
    for (const [i, key] of keys.entries()) {
      const body = await store.get(key);
      if (!body) continue;
      const src = join(scratch, `in-${i}.parquet`);
      await writeFile(src, body);
      const [hit, total] = (await conn.runAndReadAll(`SELECT count(*) FILTER (WHERE ${where}), count(*) FROM read_parquet(${sqlText(src)})`)).getRows()[0];
      left += Number(total) - Number(hit);
      if (!Number(hit)) continue;
      removed += Number(hit);
      const dst = join(scratch, `out-${i}.parquet`);
      await conn.run(`COPY (SELECT * FROM read_parquet(${sqlText(src)}) WHERE NOT (${where})) TO ${sqlText(dst)} (FORMAT parquet)`);
      await store.put(key, await readFile(dst));
    }
    return { removed, left };
  });
}

/** Rows matching `where` in the Parquet objects of `keys` (a scan: nothing is changed). */
export async function countParquetRows(store: ObjectStore, keys: string[], where: string): Promise<number> {
  if (!keys.length) return 0;
  return withScratchDuckDb(async (conn, scratch) => {
    let n = 0;
    for (const [i, key] of keys.entries()) {
      const body = await store.get(key);
      if (!body) continue;
      const src = join(scratch, `scan-${i}.parquet`);
      await writeFile(src, body);
      n += Number((await conn.runAndReadAll(`SELECT count(*) FROM read_parquet(${sqlText(src)}) WHERE ${where}`)).getRows()[0][0]);
    }
    return n;
  });
}

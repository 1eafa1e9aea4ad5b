import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { TallyError } from '../errors.js';
import type { ObjectStore } from '../object-store/object-store.port.js';

/**
 * Local paths an embedded DuckDB can read for `keys`, one per key: the folder store's own file,
 * or, for an object the store locates elsewhere (`s3://…`), its bytes fetched through the port
 * into `scratch`. DuckDB's httpfs extension would be a run-time download (impossible offline),
 * so nothing here lets DuckDB reach the network. A missing object fails with not_found.
 */
export async function localObjectPaths(store: Pick<ObjectStore, 'locate' | 'get'>, keys: readonly string[], scratch: string): Promise<string[]> {
  const paths: string[] = [];
  for (const [i, key] of keys.entries()) {
    const located = store.locate(key);
    if (isAbsolute(located)) {
      if (!existsSync(located)) throw new TallyError('not_found', `warehouse load: no object ${key}`, { key });
      paths.push(located);
      continue;
    }
    const body = await store.get(key);
    if (!body) throw new TallyError('not_found', `warehouse load: no object ${key}`, { key });
    const local = join(scratch, `${i}.parquet`);
    await writeFile(local, body);
    paths.push(local);
  }
  return paths;
}

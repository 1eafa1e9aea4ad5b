import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { openDb, type Db } from './db.js';

/** The embedded metadata database of a describe: `db` and its folder `dir` are set once its tests run. */
export interface SuiteMetadataDb {
  db: Db;
  dir: string;
}

/**
 * An embedded (PGlite) metadata database in a new temporary folder named `prefix…`, for the
 * enclosing describe: opened before its tests; destroyed, and its folder removed, after them.
 */
export function embeddedDbPerSuite(prefix: string): SuiteMetadataDb {
  const suite = {} as SuiteMetadataDb;
  beforeAll(async () => {
    suite.dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    suite.db = await openDb({ dataDir: suite.dir });
  });
  afterAll(async () => {
    await suite.db?.destroy();
    if (suite.dir) fs.rmSync(suite.dir, { recursive: true, force: true });
  });
  return suite;
}

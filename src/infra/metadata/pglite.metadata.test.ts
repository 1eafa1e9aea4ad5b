import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe } from 'vitest';
import { openDb } from './db.js';
import { metadataContract } from './metadata.contract.js';

describe('metadata on PGlite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tally-meta-pglite-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  metadataContract(() => openDb({ dataDir: dir }));
});

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import knexFactory, { type Knex } from 'knex';
import ClientPgLite from 'knex-pglite';
import { migrationSource } from '../../../migrations/index.js';

export type Db = Knex;

/**
 * The metadata DB: PGlite (real Postgres in-process, stored in the data dir) by default,
 * PostgreSQL through `pg` when a URL is given. Same knex migrations for both.
 */
export async function openDb(opts: { url?: string; dataDir: string }): Promise<Db> {
  let db: Knex;
  if (opts.url) {
    db = knexFactory({ client: 'pg', connection: opts.url, pool: { min: 0, max: 10 } });
  } else {
    const dir = path.join(opts.dataDir, 'pgdata');
    if (!fs.existsSync(path.join(dir, 'PG_VERSION'))) await copyTemplate(dir);
    db = openPglite(dir);
  }
  await db.migrate.latest({ migrationSource });
  return db;
}

function openPglite(dir: string): Knex {
  fs.mkdirSync(dir, { recursive: true });
  return knexFactory({ client: ClientPgLite as unknown as typeof Knex.Client, dialect: 'postgres', connection: { filename: dir } } as Knex.Config);
}

/**
 * PGlite's initdb takes ~20 s under WASM; a fresh data dir is instead a copy of a migrated
 * template cluster made once per machine (~1 s). Built aside and renamed, so concurrent
 * processes never see half a template.
 */
function pgliteVersion(): string {
  let dir = path.dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite'));
  while (!fs.existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return (JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string }).version;
}

async function copyTemplate(dir: string): Promise<void> {
  const version = pgliteVersion();
  const template = process.env.TALLY_PGLITE_TEMPLATE ?? path.join(os.tmpdir(), `tally-pglite-template-${version}`);
  if (!fs.existsSync(path.join(template, 'PG_VERSION'))) {
    const building = `${template}.build-${process.pid}-${Date.now()}`;
    const db = openPglite(building);
    await db.migrate.latest({ migrationSource });
    await db.destroy();
    try {
      fs.renameSync(building, template);
    } catch {
      fs.rmSync(building, { recursive: true, force: true }); // another process won the race
    }
  }
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  fs.cpSync(template, dir, { recursive: true });
}

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import knexFactory, { type Knex } from 'knex';
import ClientPgLite from 'knex-pglite';
import { migrationSource } from '../../../migrations/index.js';
import { TallyError } from '../errors.js';
import type { Logger } from '../logger.js';

export type Db = Knex;

/**
 * The metadata DB: PGlite (real Postgres in-process, stored in the data dir) by default,
 * PostgreSQL through `pg` when a URL is given. Same knex migrations for both.
 *
 * PGlite is single-process: callers hold the data-dir lock (see `src/infra/dir-lock.ts`) before
 * opening it.
 */
export async function openDb(opts: { url?: string; dataDir: string; logger?: Logger; migrate?: boolean }): Promise<Db> {
  let db: Knex;
  if (opts.url) {
    db = knexFactory({ client: 'pg', connection: opts.url, pool: { min: 0, max: 10 } });
  } else {
    const dir = path.join(opts.dataDir, 'pgdata');
    if (!fs.existsSync(path.join(dir, 'PG_VERSION'))) await copyTemplate(dir);
    db = openPglite(dir);
  }
  try {
    if (opts.migrate !== false) await migrate(db, { serialize: Boolean(opts.url), logger: opts.logger });
  } catch (err) {
    await db.destroy();
    throw err;
  }
  return db;
}

/** Any 64-bit constant works; this one is "tallymig" in ASCII. */
const MIGRATION_LOCK_KEY = '8386103194290055527';

/**
 * Runs pending migrations and says which. On PostgreSQL, processes starting together (several
 * collectors, `tally migrate` beside a running api) take turns on an advisory lock: knex's own
 * lock row makes the second one fail ("Migration table is already locked") instead of waiting,
 * and both may race to create knex's tables. PGlite has a single process (the data-dir lock).
 */
export async function migrate(db: Db, opts: { serialize: boolean; logger?: Logger }): Promise<string[]> {
  let applied: string[] = [];
  const run = async () => {
    const [batch, names] = (await db.migrate.latest({ migrationSource })) as [number, string[]];
    applied = names;
    if (names.length) opts.logger?.info({ batch, migrations: names }, `applied ${names.length} migration(s): ${names.join(', ')}`);
    else opts.logger?.info({ latest: (await migrationSource.getMigrations([])).at(-1) }, 'metadata schema up to date');
  };
  if (!opts.serialize) await run();
  else {
    // the transaction only pins the connection that holds the lock; migrations use others
    await db.transaction(async (trx) => {
      await trx.raw(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY}::bigint)`);
      await run();
    });
  }
  return applied;
}

function openPglite(dir: string): Knex {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  return knexFactory({ client: ClientPgLite as unknown as typeof Knex.Client, dialect: 'postgres', connection: { filename: dir } } as Knex.Config);
}

function pgliteVersion(): string {
  let dir = path.dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite'));
  while (!fs.existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return (JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string }).version;
}

/** `$XDG_CACHE_HOME/tally` (an absolute XDG_CACHE_HOME only, as the spec says) or `~/.cache/tally`. */
export function userCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CACHE_HOME;
  return path.join(xdg && path.isAbsolute(xdg) ? xdg : path.join(os.homedir(), '.cache'), 'tally');
}

export function pgliteTemplateDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.TALLY_PGLITE_TEMPLATE ?? path.join(userCacheDir(env), `pglite-template-${pgliteVersion()}`);
}

/** Why `p` could have been planted or changed by another local user, or null. */
function unsafeBecause(p: string, st: fs.Stats): string | null {
  const uid = process.getuid?.();
  if (st.isSymbolicLink()) return 'is a symbolic link';
  if (uid !== undefined && st.uid !== uid) return `is owned by uid ${st.uid}, not ${uid}`;
  if (st.mode & 0o022) return `is writable by others (mode ${(st.mode & 0o777).toString(8)})`;
  return null;
}

/**
 * `dir` and every entry under it (or only `dir`, not recursive) is ours, writable by nobody else,
 * and no symlink: what we copy into a data dir cannot have been planted by another local user.
 */
export function assertPrivateTree(dir: string, recursive = true): void {
  const check = (p: string) => {
    const st = fs.lstatSync(p);
    const why = unsafeBecause(p, st);
    if (why)
      throw new TallyError('conflict', `refusing the PGlite template: ${p} ${why}; remove it and the template is rebuilt`, {
        path: p,
        reason: 'unsafe_template',
      });
    if (recursive && st.isDirectory()) for (const e of fs.readdirSync(p)) check(path.join(p, e));
  };
  check(dir);
}

/** Dirs 0700, files 0600 (PGlite writes with the process umask). */
function makePrivate(p: string): void {
  const st = fs.lstatSync(p);
  if (st.isDirectory()) {
    fs.chmodSync(p, 0o700);
    for (const e of fs.readdirSync(p)) makePrivate(path.join(p, e));
  } else if (st.isFile()) fs.chmodSync(p, 0o600);
}

/**
 * PGlite's initdb takes ~20 s under WASM; a fresh data dir is instead a copy of a migrated
 * template cluster made once per user (~1 s), kept in the user's own cache dir with private
 * modes and checked before each use. Built aside and renamed, so concurrent processes never see
 * half a template.
 */
async function copyTemplate(dir: string): Promise<void> {
  const template = pgliteTemplateDir();
  if (!process.env.TALLY_PGLITE_TEMPLATE) {
    const parent = path.dirname(template);
    fs.mkdirSync(parent, { recursive: true, mode: 0o700 });
    // the parent too: whoever may write it may swap the template for their own
    const st = fs.lstatSync(parent);
    if (st.uid === process.getuid?.() && !st.isSymbolicLink()) fs.chmodSync(parent, 0o700);
    assertPrivateTree(parent, false);
  }
  if (!fs.existsSync(path.join(template, 'PG_VERSION'))) {
    const building = `${template}.build-${process.pid}-${Date.now()}`;
    const db = openPglite(building);
    await db.migrate.latest({ migrationSource });
    await db.destroy();
    makePrivate(building);
    try {
      fs.renameSync(building, template);
    } catch {
      fs.rmSync(building, { recursive: true, force: true }); // another process won the race
    }
  }
  assertPrivateTree(template);
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  fs.cpSync(template, dir, { recursive: true });
  fs.chmodSync(dir, 0o700);
}

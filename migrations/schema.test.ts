import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeWithService } from '../test/support/services.js';
import { openDb, type Db } from '../src/infra/metadata/db.js';
import { createTestDatabase } from '../src/infra/metadata/test-database.testkit.js';
import { migrationSource } from './index.js';

/**
 * The schema is what the migrations make, and nothing else: after `migrate.latest` it must equal
 * the reviewed snapshot (`__snapshots__/schema.sql`, header = the migrations that made it), so
 * editing a shipped migration, or changing the schema any other way, fails here. Adding a
 * migration changes the snapshot too: review the diff and accept it with `vitest -u`. Every
 * migration's `down` must restore exactly the schema before its `up`.
 */
async function dump(db: Db): Promise<string> {
  const q = async (sql: string) => (await db.raw(sql)).rows as Record<string, unknown>[];
  const lines: string[] = [];
  for (const r of await q(
    `SELECT table_name, column_name, data_type, character_maximum_length AS len, is_nullable, column_default
       FROM information_schema.columns WHERE table_schema = 'public' ORDER BY table_name, ordinal_position`,
  )) {
    lines.push(
      `column ${r.table_name}.${r.column_name} ${r.data_type}${r.len ? `(${r.len})` : ''}${r.is_nullable === 'NO' ? ' NOT NULL' : ''}` +
        `${r.column_default ? ` DEFAULT ${r.column_default}` : ''}`,
    );
  }
  for (const r of await q(
    `SELECT conrelid::regclass::text AS tbl, conname, pg_get_constraintdef(oid) AS def FROM pg_constraint
      WHERE connamespace = 'public'::regnamespace AND contype <> 'n' ORDER BY 1, 2`, // PGlite's PostgreSQL 18 lists NOT NULL here too
  )) {
    lines.push(`constraint ${r.tbl}.${r.conname} ${r.def}`);
  }
  for (const r of await q(`SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1`)) {
    lines.push(`index ${r.indexname}: ${r.indexdef}`);
  }
  for (const r of await q(
    `SELECT sequence_name, data_type, start_value, increment FROM information_schema.sequences WHERE sequence_schema = 'public' ORDER BY 1`,
  )) {
    lines.push(`sequence ${r.sequence_name} ${r.data_type} start ${r.start_value} increment ${r.increment}`);
  }
  return lines.join('\n') + '\n';
}

const cfg = { migrationSource };

function schemaSuite(open: () => Promise<Db>): void {
  let db: Db;
  beforeAll(async () => {
    db = await open();
  });
  afterAll(async () => db?.destroy());

  it('after migrate.latest the schema equals the reviewed snapshot', async () => {
    await db.migrate.latest(cfg);
    const names = await migrationSource.getMigrations([]);
    const text = `-- migrations: ${names.join(', ')}\n${await dump(db)}`;
    await expect(text).toMatchFileSnapshot('./__snapshots__/schema.sql');
  });

  it("each migration's down restores exactly the schema before its up; all the way down leaves only knex's tables", async () => {
    await db.migrate.latest(cfg);
    await db.migrate.rollback(cfg, true);
    const empty = await dump(db);
    expect(empty.split('\n').filter((l) => l && !l.includes('knex_migrations'))).toEqual([]);

    const names = await migrationSource.getMigrations([]);
    const before: string[] = [];
    for (let i = 0; i < names.length; i++) {
      before.push(await dump(db));
      await db.migrate.up(cfg);
    }
    const latest = await dump(db);
    for (let i = names.length - 1; i >= 0; i--) {
      await db.migrate.down(cfg);
      expect(await dump(db), `down of ${names[i]}`).toBe(before[i]);
    }
    expect(await dump(db)).toBe(empty);
    await db.migrate.latest(cfg);
    expect(await dump(db)).toBe(latest);
  });
}

describe('metadata schema on PGlite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tally-schema-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  schemaSuite(() => openDb({ dataDir: dir }));
});

describeWithService('metadata schema on PostgreSQL (same snapshot)', 'postgres', 'DATABASE_URL', (baseUrl) => {
  let drop: (() => Promise<void>) | undefined;
  afterAll(async () => drop?.());
  schemaSuite(async () => {
    const t = await createTestDatabase(baseUrl, 'schema');
    drop = t.drop;
    return openDb({ url: t.url, dataDir: '/nonexistent' });
  });
});

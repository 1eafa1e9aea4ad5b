import { spawn } from 'node:child_process';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, expect, it } from 'vitest';
import { describeWithService } from '../../../test/support/services.js';
import { embeddedEnv, tempDataDir } from '../../../test/support/tally-process.js';
import { migrationSource } from '../../../migrations/index.js';
import { openDb } from './db.js';
import { createTestDatabase } from './test-database.testkit.js';

const BIN = path.resolve(import.meta.dirname, '../../../bin/tally.mjs');

function tallyMigrate(env: Record<string, string>): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, 'migrate', '--json'], { env: { ...embeddedEnv(), LOG_LEVEL: 'warn', ...env } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => resolve({ code, out, err }));
  });
}

describeWithService('migrations on PostgreSQL', 'postgres', 'DATABASE_URL', (baseUrl) => {
  const drops: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const d of drops) await d();
  });

  it('are safe when several processes run them at once: one applies them, the others wait and find nothing to do', async () => {
    const t = await createTestDatabase(baseUrl, 'migrate');
    drops.push(t.drop);
    const runs = await Promise.all([1, 2, 3].map(() => tallyMigrate({ DATABASE_URL: t.url, TALLY_DATA_DIR: tempDataDir('tally-migrate-') })));
    for (const r of runs) expect(r.code, r.err).toBe(0);
    const applied = runs.map((r) => (JSON.parse(r.out) as { applied: string[] }).applied);
    const all = await migrationSource.getMigrations([]);
    expect(applied.flat().sort()).toEqual([...all].sort());
    expect(applied.filter((a) => a.length > 0)).toHaveLength(1);
  }, 120_000);

  it('in one process too: two pools opening a fresh database together; what was applied is logged at info', async () => {
    const t = await createTestDatabase(baseUrl, 'migrate');
    drops.push(t.drop);
    const lines: { level: number; msg: string; migrations?: string[] }[] = [];
    const logger = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l)) });
    const dbs = await Promise.all([openDb({ url: t.url, dataDir: '/nonexistent', logger }), openDb({ url: t.url, dataDir: '/nonexistent', logger })]);
    const names = await dbs[0]!('knex_migrations').orderBy('id').pluck('name');
    expect(names).toEqual(await migrationSource.getMigrations([]));
    expect(lines.filter((l) => l.level === 30 && l.migrations).map((l) => l.migrations)).toEqual([names]);
    expect(lines.find((l) => l.migrations)?.msg).toContain(`applied ${names.length} migration(s): ${names.join(', ')}`);
    for (const db of dbs) await db.destroy();
  }, 60_000);
});

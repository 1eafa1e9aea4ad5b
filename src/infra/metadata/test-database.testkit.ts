import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * A fresh database on the PostgreSQL server of `baseUrl`, named `tally_test_<prefix>_<random>`,
 * for one test run; `drop()` removes it, and refuses any database not named like that.
 * `byteOrderCollation` sorts text by bytes, as Redshift does, whatever the server's default.
 */
export async function createTestDatabase(
  baseUrl: string,
  prefix: string,
  opts: { byteOrderCollation?: boolean } = {},
): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const name = `tally_test_${prefix}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}${opts.byteOrderCollation ? " TEMPLATE template0 LC_COLLATE 'C'" : ''}`);
  } finally {
    await admin.end();
  }
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async drop() {
      if (!/^tally_test_[a-z0-9_]+$/.test(name)) throw new Error(`refusing to drop ${name}: not a test database`);
      await dropDatabase(baseUrl, name);
    },
  };
}

/**
 * Drops database `name` on the server of `baseUrl`, ending the sessions still connected to it.
 * FORCE cannot end an autovacuum worker unless we are superuser (the test role is not): such a
 * worker finishes within seconds, so this tries again for up to 30 s.
 */
export async function dropDatabase(baseUrl: string, name: string): Promise<void> {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`refusing to drop ${name}: not a plain identifier`);
  const c = new pg.Client({ connectionString: baseUrl });
  await c.connect();
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        return;
      } catch (err) {
        const code = (err as { code?: string }).code;
        if ((code !== '42501' && code !== '55006') || attempt >= 60) throw err;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  } finally {
    await c.end();
  }
}

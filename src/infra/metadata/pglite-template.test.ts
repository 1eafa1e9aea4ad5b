import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb, pgliteTemplateDir } from './db.js';

/** Every path under `dir` with its mode bits. */
function modes(dir: string): { p: string; mode: number; dir: boolean }[] {
  const out = [{ p: dir, mode: fs.statSync(dir).mode & 0o777, dir: true }];
  for (const e of fs.readdirSync(dir, { recursive: true }) as string[]) {
    const st = fs.lstatSync(path.join(dir, e));
    out.push({ p: e, mode: st.mode & 0o777, dir: st.isDirectory() });
  }
  return out;
}

describe('the PGlite template', () => {
  const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-xdg-'));
  const saved = { xdg: process.env.XDG_CACHE_HOME, tpl: process.env.TALLY_PGLITE_TEMPLATE };
  const fresh = () => fs.mkdtempSync(path.join(os.tmpdir(), 'tally-tpl-data-'));
  beforeAll(() => {
    process.env.XDG_CACHE_HOME = cache;
    delete process.env.TALLY_PGLITE_TEMPLATE;
  });
  afterAll(() => {
    process.env.XDG_CACHE_HOME = saved.xdg;
    if (saved.tpl !== undefined) process.env.TALLY_PGLITE_TEMPLATE = saved.tpl;
    fs.rmSync(cache, { recursive: true, force: true });
  });

  it("is kept in the user's cache dir, private (0700 dirs, 0600 files), and so is the copy in a data dir", async () => {
    const dataDir = fresh();
    const db = await openDb({ dataDir });
    await db.destroy();
    const template = pgliteTemplateDir();
    expect(template.startsWith(path.join(cache, 'tally') + path.sep)).toBe(true);
    expect(fs.statSync(path.join(cache, 'tally')).mode & 0o777).toBe(0o700);
    const t = modes(template);
    expect(t.filter((e) => e.mode !== (e.dir ? 0o700 : 0o600))).toEqual([]);
    // nothing in the data dir's cluster is writable by anyone else
    expect(modes(path.join(dataDir, 'pgdata')).filter((e) => e.mode & 0o022)).toEqual([]);
  }, 120_000);

  it('is refused, never copied, when another user could have changed it', async () => {
    const template = pgliteTemplateDir();
    const file = path.join(template, 'PG_VERSION');
    fs.chmodSync(file, 0o666);
    const dataDir = fresh();
    await expect(openDb({ dataDir })).rejects.toThrow(`${file} is writable by others (mode 666)`);
    expect(fs.existsSync(path.join(dataDir, 'pgdata', 'PG_VERSION'))).toBe(false);
    fs.chmodSync(file, 0o600);

    if (process.getuid?.() === 0) {
      // as root we can hand a file to another user, as a tampering user would own it
      fs.chownSync(file, 65534, 65534);
      await expect(openDb({ dataDir })).rejects.toThrow(`${file} is owned by uid 65534, not 0`);
      fs.chownSync(file, 0, 0);
    }
    const db = await openDb({ dataDir });
    await db.destroy();
  }, 120_000);
});

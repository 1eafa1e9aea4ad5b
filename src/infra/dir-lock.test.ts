import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireDirLock, dirLockHolder } from './dir-lock.js';

describe('dir lock', () => {
  it('is exclusive, names its holder, and is free again once released', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tally-lock-'));
    expect(await dirLockHolder(dir)).toBeNull();
    const lock = await acquireDirLock(dir, 'data dir');
    expect(statSync(lock.file).mode & 0o777).toBe(0o600);
    expect(await dirLockHolder(dir)).toMatchObject({ pid: process.pid, live: true });
    await expect(acquireDirLock(dir, 'data dir')).rejects.toThrow(`data dir ${dir} is in use by process ${process.pid}`);
    await lock.release();
    expect(await dirLockHolder(dir)).toBeNull();
  });

  it('takes over a lock whose process is gone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tally-lock-'));
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    writeFileSync(join(dir, 'LOCK'), gone.stdout);
    expect(await dirLockHolder(dir)).toMatchObject({ pid: Number(gone.stdout), live: false });
    const lock = await acquireDirLock(dir, 'data dir');
    expect(readFileSync(lock.file, 'utf8')).toBe(String(process.pid));
    await lock.release();
  });
});

import { open, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { TallyError } from '../errors.js';

/**
 * One process per event log directory: `<dir>/LOCK` holds the owner's pid. A lock whose process is
 * gone is taken over; an empty one is a lock being taken right now, unless it stayed empty for
 * `STALE_EMPTY_LOCK_MS`.
 */
const STALE_EMPTY_LOCK_MS = 10_000;
const noop = (): void => {};

export async function acquireLock(dir: string): Promise<string> {
  const file = join(dir, 'LOCK');
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(file, 'wx');
      try {
        await fh.writeFile(String(process.pid));
        await fh.sync();
      } finally {
        await fh.close();
      }
      return file;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new TallyError('unavailable', `cannot lock event log dir ${dir}`, { dir }, { cause: err });
      }
    }
    const holder = await lockHolder(file);
    if (holder.live) {
      throw new TallyError('conflict', `event log dir ${dir} is in use by process ${holder.pid ?? '(starting)'}`, {
        dir,
        pid: holder.pid,
      });
    }
    await unlink(file).catch(noop);
  }
  throw new TallyError('conflict', `event log dir ${dir} is locked`, { dir });
}

async function lockHolder(file: string): Promise<{ pid: number | null; live: boolean }> {
  let text: string;
  let mtimeMs: number;
  try {
    text = await readFile(file, 'utf8');
    mtimeMs = (await stat(file)).mtimeMs;
  } catch {
    return { pid: null, live: false };
  }
  const pid = Number(text.trim());
  // An empty file is a lock being taken right now, unless it has been empty for a while.
  if (!Number.isInteger(pid) || pid <= 0) return { pid: null, live: Date.now() - mtimeMs < STALE_EMPTY_LOCK_MS };
  try {
    process.kill(pid, 0);
    return { pid, live: true };
  } catch (err) {
    return { pid, live: (err as NodeJS.ErrnoException).code === 'EPERM' };
  }
}

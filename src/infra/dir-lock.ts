import { open, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { TallyError } from './errors.js';

/** An empty lock file is a lock being taken right now, unless it has been empty this long. */
const STALE_EMPTY_LOCK_MS = 10_000;

export interface DirLock {
  readonly file: string;
  release(): Promise<void>;
}

export interface LockHolder {
  pid: number | null;
  live: boolean;
  /** Epoch ms the lock was taken. */
  sinceMs: number;
}

/**
 * Takes `dir/LOCK` for this process: created exclusively, holding our pid. A lock left by a
 * process that is gone is taken over; one held by a live process is a `conflict` naming it.
 * `what` names the directory in messages ("event log dir", "data dir").
 */
export async function acquireDirLock(dir: string, what: string): Promise<DirLock> {
  const file = join(dir, 'LOCK');
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(file, 'wx', 0o600);
      try {
        await fh.writeFile(String(process.pid));
        await fh.sync();
      } finally {
        await fh.close();
      }
      let released = false;
      return {
        file,
        async release() {
          if (released) return;
          released = true;
          await unlink(file).catch(() => undefined);
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new TallyError('unavailable', `cannot lock ${what} ${dir}`, { dir }, { cause: err });
      }
    }
    const holder = await dirLockHolder(dir);
    if (holder?.live) {
      throw new TallyError('conflict', `${what} ${dir} is in use by process ${holder.pid ?? '(starting)'}`, { dir, pid: holder.pid });
    }
    await unlink(file).catch(() => undefined);
  }
  throw new TallyError('conflict', `${what} ${dir} is locked`, { dir });
}

/** Who holds `dir/LOCK`: null when nobody does; `live: false` for a lock its process left behind. */
export async function dirLockHolder(dir: string): Promise<LockHolder | null> {
  const file = join(dir, 'LOCK');
  let text: string;
  let mtimeMs: number;
  try {
    text = await readFile(file, 'utf8');
    mtimeMs = (await stat(file)).mtimeMs;
  } catch {
    return null;
  }
  const pid = Number(text.trim());
  if (!Number.isInteger(pid) || pid <= 0) return { pid: null, live: Date.now() - mtimeMs < STALE_EMPTY_LOCK_MS, sinceMs: mtimeMs };
  try {
    process.kill(pid, 0);
    return { pid, live: true, sinceMs: mtimeMs };
  } catch (err) {
    // EPERM: alive, owned by another user
    return { pid, live: (err as NodeJS.ErrnoException).code === 'EPERM', sinceMs: mtimeMs };
  }
}

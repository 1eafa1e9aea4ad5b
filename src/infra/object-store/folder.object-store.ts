import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { TallyError } from '../errors.js';
import type { ObjectInfo, ObjectStore } from './object-store.port.js';
import { checkObjectKey, TEMP_PREFIX } from './object-key.js';
import { fsyncDir } from '../durable-fs.js';

/** Temp files live beside their target (same filesystem, so rename is atomic); list skips them. */

/**
 * The embedded object store: one file per key under a root folder, same key layout as S3.
 * Writes go to a temp file that is fsync'd, renamed over the target, and the directory fsync'd,
 * so a reader or a crash sees the old object or the new one, never a part.
 */
export class FolderObjectStore implements ObjectStore {
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  async put(key: string, body: Buffer): Promise<void> {
    const target = this.pathOf(key);
    const dir = dirname(target);
    await mkdir(dir, { recursive: true });
    const temp = join(dir, `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`);
    try {
      const fh = await open(temp, 'wx');
      try {
        await fh.writeFile(body);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(temp, target);
    } catch (e) {
      await unlink(temp).catch(() => undefined);
      throw new TallyError('unavailable', `object store: cannot write ${key}`, { key }, { cause: e });
    }
    await fsyncDir(dir);
  }

  async get(key: string): Promise<Buffer | null> {
    try {
      return await readFile(this.pathOf(key));
    } catch (e) {
      if (isMissing(e) || isDirectory(e)) return null; // a folder of other keys is not an object
      throw e;
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    if (prefix !== '') checkObjectKey(prefix, true);
    // Start at the deepest folder the prefix names whole; the rest of the prefix filters names.
    const slash = prefix.lastIndexOf('/');
    const startKey = slash < 0 ? '' : prefix.slice(0, slash);
    const out: ObjectInfo[] = [];
    await this.walk(startKey, prefix, out);
    out.sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)));
    return out;
  }

  async delete(keys: string[]): Promise<void> {
    const paths = keys.map((key) => this.pathOf(key)); // validate every key before deleting any
    for (const path of paths) {
      try {
        await unlink(path);
      } catch (e) {
        if (isMissing(e) || isDirectory(e)) continue;
        // macOS reports unlink of a folder as EPERM
        if ((e as NodeJS.ErrnoException).code === 'EPERM' && (await stat(path).catch(() => null))?.isDirectory()) continue;
        throw e;
      }
    }
  }

  locate(key: string): string {
    return this.pathOf(key);
  }

  async close(): Promise<void> {}

  private pathOf(key: string): string {
    checkObjectKey(key, false);
    return join(this.root, key);
  }

  private async walk(dirKey: string, prefix: string, out: ObjectInfo[]): Promise<void> {
    let entries;
    try {
      entries = await readdir(dirKey === '' ? this.root : join(this.root, dirKey), { withFileTypes: true });
    } catch (e) {
      if (isMissing(e)) return;
      throw e;
    }
    for (const entry of entries) {
      if (entry.name.startsWith(TEMP_PREFIX)) continue;
      const key = dirKey === '' ? entry.name : `${dirKey}/${entry.name}`;
      if (entry.isDirectory()) {
        const asDir = `${key}/`;
        if (asDir.startsWith(prefix) || prefix.startsWith(asDir)) await this.walk(key, prefix, out);
      } else if (entry.isFile() && key.startsWith(prefix)) {
        try {
          const s = await stat(join(this.root, key));
          out.push({ key, size: s.size, lastModified: Math.floor(s.mtimeMs) });
        } catch (e) {
          if (!isMissing(e)) throw e; // deleted while listing
        }
      }
    }
  }
}

function isDirectory(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException)?.code;
  return code === 'EISDIR';
}

function isMissing(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

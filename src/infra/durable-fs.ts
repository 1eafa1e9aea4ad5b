import { writeSync } from 'node:fs';
import { open, rename, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * File writes that survive a crash: what the local event log and the folder object store both
 * need. A rename or a new file is durable only once its directory is fsynced too.
 */

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Replaces `file` with `data` as JSON: written and fsynced aside, renamed over, directory fsynced. */
export async function writeJsonAtomic(file: string, data: unknown): Promise<void> {
  const tmp = `${file}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(JSON.stringify(data));
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
  await fsyncDir(dirname(file));
}

/** Reads up to `buf.length` bytes at `position`, fewer only at the end of the file. */
export async function readAt(fh: FileHandle, buf: Buffer, position: number): Promise<number> {
  let done = 0;
  while (done < buf.length) {
    const { bytesRead } = await fh.read(buf, done, buf.length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

export function writeAllSync(fh: FileHandle, buf: Buffer, position: number): void {
  let done = 0;
  while (done < buf.length) {
    const bytesWritten = writeSync(fh.fd, buf, done, buf.length - done, position + done);
    if (bytesWritten === 0) throw new Error('short write');
    done += bytesWritten;
  }
}

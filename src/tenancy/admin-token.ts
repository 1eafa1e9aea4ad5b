import fs from 'node:fs';
import path from 'node:path';
import { randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * The local operator's token: written into the data dir (mode 0600) by the server, read by the
 * CLI on the same machine, so `tally tenant create` can go through a running server that holds
 * the single-process PGlite database.
 */
export function ensureAdminToken(dataDir: string): string {
  const file = path.join(dataDir, 'admin-token');
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    const token = randomBytes(24).toString('base64url');
    fs.writeFileSync(file, token + '\n', { mode: 0o600 });
    return token;
  }
}

export function readAdminToken(dataDir: string): string | null {
  try {
    return fs.readFileSync(path.join(dataDir, 'admin-token'), 'utf8').trim();
  } catch {
    return null;
  }
}

export function tokensEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export interface ServerInfo {
  pid: number;
  /** The public listener (0 for a role that does not listen). */
  port: number;
  host: string;
  /** The operator endpoint the CLI uses: on 127.0.0.1 only; absent in a role without the api (a collector holding the dir). */
  adminPort?: number;
}

/**
 * Written by the process holding the data dir (after it took the data-dir lock) once its admin
 * listener is up; the CLI trusts it only while that process still holds the lock.
 */
export function writeServerInfo(dataDir: string, info: ServerInfo): void {
  const file = path.join(dataDir, 'server.json');
  fs.writeFileSync(file + '.tmp', JSON.stringify(info), { mode: 0o600 });
  fs.renameSync(file + '.tmp', file);
}

export function removeServerInfo(dataDir: string, pid = process.pid): void {
  // never remove another process's file
  if (readServerInfo(dataDir)?.pid === pid) fs.rmSync(path.join(dataDir, 'server.json'), { force: true });
}

export function readServerInfo(dataDir: string): ServerInfo | null {
  try {
    return JSON.parse(fs.readFileSync(path.join(dataDir, 'server.json'), 'utf8')) as ServerInfo;
  } catch {
    return null;
  }
}

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
  port: number;
  host: string;
}

export function writeServerInfo(dataDir: string, info: ServerInfo): void {
  const file = path.join(dataDir, 'server.json');
  fs.writeFileSync(file + '.tmp', JSON.stringify(info));
  fs.renameSync(file + '.tmp', file);
}

export function removeServerInfo(dataDir: string): void {
  fs.rmSync(path.join(dataDir, 'server.json'), { force: true });
}

/** The server holding `dataDir`, when one is running (port 0 while it is still starting). */
export function runningServer(dataDir: string): ServerInfo | null {
  try {
    const info = JSON.parse(fs.readFileSync(path.join(dataDir, 'server.json'), 'utf8')) as ServerInfo;
    process.kill(info.pid, 0);
    return info;
  } catch {
    return null;
  }
}

/** Waits for a starting server to listen; null when none holds the data dir. */
export async function waitForServer(dataDir: string, timeoutMs = 120_000): Promise<ServerInfo | null> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const info = runningServer(dataDir);
    if (!info || info.port) return info;
    if (Date.now() > deadline) throw new Error(`the server (pid ${info.pid}) holding ${dataDir} did not start listening`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';

/** The repository root and the `tally` launcher every test process runs. */
export const ROOT = path.resolve(import.meta.dirname, '../..');
export const BIN = path.join(ROOT, 'bin/tally.mjs');

export interface TallyProcess {
  dataDir: string;
  port: number;
  baseUrl: string;
  child: ChildProcess;
  output: () => string;
  /** SIGTERM and wait for exit; resolves with the exit code. */
  stop(): Promise<number | null>;
  kill9(): Promise<void>;
}

export function tempDataDir(prefix = 'tally-e2e-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** `env` without `names` (a test that needs a variable of the shell unset, e.g. billing off). */
function withoutVars(env: NodeJS.ProcessEnv, names: string[]): NodeJS.ProcessEnv {
  for (const n of names) delete env[n];
  return env;
}

/** Starts `tally <role>` as a child process on a random port and waits until it listens. */
/** Variables that point Tally at external services; the embedded profile runs without them. */
const SERVICE_VARS = ['DATABASE_URL', 'REDIS_URL', 'KAFKA_BROKERS', 'TALLY_EVENT_LOG', 'S3_BUCKET', 'S3_ENDPOINT', 'S3_PREFIX', 'S3_FORCE_PATH_STYLE'];

export function embeddedEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const v of SERVICE_VARS) delete env[v];
  return env;
}

export async function startTally(
  opts: { dataDir?: string; role?: string; args?: string[]; nodeArgs?: string[]; env?: Record<string, string>; unset?: string[] } = {},
): Promise<TallyProcess> {
  const dataDir = opts.dataDir ?? tempDataDir();
  const info = path.join(dataDir, 'server.json');
  fs.rmSync(info, { force: true });
  let out = '';
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), BIN, opts.role ?? 'serve', ...(opts.args ?? [])], {
    cwd: ROOT,
    env: withoutVars(
      { ...embeddedEnv(), TALLY_DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', TALLY_DEMO: 'off', LOG_LEVEL: 'warn', ...opts.env },
      opts.unset ?? [],
    ),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 120_000;
  let port = 0;
  while (!port) {
    if (child.exitCode !== null) throw new Error(`tally exited with ${child.exitCode}:\n${out}`);
    if (Date.now() > deadline) throw new Error(`tally did not listen within 120 s:\n${out}`);
    try {
      port = JSON.parse(fs.readFileSync(info, 'utf8')).port;
    } catch {
      /* not yet */
    }
    if (!port) await new Promise((r) => setTimeout(r, 100));
  }
  return {
    dataDir,
    port,
    baseUrl: `http://127.0.0.1:${port}`,
    child,
    output: () => out,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
    async kill9() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

export interface TenantKeys {
  organizationId: string;
  propertyId: string;
  measurementId: string;
  siteId: string;
  apiSecret: string;
  ingestKey: string;
  readKey: string;
}

/** `tally tenant create --json` against the data dir, as an operator would run it. */
export function createTenantCli(dataDir: string, name: string, extra: string[] = []): Promise<TenantKeys> {
  return new Promise((resolve, reject) => {
    const args = [
      BIN,
      'tenant',
      'create',
      '--name',
      name,
      '--email',
      `${name.toLowerCase()}@example.com`,
      '--domain',
      `${name.toLowerCase()}.example.com`,
      '--json',
      ...extra,
    ];
    const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...embeddedEnv(), TALLY_DATA_DIR: dataDir, LOG_LEVEL: 'warn' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`tenant create failed (${code}): ${err}`))));
  });
}

/** Every record in one zone of the folder object store ('raw' or 'deadletter'), with the key it is under. */
export function readZone(dataDir: string, zone: 'raw' | 'deadletter'): { key: string; record: any }[] {
  const root = path.join(dataDir, 'objects');
  const out: { key: string; record: any }[] = [];
  const base = path.join(root, zone);
  if (!fs.existsSync(base)) return out;
  for (const f of fs.readdirSync(base, { recursive: true }) as string[]) {
    const full = path.join(base, f);
    if (!f.endsWith('.ndjson.gz') || !fs.statSync(full).isFile()) continue;
    const text = zlib.gunzipSync(fs.readFileSync(full)).toString('utf8');
    for (const line of text.split('\n')) if (line) out.push({ key: `${zone}/${f}`, record: JSON.parse(line) });
  }
  return out;
}

/** Polls until `check` returns a value (not undefined), or fails after `timeoutMs`. */
export async function eventually<T>(check: () => T | undefined | Promise<T | undefined>, timeoutMs = 30_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      lastErr = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${lastErr ? `: ${lastErr}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface RoleProcess {
  role: string;
  child: ChildProcess;
  /** HTTP port for collector and api; 0 for the others. */
  port: number;
  /** The TALLY_HEALTH_PORT listener's port, when the role was given one. */
  healthPort: number;
  output: () => string;
  stop(): Promise<number | null>;
}

/** Starts `tally <role>` and waits for its "tally started" log line (every role logs it, listening or not). */
export async function startRole(role: string, env: Record<string, string>): Promise<RoleProcess> {
  let out = '';
  let port = 0;
  let healthPort = 0;
  let started = false;
  const child = spawn(process.execPath, [BIN, role], {
    cwd: ROOT,
    env: { ...embeddedEnv(), TALLY_DATA_DIR: tempDataDir(`tally-${role}-`), PORT: '0', HOST: '127.0.0.1', TALLY_DEMO: 'off', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let partial = '';
  child.stdout!.on('data', (d) => {
    out += d;
    partial += d;
    let i;
    while ((i = partial.indexOf('\n')) >= 0) {
      const line = partial.slice(0, i);
      partial = partial.slice(i + 1);
      try {
        const j = JSON.parse(line);
        if (j.msg === 'tally listening') port = j.port;
        if (j.msg === 'health listening') healthPort = j.port;
        if (j.msg === 'tally started') started = true;
      } catch {
        /* not a log line */
      }
    }
  });
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 120_000;
  while (!started) {
    if (child.exitCode !== null) throw new Error(`tally ${role} exited with ${child.exitCode}:\n${out}`);
    if (Date.now() > deadline) throw new Error(`tally ${role} did not start within 120 s:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    role,
    child,
    port,
    healthPort,
    output: () => out,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

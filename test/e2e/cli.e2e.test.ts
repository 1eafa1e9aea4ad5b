import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { embeddedEnv, tempDataDir } from '../support/tally-process.js';

const BIN = path.resolve(import.meta.dirname, '../../bin/tally.mjs');
const tally = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [BIN, ...args], { env: { ...embeddedEnv(), LOG_LEVEL: 'warn', ...env }, encoding: 'utf8', timeout: 120_000 });

/** Like `tally` but without blocking the test worker (vitest's RPC times out behind a minute of spawnSync). */
const tallyAsync = (args: string[]) =>
  new Promise<{ status: number | null; stdout: string }>((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...embeddedEnv(), LOG_LEVEL: 'warn' }, encoding: 'utf8', timeout: 120_000 }, (err, stdout) =>
      resolve({ status: err ? ((err as { code?: number }).code ?? 1) : 0, stdout }),
    );
  });

describe('tally CLI', () => {
  it('explains itself and every subcommand, and says its version', async () => {
    const tally = tallyAsync;
    const top = await tally(['--help']);
    expect(top.status).toBe(0);
    for (const cmd of ['serve', 'collector', 'api', 'worker', 'scheduler', 'migrate', 'tenant', 'jobs', 'demo']) expect(top.stdout).toContain(cmd);
    const version = await tally(['--version']);
    expect([version.status, version.stdout.trim()]).toEqual([
      0,
      JSON.parse(fs.readFileSync(path.resolve(import.meta.dirname, '../../package.json'), 'utf8')).version,
    ]);
    // (each operator command's --help and --json: src/cli/operator.commands.test.ts, in-process)
    expect((await tally(['serve', '--help'])).stdout).toMatch(/Usage: tally serve/);
    expect((await tally(['tenant', 'create', '--help'])).stdout).toContain('--domain');
    expect((await tally(['jobs', 'run', '--help'])).stdout).toContain('transform | load | pipeline');
  }, 300_000);

  it('stops at start-up naming a bad variable', () => {
    const r = tally(['serve'], { PORT: 'eighty', TALLY_DATA_DIR: tempDataDir() });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('PORT="eighty"');
  });

  it('creates a tenant without a running server, and refuses a bad time zone', () => {
    const dir = tempDataDir();
    const ok = tally(['tenant', 'create', '--name', 'Solo', '--email', 'solo@example.com', '--domain', 'solo.example', '--json'], { TALLY_DATA_DIR: dir });
    expect(ok.status, ok.stderr).toBe(0);
    expect(Object.keys(JSON.parse(ok.stdout)).sort()).toEqual(['apiSecret', 'ingestKey', 'measurementId', 'organizationId', 'propertyId', 'readKey', 'siteId']);
    const bad = tally(['tenant', 'create', '--name', 'X', '--email', 'x@example.com', '--domain', 'x.example', '--time-zone', 'Mars/Olympus'], {
      TALLY_DATA_DIR: dir,
    });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('unknown time zone');
  }, 180_000); // two tsx processes and a PGlite start: slow on a loaded machine
});
